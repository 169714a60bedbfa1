import { AttesterError } from './errors.js';

/** GHCB certificate table GUIDs (AMD SEV-SNP GHCB spec, "Extended Guest Request"). */
export const SNP_CERT_GUIDS = {
  'c0b406a4-a803-4952-9743-3fb6014cd0ae': 'ARK',
  '4ab7b379-bbac-4fe4-a02f-05aef327c782': 'ASK',
  '63da758d-e664-4564-adc5-f4b93be8accd': 'VCEK',
  'a8074bc2-a25a-483e-aae6-39c045a0b8a1': 'VLEK',
  '92f81bc3-5811-4d3d-97ff-d19f88dc67ea': 'CRL',
} as const satisfies Record<string, string>;

export interface SnpCertEntry {
  /** `ARK`, `ASK`, `VCEK`, `VLEK`, `CRL`, or `OTHER(<guid>)` — the `sev` crate's CertType names. */
  readonly certType: string;
  readonly data: Uint8Array;
}

const ENTRY = 24;
const MAX_ENTRIES = 64;

function guidText(b: Uint8Array): string {
  const h = Buffer.from(b).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * Parses the certificate table (`auxblob` of configfs-tsm, or the extended report buffer): entries
 * of GUID (16, RFC byte order) + offset u32 LE + length u32 LE, ended by an all-zero entry;
 * offsets are from the table start.
 */
export function parseSnpCertTable(raw: Uint8Array): SnpCertEntry[] {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out: SnpCertEntry[] = [];
  for (let i = 0; ; i++) {
    const at = i * ENTRY;
    if (at + ENTRY > raw.length)
      throw new AttesterError(
        'internal',
        'ERR_ATTESTER_EVIDENCE',
        `snp certificate table: entry ${String(i)} truncated (table is ${String(raw.length)} bytes, no terminator)`,
      );
    if (i >= MAX_ENTRIES)
      throw new AttesterError(
        'internal',
        'ERR_ATTESTER_EVIDENCE',
        `snp certificate table: more than ${String(MAX_ENTRIES)} entries`,
      );
    const guid = raw.subarray(at, at + 16);
    const offset = view.getUint32(at + 16, true);
    const length = view.getUint32(at + 20, true);
    if (offset === 0 && length === 0 && guid.every((b) => b === 0)) return out;
    if (offset + length > raw.length || offset < ENTRY)
      throw new AttesterError(
        'internal',
        'ERR_ATTESTER_EVIDENCE',
        `snp certificate table: entry ${String(i)} (offset ${String(offset)}, length ${String(length)}) is outside the ${String(raw.length)}-byte table`,
      );
    const id = guidText(guid);
    const named = (SNP_CERT_GUIDS as Record<string, string>)[id];
    out.push({ certType: named ?? `OTHER(${id})`, data: raw.slice(offset, offset + length) });
  }
}

/** Builds a certificate table (for tests and the host-side fake). */
export function encodeSnpCertTable(entries: readonly SnpCertEntry[]): Uint8Array {
  const guidOf = (type: string): Uint8Array => {
    const hit = Object.entries(SNP_CERT_GUIDS).find(([, t]) => t === type);
    const id = hit?.[0] ?? /^OTHER\(([0-9a-f-]{36})\)$/.exec(type)?.[1];
    if (id === undefined)
      throw new AttesterError(
        'invalid_argument',
        'ERR_ATTESTER_EVIDENCE',
        `unknown snp certificate type ${type}`,
      );
    return new Uint8Array(Buffer.from(id.replaceAll('-', ''), 'hex'));
  };
  const head = (entries.length + 1) * ENTRY;
  const total = head + entries.reduce((n, e) => n + e.data.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let off = head;
  entries.forEach((e, i) => {
    out.set(guidOf(e.certType), i * ENTRY);
    view.setUint32(i * ENTRY + 16, off, true);
    view.setUint32(i * ENTRY + 20, e.data.length, true);
    out.set(e.data, off);
    off += e.data.length;
  });
  return out;
}
