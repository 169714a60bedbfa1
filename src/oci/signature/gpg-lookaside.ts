import type * as OpenPgp from 'openpgp';
import type { Key, PrivateKey } from 'openpgp';
import { OciError } from '../errors.js';
import { readBody, sendHttp } from '../http-transport.js';
import type { ImageReference } from '../reference.js';
import type { SignedIdentity } from './policy.js';
import { signedPayloadMismatch } from './sigstore.js';

/** Most signatures read per image from lookaside storage (signature-1 … signature-N). */
const MAX_SIGNATURES = 16;
const MAX_SIGNATURE_BYTES = 1 << 20;

/**
 * openpgp, loaded on first use: it is a third of the guest agent's bundle and its evaluation
 * (cipher tables, curve precomputation) costs start-up time under TCG that only `signedBy` needs.
 */
const openpgp = (): Promise<typeof OpenPgp> => import('openpgp');

export interface LookasideOptions {
  /** Base URL of the lookaside (registries.d `lookaside`) for this image, e.g. `http://host/sigs`. */
  readonly baseUrl: string;
  readonly ca?: readonly string[] | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** `<base>/<repository>@sha256=<hex>/signature-<n>`, as containers/image lays lookaside out. */
export function lookaside(
  base: string,
  ref: ImageReference,
  manifestDigest: string,
  n: number,
): URL {
  return new URL(
    `${base.replace(/\/+$/, '')}/${ref.repository}@${manifestDigest.replace(':', '=')}/signature-${String(n)}`,
  );
}

async function fetchSignatures(
  ref: ImageReference,
  manifestDigest: string,
  opts: LookasideOptions,
): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (let n = 1; n <= MAX_SIGNATURES; n++) {
    const res = await sendHttp({
      url: lookaside(opts.baseUrl, ref, manifestDigest, n),
      ca: opts.ca,
      signal: opts.signal,
    });
    if (res.statusCode === 404) {
      res.resume();
      break;
    }
    if (res.statusCode !== 200) {
      res.resume();
      throw new OciError(
        'unavailable',
        'ERR_OCI_REGISTRY',
        `lookaside ${opts.baseUrl} answered ${String(res.statusCode)}`,
      );
    }
    out.push(await readBody(res, MAX_SIGNATURE_BYTES, 'simple signature'));
  }
  return out;
}

async function loadKeys(keys: readonly Uint8Array[]): Promise<Key[]> {
  const { readKeys } = await openpgp();
  const all: Key[] = [];
  for (const k of keys) {
    const text = Buffer.from(k).toString('utf8');
    all.push(
      ...(text.includes('-----BEGIN PGP')
        ? await readKeys({ armoredKeys: text })
        : await readKeys({ binaryKeys: k })),
    );
  }
  return all;
}

/** The signed payload when `sig` is an OpenPGP signed message by one of `keys`, else undefined. */
async function openSigned(sig: Uint8Array, keys: readonly Key[]): Promise<Uint8Array | undefined> {
  const { readMessage, verify } = await openpgp();
  try {
    const message = await readMessage({ binaryMessage: sig });
    const r = await verify({
      message,
      verificationKeys: [...keys],
      expectSigned: true,
      format: 'binary',
    });
    return r.data as Uint8Array;
  } catch {
    return undefined;
  }
}

/**
 * GPG "simple signing" (`signedBy`): signatures from lookaside storage, each an OpenPGP signed
 * message whose payload names the manifest digest and an identity the policy accepts.
 */
export async function verifySimpleSigning(
  ref: ImageReference,
  manifestDigest: string,
  keyBytes: readonly Uint8Array[],
  identity: SignedIdentity,
  opts: LookasideOptions,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  let keys: Key[];
  try {
    keys = await loadKeys(keyBytes);
  } catch (err) {
    return {
      ok: false,
      reason: `the policy's GPG keys cannot be read (${err instanceof Error ? err.message : String(err)})`,
    };
  }
  const sigs = await fetchSignatures(ref, manifestDigest, opts);
  if (sigs.length === 0)
    return { ok: false, reason: `no simple signature found in lookaside ${opts.baseUrl}` };
  const reasons: string[] = [];
  for (const sig of sigs) {
    const payload = await openSigned(sig, keys);
    if (!payload) {
      reasons.push('signature does not verify with the trusted GPG key(s)');
      continue;
    }
    const mismatch = signedPayloadMismatch(payload, manifestDigest, identity, ref);
    if (mismatch === undefined) return { ok: true };
    reasons.push(mismatch);
  }
  return { ok: false, reason: reasons.join('; ') };
}

/** Signs like `skopeo standalone-sign` (for tools and tests): an OpenPGP signed binary message. */
export async function signSimpleSigning(
  payload: Uint8Array,
  signingKey: PrivateKey,
): Promise<Uint8Array> {
  const { createMessage, sign } = await openpgp();
  const signed: unknown = await sign({
    message: await createMessage({ binary: payload }),
    signingKeys: signingKey,
    format: 'binary',
  });
  return signed as Uint8Array;
}

/** The lookaside base URL for `ref` from a map keyed like policy scopes (host/repo, host, ``). */
export function lookasideFor(
  map: Readonly<Record<string, string>> | undefined,
  ref: ImageReference,
): string | undefined {
  if (!map) return undefined;
  const path = `${ref.registry}/${ref.repository}`.split('/');
  for (let n = path.length; n >= 1; n--) {
    const hit = map[path.slice(0, n).join('/')];
    if (hit !== undefined) return hit;
  }
  return map[''];
}
