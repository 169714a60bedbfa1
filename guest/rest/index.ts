export {
  REST_HOST,
  REST_PORT,
  RestServer,
  type RestBackends,
  type RestServerOptions,
} from './rest-server.js';
export * from './errors.js';
