export * from './cipher-options.js';
export * from './layer-decipher.js';
export * from './jwe-unwrap.js';
export * from './keyprovider.js';
export * from './layer-keys.js';
