export * from './errors.js';
export * from './kv-store.js';
export { FileStore, MemoryStore, STORE_MAX_VALUE } from './file-store.js';
