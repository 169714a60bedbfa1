export * from './errors.js';
export { startKbs, type KbsOptions, type RunningKbs } from './create-kbs.js';
export { KbsServer, KBS_LIMITS, type KbsServerOptions } from './kbs-server.js';
export { KbsHandlers, type KbsServices } from './kbs-handlers.js';
export {
  SessionStore,
  SESSION_TTL_MS,
  MAX_SESSIONS,
  type Session,
  type SessionState,
} from './session-store.js';
export { AdminAuth, type AdminAclRule } from './admin-auth.js';
export { httpFailureOf, errorBody, type HttpFailure } from './http-errors.js';
