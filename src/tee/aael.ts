import { createHash } from 'node:crypto';
import { TeeError } from './errors.js';

/**
 * The attestation agent's runtime event log (AAEL, guest-components
 * `docs/design/AAEL.md`): text lines, the first `INIT <alg>/<hex of the register before>`, then
 * `<domain> <operation> <content>` events. Each line's digest (with the log's algorithm) is
 * extended into one register, so replaying the log from the INIT value must give the register's
 * value in the evidence.
 */
export type AaelHashAlgorithm = 'sha256' | 'sha384' | 'sha512';

export const AAEL_HASH_ALGORITHMS: readonly AaelHashAlgorithm[] = ['sha256', 'sha384', 'sha512'];
/** The default register (PCR 17, upstream's "dynamic root of trust" choice). */
export const AAEL_DEFAULT_PCR = 17;
export const AAEL_DIGEST_LENGTH: Readonly<Record<AaelHashAlgorithm, number>> = {
  sha256: 32,
  sha384: 48,
  sha512: 64,
};

export interface AaelLog {
  readonly algorithm: AaelHashAlgorithm;
  /** The register value before the INIT entry. */
  readonly initState: Uint8Array;
  /** Event lines without their line feed. */
  readonly events: readonly string[];
}

function aaelError(message: string): TeeError {
  return new TeeError('invalid_argument', 'ERR_AAEL_INVALID', `aael: ${message}`);
}

/** Printable ASCII (0x20..0x7e). */
const PRINTABLE = /^[\x20-\x7e]*$/;

/** The INIT line for a register value. */
export function formatAaelInit(algorithm: AaelHashAlgorithm, initState: Uint8Array): string {
  if (initState.length !== AAEL_DIGEST_LENGTH[algorithm])
    throw aaelError(
      `INIT value is ${String(initState.length)} bytes, ${algorithm} needs ${String(AAEL_DIGEST_LENGTH[algorithm])}`,
    );
  return `INIT ${algorithm}/${Buffer.from(initState).toString('hex')}`;
}

/**
 * An event line. Domain and operation: non-empty printable ASCII without white space; content:
 * non-empty printable ASCII (spaces allowed, no line feed) that does not end in a space —
 * upstream's replay (guest-components, Trustee) trims trailing white space off each line, so such
 * a line would never replay to what was extended.
 */
export function formatAaelEvent(domain: string, operation: string, content: string): string {
  for (const [name, v] of [
    ['domain', domain],
    ['operation', operation],
  ] as const)
    if (v === '' || !/^[\x21-\x7e]+$/.test(v))
      throw aaelError(`${name} must be non-empty printable ASCII without white space`);
  if (content === '' || content.endsWith(' ') || !PRINTABLE.test(content))
    throw aaelError(
      'content must be non-empty printable ASCII without line feeds or control characters, not ending in a space',
    );
  return `${domain} ${operation} ${content}`;
}

/** The digest a line contributes (what is extended into the register). */
export function aaelLineDigest(algorithm: AaelHashAlgorithm, line: string): Uint8Array {
  return new Uint8Array(createHash(algorithm).update(line, 'utf8').digest());
}

/** register' = H(register ‖ digest), the TPM/RTMR extend. */
export function aaelExtend(
  algorithm: AaelHashAlgorithm,
  register: Uint8Array,
  digest: Uint8Array,
): Uint8Array {
  return new Uint8Array(createHash(algorithm).update(register).update(digest).digest());
}

/**
 * Parses a log as upstream's verifiers do: lines split at line feeds (a missing final one is
 * accepted; CR is not), trailing spaces trimmed off events, the first line INIT.
 */
export function parseAael(text: string): AaelLog {
  const lines = (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');
  const init = /^INIT (sha256|sha384|sha512)\/([0-9a-f]*)$/.exec(lines[0] ?? '');
  if (!init) throw aaelError('the first line is not `INIT <sha256|sha384|sha512>/<hex>`');
  const algorithm = init[1] as AaelHashAlgorithm;
  const hex = init[2] ?? '';
  if (hex.length !== 2 * AAEL_DIGEST_LENGTH[algorithm])
    throw aaelError(`the INIT value is not a ${algorithm} digest`);
  const events = lines.slice(1).map((e) => e.replace(/ +$/, ''));
  events.forEach((e, i) => {
    const parts = /^(\S+) (\S+) (.*)$/.exec(e);
    if (!parts || !PRINTABLE.test(e))
      throw aaelError(`line ${String(i + 2)} is not \`<domain> <operation> <content>\``);
  });
  return { algorithm, initState: new Uint8Array(Buffer.from(hex, 'hex')), events };
}

/** The register value a log leads to: INIT value, extended by each line's digest in order. */
export function replayAael(log: AaelLog): Uint8Array {
  const { algorithm } = log;
  let reg = aaelExtend(
    algorithm,
    log.initState,
    aaelLineDigest(algorithm, formatAaelInit(algorithm, log.initState)),
  );
  for (const e of log.events) reg = aaelExtend(algorithm, reg, aaelLineDigest(algorithm, e));
  return reg;
}

/** Trustee's `aael` claim: `{"<domain>/<operation>": [content, …]}` in log order. */
export function aaelClaims(log: AaelLog): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const e of log.events) {
    const m = /^(\S+) (\S+) (.*)$/.exec(e);
    if (!m) continue;
    const key = `${m[1] ?? ''}/${m[2] ?? ''}`;
    (out[key] ??= []).push(m[3] ?? '');
  }
  return out;
}
