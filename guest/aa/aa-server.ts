import { registerTypedService, type TtrpcServer } from '#src/protocol/ttrpc/index.js';
import { aaService } from '#src/protocol/cdh/index.js';
import type { AttestationAgent } from './attestation-agent.js';

/** Default upstream socket of the attestation agent. */
export const AA_SOCKET = '/run/confidential-containers/attestation-agent/attestation-agent.sock';

/** Registers `attestation_agent.AttestationAgentService`; GetAdditionalEvidence answers UNIMPLEMENTED. */
export function registerAaService(server: TtrpcServer, aa: AttestationAgent): void {
  registerTypedService(server, aaService, {
    GetEvidence: async (req, ctx) => ({
      Evidence: Buffer.from(await aa.getEvidence(req.RuntimeData, { signal: ctx.signal })),
    }),
    GetToken: async (req, ctx) => ({
      Token: Buffer.from(await aa.getToken(req.TokenType, { signal: ctx.signal })),
    }),
    ExtendRuntimeMeasurement: async (req, ctx) => {
      await aa.extendRuntimeMeasurement(
        {
          domain: req.Domain,
          operation: req.Operation,
          content: req.Content,
          registerIndex: req.RegisterIndex,
        },
        { signal: ctx.signal },
      );
      return {};
    },
    BindInitData: async (req, ctx) => {
      await aa.bindInitData(req.Digest, { signal: ctx.signal });
      return {};
    },
    GetTeeType: () => Promise.resolve({ tee: aa.tee }),
  });
}
