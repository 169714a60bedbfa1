import { ByteReader } from './byte-reader.js';
import { TeeError } from './errors.js';

/** AMD SEV-SNP ATTESTATION_REPORT (SNP firmware ABI spec 56860). */
export const SNP_REPORT_SIZE = 1184;
/** The signature covers bytes 0x000..0x29F. */
export const SNP_SIGNED_LENGTH = 0x2a0;
export const SNP_SIGNATURE_OFFSET = 0x2a0;
export const SNP_SIG_ALGO_ECDSA_P384_SHA384 = 1;

/** Which TCB_VERSION layout applies: Milan and Genoa share one, Turin (Zen 5) has another. */
export type SnpProduct = 'milan' | 'genoa' | 'turin';

export interface SnpTcb {
  /** Turin only (undefined on Milan/Genoa). */
  readonly fmc?: number | undefined;
  readonly bootloader: number;
  readonly tee: number;
  readonly snp: number;
  readonly microcode: number;
  /** The raw u64 as 8 little-endian bytes. */
  readonly raw: Uint8Array;
}

export interface SnpPolicy {
  readonly raw: bigint;
  readonly abiMinor: number;
  readonly abiMajor: number;
  readonly smtAllowed: boolean;
  readonly migrateMa: boolean;
  readonly debugAllowed: boolean;
  readonly singleSocket: boolean;
  readonly cxlAllowed: boolean;
  readonly memAes256Xts: boolean;
  readonly raplDisabled: boolean;
  readonly ciphertextHiding: boolean;
  readonly pageSwapDisabled: boolean;
}

export interface SnpPlatformInfo {
  readonly raw: bigint;
  readonly smtEnabled: boolean;
  readonly tsmeEnabled: boolean;
  readonly eccEnabled: boolean;
  readonly raplDisabled: boolean;
  readonly ciphertextHidingEnabled: boolean;
  readonly aliasCheckComplete: boolean;
}

export type SnpSigningKey = 'vcek' | 'vlek' | 'none';

export interface SnpVersion {
  readonly major: number;
  readonly minor: number;
  readonly build: number;
}

export interface SnpReport {
  readonly version: number;
  readonly guestSvn: number;
  readonly policy: SnpPolicy;
  readonly familyId: Uint8Array;
  readonly imageId: Uint8Array;
  readonly vmpl: number;
  readonly signatureAlgo: number;
  readonly currentTcb: SnpTcb;
  readonly platformInfo: SnpPlatformInfo;
  /** The u32 at 0x48: AUTHOR_KEY_EN (bit 0), MASK_CHIP_KEY (bit 1), SIGNING_KEY (bits 4:2). */
  readonly keyInfo: number;
  readonly authorKeyEn: boolean;
  readonly maskChipKey: boolean;
  readonly signingKey: SnpSigningKey;
  readonly reportData: Uint8Array;
  readonly measurement: Uint8Array;
  readonly hostData: Uint8Array;
  readonly idKeyDigest: Uint8Array;
  readonly authorKeyDigest: Uint8Array;
  readonly reportId: Uint8Array;
  readonly reportIdMa: Uint8Array;
  readonly reportedTcb: SnpTcb;
  /** CPUID family/model/stepping (report v3+; undefined before). */
  readonly cpuid?:
    { readonly family: number; readonly model: number; readonly stepping: number } | undefined;
  readonly chipId: Uint8Array;
  readonly committedTcb: SnpTcb;
  readonly currentVersion: SnpVersion;
  readonly committedVersion: SnpVersion;
  readonly launchTcb: SnpTcb;
  /** Report v5+ only. */
  readonly launchMitVector?: bigint | undefined;
  readonly currentMitVector?: bigint | undefined;
  /** The product whose TCB layout was used to decode the TCB fields. */
  readonly product: SnpProduct | undefined;
  /** ECDSA P-384 R and S, 72 bytes little-endian each (as in the report). */
  readonly signatureR: Uint8Array;
  readonly signatureS: Uint8Array;
  /** Bytes 0x000..0x29F, the signed range. */
  readonly signedBytes: Uint8Array;
}

/** Decodes a TCB_VERSION (8 little-endian bytes) with the given product's layout. */
export function decodeSnpTcb(raw: Uint8Array, product: SnpProduct | undefined): SnpTcb {
  const b = (i: number): number => raw[i] ?? 0;
  if (product === 'turin') {
    return { fmc: b(0), bootloader: b(1), tee: b(2), snp: b(3), microcode: b(7), raw };
  }
  return { bootloader: b(0), tee: b(1), snp: b(6), microcode: b(7), raw };
}

/** The product line from the CPUID fields of a v3+ report (family 0x19: Milan/Genoa, 0x1A: Turin). */
export function snpProductFromCpuid(family: number, model: number): SnpProduct | undefined {
  if (family === 0x1a) return 'turin';
  if (family === 0x19) return model >= 0x10 ? 'genoa' : 'milan';
  return undefined;
}

export function decodeSnpPolicy(raw: bigint): SnpPolicy {
  const bit = (n: number): boolean => ((raw >> BigInt(n)) & 1n) === 1n;
  return {
    raw,
    abiMinor: Number(raw & 0xffn),
    abiMajor: Number((raw >> 8n) & 0xffn),
    smtAllowed: bit(16),
    migrateMa: bit(18),
    debugAllowed: bit(19),
    singleSocket: bit(20),
    cxlAllowed: bit(21),
    memAes256Xts: bit(22),
    raplDisabled: bit(23),
    ciphertextHiding: bit(24),
    pageSwapDisabled: bit(25),
  };
}

export function decodeSnpPlatformInfo(raw: bigint): SnpPlatformInfo {
  const bit = (n: number): boolean => ((raw >> BigInt(n)) & 1n) === 1n;
  return {
    raw,
    smtEnabled: bit(0),
    tsmeEnabled: bit(1),
    eccEnabled: bit(2),
    raplDisabled: bit(3),
    ciphertextHidingEnabled: bit(4),
    aliasCheckComplete: bit(5),
  };
}

function signingKeyOf(keyInfo: number): SnpSigningKey {
  const k = (keyInfo >> 2) & 0x7;
  if (k === 0) return 'vcek';
  if (k === 1) return 'vlek';
  if (k === 7) return 'none';
  throw new TeeError(
    'invalid_argument',
    'ERR_TEE_MALFORMED',
    `snp report key_info.signing_key at offset 0x48 is ${k}, expected 0 (VCEK), 1 (VLEK) or 7 (none)`,
  );
}

function readVersion(r: ByteReader, field: string): SnpVersion {
  const build = r.u8(`${field}_build`);
  const minor = r.u8(`${field}_minor`);
  const major = r.u8(`${field}_major`);
  r.skip(`${field}_reserved`, 1);
  return { major, minor, build };
}

/**
 * Parses a 1184-byte SEV-SNP attestation report, versions 2, 3 and 5 (v4 layout is accepted too).
 * `product` overrides the TCB layout; otherwise v3+ reports use their CPUID fields and v2 reports
 * the Milan/Genoa layout. Throws TeeError naming the field and offset on bad input.
 */
export function parseSnpReport(raw: Uint8Array, product?: SnpProduct): SnpReport {
  const version = checkSnpHeader(raw);
  const cpuidAt = 0x188;
  const cpuid =
    version >= 3
      ? { family: raw[cpuidAt] ?? 0, model: raw[cpuidAt + 1] ?? 0, stepping: raw[cpuidAt + 2] ?? 0 }
      : undefined;
  const prod = product ?? (cpuid ? snpProductFromCpuid(cpuid.family, cpuid.model) : undefined);
  const r = new ByteReader(raw, 'snp report', 4);
  const tcb = (field: string): SnpTcb => decodeSnpTcb(r.bytes(field, 8), prod);
  // Object literals evaluate in order, so each group reads its fields in report order.
  const head = {
    guestSvn: r.u32('guest_svn'),
    policy: decodeSnpPolicy(r.u64('policy')),
    familyId: r.bytes('family_id', 16),
    imageId: r.bytes('image_id', 16),
    vmpl: r.u32('vmpl'),
    signatureAlgo: r.u32('signature_algo'),
    currentTcb: tcb('current_tcb'),
    platformInfo: decodeSnpPlatformInfo(r.u64('platform_info')),
    keyInfo: r.u32('key_info'),
  };
  r.skip('reserved0', 4);
  const body = {
    reportData: r.bytes('report_data', 64),
    measurement: r.bytes('measurement', 48),
    hostData: r.bytes('host_data', 32),
    idKeyDigest: r.bytes('id_key_digest', 48),
    authorKeyDigest: r.bytes('author_key_digest', 48),
    reportId: r.bytes('report_id', 32),
    reportIdMa: r.bytes('report_id_ma', 32),
    reportedTcb: tcb('reported_tcb'),
  };
  r.skip('cpuid_and_reserved1', 0x18);
  const tail = {
    chipId: r.bytes('chip_id', 64),
    committedTcb: tcb('committed_tcb'),
    currentVersion: readVersion(r, 'current'),
    committedVersion: readVersion(r, 'committed'),
    launchTcb: tcb('launch_tcb'),
  };
  const launchMit = r.u64('launch_mit_vector');
  const currentMit = r.u64('current_mit_vector');
  return {
    version,
    ...head,
    authorKeyEn: (head.keyInfo & 1) === 1,
    maskChipKey: (head.keyInfo & 2) === 2,
    signingKey: signingKeyOf(head.keyInfo),
    ...body,
    cpuid,
    ...tail,
    launchMitVector: version >= 5 ? launchMit : undefined,
    currentMitVector: version >= 5 ? currentMit : undefined,
    product: prod,
    signatureR: raw.slice(SNP_SIGNATURE_OFFSET, SNP_SIGNATURE_OFFSET + 72),
    signatureS: raw.slice(SNP_SIGNATURE_OFFSET + 72, SNP_SIGNATURE_OFFSET + 144),
    signedBytes: raw.slice(0, SNP_SIGNED_LENGTH),
  };
}

/** Size, version and signature algorithm checks; returns the version. */
function checkSnpHeader(raw: Uint8Array): number {
  if (raw.byteLength !== SNP_REPORT_SIZE) {
    throw new TeeError(
      'invalid_argument',
      'ERR_TEE_TRUNCATED',
      `snp report is ${raw.byteLength} bytes, expected exactly ${SNP_REPORT_SIZE}`,
    );
  }
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const version = dv.getUint32(0, true);
  if (version < 2 || version > 5) {
    throw new TeeError(
      'invalid_argument',
      'ERR_TEE_UNSUPPORTED',
      `snp report version at offset 0x0 is ${version}, expected 2, 3, 4 or 5`,
    );
  }
  const signatureAlgo = dv.getUint32(0x34, true);
  if (signatureAlgo !== SNP_SIG_ALGO_ECDSA_P384_SHA384) {
    throw new TeeError(
      'invalid_argument',
      'ERR_TEE_UNSUPPORTED',
      `snp report signature_algo at offset 0x34 is ${signatureAlgo}, expected 1 (ECDSA P-384 with SHA-384)`,
    );
  }
  return version;
}
