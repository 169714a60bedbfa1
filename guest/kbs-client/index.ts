export * from './errors.js';
export {
  GuestKbsClient,
  tokenExpiry,
  type GuestKbsClientOptions,
  type CallSignal,
} from './guest-kbs-client.js';
export { parseResourceUri } from './resource-uri.js';
