import { malformedInput, type VerifierErrorCode } from './errors.js';

/** One DER TLV: tag byte, content bytes, and the whole encoding. */
export interface DerNode {
  readonly tag: number;
  readonly content: Uint8Array;
  readonly raw: Uint8Array;
}

export const DER_INTEGER = 0x02;
export const DER_OCTET_STRING = 0x04;
export const DER_OID = 0x06;
export const DER_SEQUENCE = 0x30;
export const DER_UTC_TIME = 0x17;
export const DER_GENERALIZED_TIME = 0x18;

/**
 * A minimal DER reader for the few structures the verifiers need beyond node:crypto
 * (certificate extensions, CRLs, Intel's SGX extension). Throws `code` on malformed input.
 */
export class DerReader {
  readonly #b: Uint8Array;
  readonly #code: VerifierErrorCode;
  readonly #what: string;
  #pos = 0;

  constructor(bytes: Uint8Array, what: string, code: VerifierErrorCode) {
    this.#b = bytes;
    this.#what = what;
    this.#code = code;
  }

  get done(): boolean {
    return this.#pos >= this.#b.byteLength;
  }

  #fail(why: string): never {
    throw malformedInput(this.#code, `${this.#what}: malformed DER at offset ${this.#pos}: ${why}`);
  }

  peekTag(): number | undefined {
    return this.#b[this.#pos];
  }

  next(expectTag?: number): DerNode {
    const start = this.#pos;
    const tag = this.#b[this.#pos];
    if (tag === undefined) this.#fail('unexpected end');
    if (expectTag !== undefined && tag !== expectTag)
      this.#fail(`tag 0x${tag.toString(16)}, expected 0x${expectTag.toString(16)}`);
    let p = this.#pos + 1;
    const first = this.#b[p++];
    if (first === undefined) this.#fail('missing length');
    let len = first;
    if (first & 0x80) {
      const n = first & 0x7f;
      if (n === 0 || n > 4) this.#fail(`unsupported length of ${n} bytes`);
      len = 0;
      for (let i = 0; i < n; i++) {
        const v = this.#b[p++];
        if (v === undefined) this.#fail('truncated length');
        len = len * 256 + v;
      }
    }
    if (p + len > this.#b.byteLength) this.#fail(`length ${len} runs past the end`);
    this.#pos = p + len;
    return { tag, content: this.#b.subarray(p, p + len), raw: this.#b.subarray(start, p + len) };
  }

  /** Children of a constructed node. */
  static children(node: DerNode, what: string, code: VerifierErrorCode): DerNode[] {
    const r = new DerReader(node.content, what, code);
    const out: DerNode[] = [];
    while (!r.done) out.push(r.next());
    return out;
  }
}

/** Dotted OID text of an OBJECT IDENTIFIER's content bytes. */
export function oidText(content: Uint8Array): string {
  const parts: number[] = [];
  let v = 0;
  content.forEach((b) => {
    v = v * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      if (parts.length === 0) {
        const first = v < 80 ? Math.floor(v / 40) : 2;
        parts.push(first, v - first * 40);
      } else parts.push(v);
      v = 0;
    }
  });
  return parts.join('.');
}

/** An unsigned INTEGER's value (up to 2^53). */
export function derUint(content: Uint8Array): number {
  let v = 0;
  for (const b of content) v = v * 256 + b;
  return v;
}

/** UTCTime / GeneralizedTime → Date. */
export function derTime(node: DerNode): Date {
  const s = Buffer.from(node.content).toString('latin1');
  const m =
    node.tag === DER_UTC_TIME
      ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s)
      : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return new Date(NaN);
  let year = Number(m[1]);
  if (node.tag === DER_UTC_TIME) year += year < 50 ? 2000 : 1900;
  return new Date(
    Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])),
  );
}

/**
 * The extensions of a DER certificate as OID → extnValue content (the bytes inside the OCTET
 * STRING). Certificate ::= SEQUENCE { tbs SEQUENCE { [0] version?, serial, sigAlg, issuer,
 * validity, subject, spki, [1]?, [2]?, [3] extensions } … }.
 */
export function certificateExtensions(
  der: Uint8Array,
  what: string,
  code: VerifierErrorCode,
): Map<string, Uint8Array> {
  const cert = new DerReader(der, what, code).next(DER_SEQUENCE);
  const tbs = DerReader.children(cert, what, code)[0];
  if (!tbs) throw malformedInput(code, `${what}: certificate has no tbsCertificate`);
  const out = new Map<string, Uint8Array>();
  const exts = DerReader.children(tbs, what, code).find((n) => n.tag === 0xa3);
  if (!exts) return out;
  const seq = DerReader.children(exts, what, code)[0];
  if (!seq) return out;
  for (const ext of DerReader.children(seq, what, code)) {
    const parts = DerReader.children(ext, what, code);
    const oid = parts[0];
    const value = parts[parts.length - 1];
    if (oid?.tag !== DER_OID || value?.tag !== DER_OCTET_STRING) continue;
    out.set(oidText(oid.content), value.content);
  }
  return out;
}
