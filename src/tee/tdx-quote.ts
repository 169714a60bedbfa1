import { ByteReader } from './byte-reader.js';
import { TeeError, malformed } from './errors.js';

/** Intel TDX DCAP quote constants (Intel TDX DCAP Quoting Library API, appendix "Quote Format"). */
export const TDX_QUOTE_HEADER_SIZE = 48;
export const TDX_TEE_TYPE = 0x81;
export const TDX_ATT_KEY_TYPE_ECDSA_P256 = 2;
export const TD_REPORT10_SIZE = 584;
export const TD_REPORT15_SIZE = 648;
export const SGX_REPORT_BODY_SIZE = 384;
export const TDX_CERT_TYPE_PCK_CHAIN = 5;
export const TDX_CERT_TYPE_QE_REPORT = 6;
/** Upper bound for certification data; real quotes carry ~4 KiB. */
export const TDX_MAX_CERT_DATA = 1 << 20;

export interface TdxQuoteHeader {
  readonly version: number;
  readonly attKeyType: number;
  readonly teeType: number;
  /** Bytes 8..11 (reserved in v4/v5). */
  readonly reserved: Uint8Array;
  readonly qeVendorId: Uint8Array;
  readonly userData: Uint8Array;
}

/** TD report body: TDX 1.0 (584 bytes) or TDX 1.5 (648 bytes, adds teeTcbSvn2 and mrServiceTd). */
export interface TdReport {
  readonly teeTcbSvn: Uint8Array;
  readonly mrSeam: Uint8Array;
  readonly mrSignerSeam: Uint8Array;
  readonly seamAttributes: Uint8Array;
  readonly tdAttributes: Uint8Array;
  readonly xfam: Uint8Array;
  readonly mrTd: Uint8Array;
  readonly mrConfigId: Uint8Array;
  readonly mrOwner: Uint8Array;
  readonly mrOwnerConfig: Uint8Array;
  readonly rtmr: readonly [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  readonly reportData: Uint8Array;
  readonly teeTcbSvn2?: Uint8Array | undefined;
  readonly mrServiceTd?: Uint8Array | undefined;
}

/** SGX enclave report body (the QE report inside the certification data). */
export interface SgxReportBody {
  readonly raw: Uint8Array;
  readonly cpuSvn: Uint8Array;
  readonly miscSelect: number;
  readonly attributes: Uint8Array;
  readonly mrEnclave: Uint8Array;
  readonly mrSigner: Uint8Array;
  readonly isvProdId: number;
  readonly isvSvn: number;
  readonly reportData: Uint8Array;
}

/** Certification data type 6: QE report + its PCK signature + auth data + inner PCK chain. */
export interface TdxQeCertification {
  readonly qeReport: SgxReportBody;
  readonly qeReportSignature: Uint8Array;
  readonly qeAuthData: Uint8Array;
  readonly innerType: number;
  /** The PEM PCK certificate chain (leaf first), trailing NULs removed. */
  readonly pckCertChainPem: string;
}

export interface TdxQuote {
  readonly header: TdxQuoteHeader;
  /** 2 = TD report 1.0, 3 = TD report 1.5 (v4 quotes are always 2). */
  readonly bodyType: 2 | 3;
  readonly body: TdReport;
  /** The bytes the attestation key signed: header (+ v5 body descriptor) + body. */
  readonly signedBytes: Uint8Array;
  /** ECDSA P-256 signature r||s (64 bytes). */
  readonly signature: Uint8Array;
  /** Attestation public key x||y (64 bytes). */
  readonly attestationKey: Uint8Array;
  readonly certification: TdxQeCertification;
  /** Bytes the quote occupies; anything after it in the buffer is padding. */
  readonly length: number;
}

function parseHeader(r: ByteReader): TdxQuoteHeader {
  const version = r.u16('header.version');
  if (version !== 4 && version !== 5) {
    throw new TeeError(
      'invalid_argument',
      'ERR_TEE_UNSUPPORTED',
      `tdx quote header.version at offset 0 is ${version}, expected 4 or 5`,
    );
  }
  const attKeyType = r.u16('header.att_key_type');
  if (attKeyType !== TDX_ATT_KEY_TYPE_ECDSA_P256) {
    throw new TeeError(
      'invalid_argument',
      'ERR_TEE_UNSUPPORTED',
      `tdx quote header.att_key_type at offset 2 is ${attKeyType}, expected 2 (ECDSA-256-with-P-256)`,
    );
  }
  const teeType = r.u32('header.tee_type');
  if (teeType !== TDX_TEE_TYPE) {
    throw new TeeError(
      'invalid_argument',
      'ERR_TEE_UNSUPPORTED',
      `tdx quote header.tee_type at offset 4 is 0x${teeType.toString(16)}, expected 0x81 (TDX); an SGX quote is not TDX evidence`,
    );
  }
  return {
    version,
    attKeyType,
    teeType,
    reserved: r.bytes('header.reserved', 4),
    qeVendorId: r.bytes('header.qe_vendor_id', 16),
    userData: r.bytes('header.user_data', 20),
  };
}

/** Parses a TD report at the reader's position (`size` 584 or 648). */
export function parseTdReport(r: ByteReader, size: number): TdReport {
  const f = (name: string, n: number): Uint8Array => r.bytes(`body.${name}`, n);
  const base = {
    teeTcbSvn: f('tee_tcb_svn', 16),
    mrSeam: f('mr_seam', 48),
    mrSignerSeam: f('mrsigner_seam', 48),
    seamAttributes: f('seam_attributes', 8),
    tdAttributes: f('td_attributes', 8),
    xfam: f('xfam', 8),
    mrTd: f('mr_td', 48),
    mrConfigId: f('mr_config_id', 48),
    mrOwner: f('mr_owner', 48),
    mrOwnerConfig: f('mr_owner_config', 48),
    rtmr: [f('rtmr_0', 48), f('rtmr_1', 48), f('rtmr_2', 48), f('rtmr_3', 48)] as const,
    reportData: f('report_data', 64),
  };
  if (size === TD_REPORT10_SIZE) return base;
  return { ...base, teeTcbSvn2: f('tee_tcb_svn2', 16), mrServiceTd: f('mr_servicetd', 48) };
}

/** Parses a 384-byte SGX report body (QE report). */
export function parseSgxReportBody(raw: Uint8Array): SgxReportBody {
  const r = new ByteReader(raw, 'qe_report');
  const cpuSvn = r.bytes('cpu_svn', 16);
  const miscSelect = r.u32('misc_select');
  r.skip('reserved1', 28);
  const attributes = r.bytes('attributes', 16);
  const mrEnclave = r.bytes('mr_enclave', 32);
  r.skip('reserved2', 32);
  const mrSigner = r.bytes('mr_signer', 32);
  r.skip('reserved3', 96);
  const isvProdId = r.u16('isv_prod_id');
  const isvSvn = r.u16('isv_svn');
  r.skip('reserved4', 60);
  const reportData = r.bytes('report_data', 64);
  return {
    raw,
    cpuSvn,
    miscSelect,
    attributes,
    mrEnclave,
    mrSigner,
    isvProdId,
    isvSvn,
    reportData,
  };
}

function parseBodyDescriptor(r: ByteReader): { bodyType: 2 | 3; size: number } {
  const bodyType = r.u16('body_descriptor.type');
  const at = r.offset;
  const size = r.u32('body_descriptor.size');
  const expected = bodyType === 2 ? TD_REPORT10_SIZE : bodyType === 3 ? TD_REPORT15_SIZE : -1;
  if (expected < 0) {
    throw new TeeError(
      'invalid_argument',
      'ERR_TEE_UNSUPPORTED',
      `tdx quote body_descriptor.type at offset 48 is ${bodyType}, expected 2 (TD report 1.0) or 3 (TD report 1.5)`,
    );
  }
  if (size !== expected) {
    throw malformed(
      `tdx quote body_descriptor.size at offset ${at} is ${size}, expected ${expected} for body type ${bodyType}`,
    );
  }
  return { bodyType: bodyType as 2 | 3, size };
}

function parseCertification(r: ByteReader): TdxQeCertification {
  const certType = r.u16('signature_data.cert_data.type');
  const sizeAt = r.offset;
  const certSize = r.u32('signature_data.cert_data.size');
  if (certType !== TDX_CERT_TYPE_QE_REPORT) {
    throw new TeeError(
      'invalid_argument',
      'ERR_TEE_UNSUPPORTED',
      `tdx quote signature_data.cert_data.type at offset ${sizeAt - 2} is ${certType}, expected 6 (QE report certification data)`,
    );
  }
  if (certSize > r.remaining || certSize > TDX_MAX_CERT_DATA) {
    throw new TeeError(
      'invalid_argument',
      'ERR_TEE_TRUNCATED',
      `tdx quote signature_data.cert_data.size at offset ${sizeAt} is ${certSize}, only ${r.remaining} bytes of signature data left`,
    );
  }
  const start = r.offset;
  const c = new ByteReader(r.bytes('signature_data.cert_data', certSize), 'tdx quote cert_data');
  const qeReport = parseSgxReportBody(c.bytes('qe_report', SGX_REPORT_BODY_SIZE));
  const qeReportSignature = c.bytes('qe_report_signature', 64);
  const authLen = c.u16('qe_auth_data.size');
  const qeAuthData = c.bytes('qe_auth_data', authLen);
  const innerType = c.u16('inner_cert_data.type');
  const innerSize = c.u32('inner_cert_data.size');
  if (innerType !== TDX_CERT_TYPE_PCK_CHAIN) {
    throw new TeeError(
      'invalid_argument',
      'ERR_TEE_UNSUPPORTED',
      `tdx quote inner_cert_data.type at offset ${start + c.offset - 6} is ${innerType}, expected 5 (PEM PCK certificate chain)`,
    );
  }
  const pem = c.bytes('inner_cert_data', innerSize);
  const pckCertChainPem = Buffer.from(pem).toString('latin1').replace(/\0+$/, '');
  return { qeReport, qeReportSignature, qeAuthData, innerType, pckCertChainPem };
}

/**
 * Parses an Intel TDX DCAP quote v4 or v5 (ECDSA P-256 attestation key, certification data type 6).
 * The signature data is bounded by its length field, not by the buffer: trailing padding (as
 * configfs-tsm returns) is ignored. Throws TeeError naming the field and offset on bad input.
 */
export function parseTdxQuote(raw: Uint8Array): TdxQuote {
  const r = new ByteReader(raw, 'tdx quote');
  const header = parseHeader(r);
  let bodyType: 2 | 3 = 2;
  let bodySize = TD_REPORT10_SIZE;
  if (header.version === 5) ({ bodyType, size: bodySize } = parseBodyDescriptor(r));
  const body = parseTdReport(r, bodySize);
  const signedBytes = raw.slice(0, r.offset);
  const lenAt = r.offset;
  const sigLen = r.u32('signature_data_len');
  if (sigLen > r.remaining) {
    throw new TeeError(
      'invalid_argument',
      'ERR_TEE_TRUNCATED',
      `tdx quote signature_data_len at offset ${lenAt} is ${sigLen}, only ${r.remaining} bytes follow`,
    );
  }
  const sigStart = r.offset;
  const s = new ByteReader(raw, 'tdx quote', sigStart, sigStart + sigLen);
  const signature = s.bytes('signature_data.signature', 64);
  const attestationKey = s.bytes('signature_data.attestation_key', 64);
  const certification = parseCertification(s);
  return {
    header,
    bodyType,
    body,
    signedBytes,
    signature,
    attestationKey,
    certification,
    length: sigStart + sigLen,
  };
}
