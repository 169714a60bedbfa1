export { PersistError, type PersistErrorCode } from './errors.js';
export { parseSandboxRecord, type SandboxRecord, type ContainerRecord } from './sandbox-record.js';
export { StateStore, checkId } from './state-store.js';
