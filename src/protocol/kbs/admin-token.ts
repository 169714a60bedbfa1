import { createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { base64urlEncode } from '#src/lib/index.js';

/**
 * A Trustee-style admin token: a JWT signed with the admin's Ed25519 key (`alg: EdDSA`),
 * carrying `iat` and `exp` (seconds). The KBS verifies it with the admin public key.
 */
export function signAdminToken(
  privateKey: KeyObject | string,
  opts: {
    now?: number | undefined;
    ttlSeconds?: number | undefined;
    /** The `role` claim a KBS admin ACL authorizes (Trustee's regex ACL). */
    role?: string | undefined;
  } = {},
): string {
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  const iat = Math.floor((opts.now ?? Date.now()) / 1000);
  const enc = (o: unknown): string => base64urlEncode(Buffer.from(JSON.stringify(o), 'utf8'));
  const signingInput = `${enc({ alg: 'EdDSA', typ: 'JWT' })}.${enc({ iat, exp: iat + (opts.ttlSeconds ?? 300), ...(opts.role === undefined ? {} : { role: opts.role }) })}`;
  const sig = sign(null, Buffer.from(signingInput, 'ascii'), key);
  return `${signingInput}.${base64urlEncode(sig)}`;
}
