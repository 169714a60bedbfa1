import { createPublicKey, type KeyObject } from 'node:crypto';
import { expectArray, expectObject, expectString, isPlainObject } from '#src/lib/index.js';
import { OciError } from '../errors.js';

/** `signedIdentity` of a requirement (containers-policy.json(5)). */
export type SignedIdentity =
  | { readonly type: 'matchRepoDigestOrExact' }
  | { readonly type: 'matchRepository' }
  | { readonly type: 'matchExact' }
  | { readonly type: 'exactRepository'; readonly dockerRepository: string };

export type PolicyRequirement =
  | { readonly type: 'insecureAcceptAnything' }
  | { readonly type: 'reject' }
  | {
      readonly type: 'signedBy';
      readonly keyType: string;
      readonly keys: readonly Uint8Array[];
      readonly signedIdentity: SignedIdentity;
    }
  | {
      readonly type: 'sigstoreSigned';
      readonly keys: readonly KeyObject[];
      readonly signedIdentity: SignedIdentity;
    };

/** A parsed containers-policy.json: the default requirements and the docker transport scopes. */
export interface SignaturePolicy {
  readonly default: readonly PolicyRequirement[];
  /** `transports.docker` scopes → requirements. */
  readonly docker: Readonly<Record<string, readonly PolicyRequirement[]>>;
}

export interface ParsePolicyOptions {
  /** Reads a `keyPath` (or `keyPaths` entry); without it only inline `keyData` works. */
  readonly readKey?: ((path: string) => Uint8Array) | undefined;
}

function policyError(msg: string, cause?: unknown): OciError {
  return new OciError(
    'invalid_argument',
    'ERR_OCI_POLICY_CONFIG',
    `signature policy: ${msg}`,
    cause === undefined ? undefined : { cause },
  );
}

function parseIdentity(raw: unknown, at: string): SignedIdentity {
  if (raw === undefined) return { type: 'matchRepoDigestOrExact' };
  const o = expectObject(raw, at);
  const type = expectString(o['type'], `${at}.type`);
  if (type === 'matchRepoDigestOrExact' || type === 'matchRepository' || type === 'matchExact')
    return { type };
  if (type === 'exactRepository')
    return {
      type,
      dockerRepository: expectString(o['dockerRepository'], `${at}.dockerRepository`),
    };
  throw policyError(`${at}.type: unsupported signedIdentity ${JSON.stringify(type)}`);
}

function keyBytes(
  o: Readonly<Record<string, unknown>>,
  at: string,
  opts: ParsePolicyOptions,
): Uint8Array[] {
  const out: Uint8Array[] = [];
  const read = (path: string): Uint8Array => {
    if (!opts.readKey)
      throw policyError(`${at}: keyPath ${path} cannot be read here; inline the key as keyData`);
    try {
      return opts.readKey(path);
    } catch (err) {
      throw policyError(`${at}: cannot read key ${path}`, err);
    }
  };
  if (typeof o['keyPath'] === 'string') out.push(read(o['keyPath']));
  if (o['keyPaths'] !== undefined)
    for (const p of expectArray(o['keyPaths'], `${at}.keyPaths`))
      out.push(read(expectString(p, `${at}.keyPaths[]`)));
  if (typeof o['keyData'] === 'string') out.push(Buffer.from(o['keyData'], 'base64'));
  if (o['keyDatas'] !== undefined)
    for (const d of expectArray(o['keyDatas'], `${at}.keyDatas`))
      out.push(Buffer.from(expectString(d, `${at}.keyDatas[]`), 'base64'));
  if (out.length === 0) throw policyError(`${at}: needs keyPath, keyPaths, keyData or keyDatas`);
  return out;
}

const KEY_FIELDS = ['keyPath', 'keyPaths', 'keyData', 'keyDatas', 'signedIdentity'];
/** Keys each requirement type may carry (others, e.g. sigstore fulcio/rekor, are refused). */
const ALLOWED_KEYS: Readonly<Record<string, readonly string[]>> = {
  insecureAcceptAnything: ['type'],
  reject: ['type'],
  signedBy: ['type', 'keyType', ...KEY_FIELDS],
  sigstoreSigned: ['type', ...KEY_FIELDS],
};

function parseRequirement(raw: unknown, at: string, opts: ParsePolicyOptions): PolicyRequirement {
  const type = expectString(expectObject(raw, at)['type'], `${at}.type`);
  const o = expectObject(raw, at, ALLOWED_KEYS[type] ?? ['type']);
  switch (type) {
    case 'insecureAcceptAnything':
    case 'reject':
      return { type };
    case 'signedBy':
      return {
        type,
        keyType: typeof o['keyType'] === 'string' ? o['keyType'] : 'GPGKeys',
        keys: keyBytes(o, at, opts),
        signedIdentity: parseIdentity(o['signedIdentity'], `${at}.signedIdentity`),
      };
    case 'sigstoreSigned': {
      const keys = keyBytes(o, at, opts).map((b, i) => {
        try {
          return createPublicKey({ key: Buffer.from(b).toString('utf8'), format: 'pem' });
        } catch (err) {
          throw policyError(`${at}: key ${String(i)} is not a PEM public key`, err);
        }
      });
      return {
        type,
        keys,
        signedIdentity: parseIdentity(o['signedIdentity'], `${at}.signedIdentity`),
      };
    }
    default:
      throw policyError(`${at}.type: unknown requirement ${JSON.stringify(type)}`);
  }
}

function parseRequirements(
  raw: unknown,
  at: string,
  opts: ParsePolicyOptions,
): PolicyRequirement[] {
  const list = expectArray(raw, at).map((r, i) => parseRequirement(r, `${at}[${String(i)}]`, opts));
  if (list.length === 0)
    throw policyError(
      `${at}: an empty requirement list is not allowed (use insecureAcceptAnything)`,
    );
  return list;
}

/** Parses a containers-policy.json document (bytes or an already-parsed value). */
export function parseSignaturePolicy(raw: unknown, opts: ParsePolicyOptions = {}): SignaturePolicy {
  let value: unknown = raw;
  if (raw instanceof Uint8Array) {
    try {
      value = JSON.parse(Buffer.from(raw).toString('utf8'));
    } catch (err) {
      throw policyError('not valid JSON', err);
    }
  }
  try {
    const o = expectObject(value, 'policy', ['default', 'transports']);
    const docker: Record<string, PolicyRequirement[]> = {};
    const transports =
      o['transports'] === undefined ? {} : expectObject(o['transports'], 'policy.transports');
    const d = transports['docker'];
    if (isPlainObject(d)) {
      for (const [scope, reqs] of Object.entries(d))
        docker[scope] = parseRequirements(
          reqs,
          `policy.transports.docker[${JSON.stringify(scope)}]`,
          opts,
        );
    }
    return { default: parseRequirements(o['default'], 'policy.default', opts), docker };
  } catch (err) {
    if (err instanceof OciError) throw err;
    throw policyError(err instanceof Error ? err.message : String(err), err);
  }
}

/** A policy that accepts every image (what an absent policy means). */
export const ACCEPT_ANYTHING_POLICY: SignaturePolicy = {
  default: [{ type: 'insecureAcceptAnything' }],
  docker: {},
};
