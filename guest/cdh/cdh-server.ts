import { registerTypedService, type TtrpcServer } from '#src/protocol/ttrpc/index.js';
import {
  cdhKeyProviderService,
  getResourceService,
  keyProviderService,
  sealedSecretService,
} from '#src/protocol/cdh/index.js';
import type { ConfidentialDataHub } from './confidential-data-hub.js';

/** Default upstream socket of the confidential data hub. */
export const CDH_SOCKET = '/run/confidential-containers/cdh.sock';

/**
 * Registers the CDH ttrpc services: `api.GetResourceService`, `api.SealedSecretService`,
 * `api.KeyProviderService` and `keyprovider.KeyProviderService` (UnWrapKey). Other CDH services
 * (SecureMount, ImagePull, …) are not registered and answer UNIMPLEMENTED.
 */
export function registerCdhServices(server: TtrpcServer, hub: ConfidentialDataHub): void {
  registerTypedService(server, getResourceService, {
    GetResource: async (req, ctx) => ({
      Resource: Buffer.from(await hub.getResource(req.ResourcePath, { signal: ctx.signal })),
    }),
  });
  registerTypedService(server, sealedSecretService, {
    UnsealSecret: async (req, ctx) => ({
      plaintext: Buffer.from(await hub.unsealSecret(req.secret, { signal: ctx.signal })),
    }),
  });
  const unwrap = async (
    req: { KeyProviderKeyWrapProtocolInput: Buffer },
    ctx: { signal: AbortSignal },
  ) => ({
    KeyProviderKeyWrapProtocolOutput: Buffer.from(
      await hub.unwrapKey(req.KeyProviderKeyWrapProtocolInput, {
        signal: ctx.signal,
      }),
    ),
  });
  registerTypedService(server, cdhKeyProviderService, { UnWrapKey: unwrap });
  registerTypedService(server, keyProviderService, { UnWrapKey: unwrap });
}
