export * from './cipher-options.js';
export * from './layer-decipher.js';
export * from './layer-encipher.js';
export * from './jwe-unwrap.js';
export * from './keyprovider.js';
export * from './annotation-packet.js';
export * from './layer-keys.js';
