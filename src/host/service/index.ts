export { ServiceError, type ServiceErrorCode } from './errors.js';
export { createTaskHandlers, type TaskServiceOptions } from './task-service.js';
export { EventForwarder, type EventForwarderOptions } from './event-forwarder.js';
export { encodeEvent, type EncodedEvent } from './encode-event.js';
export { deleteAfterLostShim } from './lost-shim.js';
export { startTaskServer, type TaskServer, type TaskServerOptions } from './task-server.js';
