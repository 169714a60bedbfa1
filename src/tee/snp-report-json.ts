import { TeeError } from './errors.js';
import { SNP_REPORT_SIZE, parseSnpReport, type SnpTcb } from './snp-report.js';

/**
 * The Rust `sev` crate's serde shape of an SNP attestation report (as Trustee's SNP evidence
 * `{"attestation_report": …, "cert_chain": …}` carries it): byte fields are arrays of integers,
 * TCB versions are `{fmc, bootloader, tee, snp, microcode}` objects, signature `{r, s}` 72-byte LE.
 */
type Obj = Readonly<Record<string, unknown>>;

function bad(at: string, what: string): TeeError {
  return new TeeError('invalid_argument', 'ERR_TEE_MALFORMED', `${at}: ${what}`);
}

function obj(raw: unknown, at: string): Obj {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw bad(at, 'expected an object');
  return raw as Obj;
}

function int(raw: unknown, at: string, max: number): number {
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 0 || raw > max)
    throw bad(at, `expected an integer 0..${max}`);
  return raw;
}

function byteArray(raw: unknown, at: string, length: number): Uint8Array {
  if (!Array.isArray(raw) || raw.length !== length)
    throw bad(at, `expected an array of ${length} bytes`);
  const out = new Uint8Array(length);
  raw.forEach((v, i) => (out[i] = int(v, `${at}[${i}]`, 255)));
  return out;
}

function putU32(out: Uint8Array, at: number, v: number): void {
  new DataView(out.buffer, out.byteOffset).setUint32(at, v, true);
}

function putU64(out: Uint8Array, at: number, v: number): void {
  const dv = new DataView(out.buffer, out.byteOffset);
  dv.setUint32(at, v % 0x100000000, true);
  dv.setUint32(at + 4, Math.floor(v / 0x100000000), true);
}

function putTcb(out: Uint8Array, off: number, raw: unknown, at: string): void {
  const t = obj(raw, at);
  const f = (k: string): number => int(t[k], `${at}.${k}`, 255);
  const fmc = t['fmc'];
  if (fmc === null || fmc === undefined) {
    out.set([f('bootloader'), f('tee'), 0, 0, 0, 0, f('snp'), f('microcode')], off);
  } else {
    out.set(
      [int(fmc, `${at}.fmc`, 255), f('bootloader'), f('tee'), f('snp'), 0, 0, 0, f('microcode')],
      off,
    );
  }
}

function putVersion(out: Uint8Array, off: number, raw: unknown, at: string): void {
  const v = obj(raw, at);
  out.set(
    [
      int(v['build'], `${at}.build`, 255),
      int(v['minor'], `${at}.minor`, 255),
      int(v['major'], `${at}.major`, 255),
    ],
    off,
  );
}

const BYTE_FIELDS: readonly (readonly [string, number, number])[] = [
  ['family_id', 0x10, 16],
  ['image_id', 0x20, 16],
  ['report_data', 0x50, 64],
  ['measurement', 0x90, 48],
  ['host_data', 0xc0, 32],
  ['id_key_digest', 0xe0, 48],
  ['author_key_digest', 0x110, 48],
  ['report_id', 0x140, 32],
  ['report_id_ma', 0x160, 32],
  ['chip_id', 0x1a0, 64],
];

/** Rebuilds the 1184-byte ABI report from the `sev` crate JSON form (reserved bytes zero). */
export function snpReportFromSevJson(raw: unknown, at = 'attestation_report'): Uint8Array {
  const o = obj(raw, at);
  const out = new Uint8Array(SNP_REPORT_SIZE);
  const u32 = (k: string): number => int(o[k], `${at}.${k}`, 0xffffffff);
  const u64 = (k: string): number => int(o[k], `${at}.${k}`, Number.MAX_SAFE_INTEGER);
  putU32(out, 0x00, u32('version'));
  putU32(out, 0x04, u32('guest_svn'));
  putU64(out, 0x08, u64('policy'));
  putU32(out, 0x30, u32('vmpl'));
  putU32(out, 0x34, int(o['sig_algo'] ?? o['signature_algo'], `${at}.sig_algo`, 0xffffffff));
  putTcb(out, 0x38, o['current_tcb'], `${at}.current_tcb`);
  putU64(out, 0x40, u64('plat_info'));
  putU32(out, 0x48, int(o['key_info'] ?? o['flags'] ?? 0, `${at}.key_info`, 0xffffffff));
  for (const [k, off, len] of BYTE_FIELDS) out.set(byteArray(o[k], `${at}.${k}`, len), off);
  putTcb(out, 0x180, o['reported_tcb'], `${at}.reported_tcb`);
  for (const [k, off] of [
    ['cpuid_fam_id', 0x188],
    ['cpuid_mod_id', 0x189],
    ['cpuid_step', 0x18a],
  ] as const) {
    const v = o[k];
    if (v !== undefined && v !== null) out[off] = int(v, `${at}.${k}`, 255);
  }
  putTcb(out, 0x1e0, o['committed_tcb'], `${at}.committed_tcb`);
  putVersion(out, 0x1e8, o['current'], `${at}.current`);
  putVersion(out, 0x1ec, o['committed'], `${at}.committed`);
  putTcb(out, 0x1f0, o['launch_tcb'], `${at}.launch_tcb`);
  for (const [k, off] of [
    ['launch_mit_vector', 0x1f8],
    ['current_mit_vector', 0x200],
  ] as const) {
    const v = o[k];
    if (v !== undefined && v !== null)
      putU64(out, off, int(v, `${at}.${k}`, Number.MAX_SAFE_INTEGER));
  }
  const sig = obj(o['signature'], `${at}.signature`);
  out.set(byteArray(sig['r'], `${at}.signature.r`, 72), 0x2a0);
  out.set(byteArray(sig['s'], `${at}.signature.s`, 72), 0x2e8);
  return out;
}

function tcbJson(t: SnpTcb): Record<string, number | null> {
  return {
    fmc: t.fmc ?? null,
    bootloader: t.bootloader,
    tee: t.tee,
    snp: t.snp,
    microcode: t.microcode,
  };
}

/**
 * The `sev` crate JSON form of a raw report (what an SNP attester puts in Trustee's evidence
 * `attestation_report`). Reserved bytes are not represented, as in the crate.
 */
export function snpReportToSevJson(raw: Uint8Array): Record<string, unknown> {
  const r = parseSnpReport(raw);
  const arr = (b: Uint8Array): number[] => Array.from(b);
  const out: Record<string, unknown> = {
    version: r.version,
    guest_svn: r.guestSvn,
    policy: Number(r.policy.raw),
    family_id: arr(r.familyId),
    image_id: arr(r.imageId),
    vmpl: r.vmpl,
    sig_algo: r.signatureAlgo,
    current_tcb: tcbJson(r.currentTcb),
    plat_info: Number(r.platformInfo.raw),
    key_info: r.keyInfo,
    report_data: arr(r.reportData),
    measurement: arr(r.measurement),
    host_data: arr(r.hostData),
    id_key_digest: arr(r.idKeyDigest),
    author_key_digest: arr(r.authorKeyDigest),
    report_id: arr(r.reportId),
    report_id_ma: arr(r.reportIdMa),
    reported_tcb: tcbJson(r.reportedTcb),
    cpuid_fam_id: r.cpuid?.family ?? null,
    cpuid_mod_id: r.cpuid?.model ?? null,
    cpuid_step: r.cpuid?.stepping ?? null,
    chip_id: arr(r.chipId),
    committed_tcb: tcbJson(r.committedTcb),
    current: { ...r.currentVersion },
    committed: { ...r.committedVersion },
    launch_tcb: tcbJson(r.launchTcb),
  };
  if (r.launchMitVector !== undefined) out['launch_mit_vector'] = Number(r.launchMitVector);
  if (r.currentMitVector !== undefined) out['current_mit_vector'] = Number(r.currentMitVector);
  out['signature'] = { r: arr(r.signatureR), s: arr(r.signatureS) };
  return out;
}
