import { createHash } from 'node:crypto';
import { gzipSync, gunzipSync } from 'node:zlib';
import { parse as parseToml } from 'smol-toml';
import { fitBytes } from '#src/lib/index.js';
import { TeeError } from './errors.js';

/**
 * Initdata (confidential-containers initdata spec): a TOML document
 * `version = "0.1.0"`, `algorithm = "sha256"|"sha384"|"sha512"`, `[data]` of strings.
 * Its digest HASH(exact TOML bytes) is bound into the TEE evidence: TDX `mrconfigid` (48 bytes,
 * zero-padded), SNP `host-data` (32 bytes, truncated).
 */
export const INITDATA_VERSION = '0.1.0';
export const INITDATA_ALGORITHMS = ['sha256', 'sha384', 'sha512'] as const;
export type InitDataAlgorithm = (typeof INITDATA_ALGORITHMS)[number];
/** Pod annotation carrying base64(gzip(TOML)). */
export const INITDATA_ANNOTATION = 'io.katacontainers.config.hypervisor.cc_init_data';
/**
 * Kernel command-line key carrying `<algorithm>:<hex digest>` for a guest without a TEE
 * (`coco-dev`). Unmeasured: it stands in for MRCONFIGID / HOST_DATA in the sample evidence only.
 */
export const INITDATA_DIGEST_PARAM = 'kata.initdata_digest';
export const INITDATA_DISK_MAGIC = 'initdata';
export const INITDATA_DISK_SECTOR = 512;
/** Largest decompressed initdata accepted (hostile input guard). */
export const INITDATA_MAX_BYTES = 4 << 20;

export interface InitData {
  readonly version: typeof INITDATA_VERSION;
  readonly algorithm: InitDataAlgorithm;
  readonly data: Readonly<Record<string, string>>;
  /** The exact TOML bytes the digest is computed over. */
  readonly toml: Uint8Array;
  readonly digest: Uint8Array;
}

function invalid(message: string, cause?: unknown): TeeError {
  return new TeeError(
    'invalid_argument',
    'ERR_INITDATA_INVALID',
    message,
    cause === undefined ? undefined : { cause },
  );
}

export function isInitDataAlgorithm(v: unknown): v is InitDataAlgorithm {
  return typeof v === 'string' && (INITDATA_ALGORITHMS as readonly string[]).includes(v);
}

/** HASH(toml) with the initdata algorithm. */
export function initDataDigest(toml: Uint8Array, algorithm: InitDataAlgorithm): Uint8Array {
  return new Uint8Array(createHash(algorithm).update(toml).digest());
}

/** Parses and validates an initdata TOML document (bytes or text; text is encoded as UTF-8). */
export function parseInitData(input: Uint8Array | string): InitData {
  const toml = typeof input === 'string' ? new TextEncoder().encode(input) : input;
  if (toml.byteLength > INITDATA_MAX_BYTES)
    throw invalid(`initdata is ${toml.byteLength} bytes, limit ${INITDATA_MAX_BYTES}`);
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(new TextDecoder('utf-8', { fatal: true }).decode(toml));
  } catch (err) {
    throw invalid(
      `initdata is not valid UTF-8 TOML: ${err instanceof Error ? err.message : String(err)}`,
      err,
    );
  }
  for (const key of Object.keys(doc)) {
    if (!['version', 'algorithm', 'data'].includes(key))
      throw invalid(`initdata.${key}: unknown key (allowed: version, algorithm, data)`);
  }
  if (doc['version'] !== INITDATA_VERSION)
    throw invalid(
      `initdata.version: expected "${INITDATA_VERSION}", got ${JSON.stringify(doc['version'])}`,
    );
  const algorithm = doc['algorithm'];
  if (!isInitDataAlgorithm(algorithm)) {
    throw new TeeError(
      'invalid_argument',
      'ERR_INITDATA_ALGORITHM',
      `initdata.algorithm: expected one of sha256, sha384, sha512, got ${JSON.stringify(algorithm)}`,
    );
  }
  const rawData = doc['data'] ?? {};
  if (typeof rawData !== 'object' || Array.isArray(rawData) || rawData instanceof Date)
    throw invalid('initdata.data: expected a table of strings');
  const data: Record<string, string> = {};
  for (const [k, v] of Object.entries(rawData)) {
    if (typeof v !== 'string') throw invalid(`initdata.data."${k}": expected a string`);
    data[k] = v;
  }
  return {
    version: INITDATA_VERSION,
    algorithm,
    data,
    toml,
    digest: initDataDigest(toml, algorithm),
  };
}

/** TDX MRCONFIGID: the digest zero-padded to 48 bytes. */
export function tdxMrConfigId(digest: Uint8Array): Uint8Array {
  return fitBytes(digest, 48);
}

/** SNP HOST_DATA: the digest truncated (or zero-padded) to 32 bytes. */
export function snpHostData(digest: Uint8Array): Uint8Array {
  return fitBytes(digest, 32);
}

function gunzipLimited(blob: Uint8Array, what: string): Uint8Array {
  try {
    return new Uint8Array(gunzipSync(blob, { maxOutputLength: INITDATA_MAX_BYTES }));
  } catch (err) {
    throw invalid(`${what}: not a valid gzip stream of at most ${INITDATA_MAX_BYTES} bytes`, err);
  }
}

/** The pod annotation value: base64(gzip(TOML)). */
export function encodeInitDataAnnotation(toml: Uint8Array): string {
  return Buffer.from(gzipSync(toml)).toString('base64');
}

/** The TOML bytes from an annotation value; validates nothing beyond base64 + gzip. */
export function decodeInitDataAnnotation(annotation: string): Uint8Array {
  const text = annotation.trim();
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text))
    throw invalid(`${INITDATA_ANNOTATION}: not standard base64`);
  return gunzipLimited(new Uint8Array(Buffer.from(text, 'base64')), INITDATA_ANNOTATION);
}

/** The raw initdata disk: "initdata", u64 LE gzip length, gzip blob, zero padding to 512 bytes. */
export function encodeInitDataDisk(toml: Uint8Array): Uint8Array {
  const blob = gzipSync(toml);
  const used = 16 + blob.byteLength;
  const out = new Uint8Array(Math.ceil(used / INITDATA_DISK_SECTOR) * INITDATA_DISK_SECTOR);
  out.set(new TextEncoder().encode(INITDATA_DISK_MAGIC), 0);
  new DataView(out.buffer).setBigUint64(8, BigInt(blob.byteLength), true);
  out.set(blob, 16);
  return out;
}

/** The TOML bytes from a raw initdata disk image. */
export function decodeInitDataDisk(disk: Uint8Array): Uint8Array {
  if (disk.byteLength < 16)
    throw invalid(`initdata disk is ${disk.byteLength} bytes, header needs 16`);
  const magic = Buffer.from(disk.subarray(0, 8)).toString('latin1');
  if (magic !== INITDATA_DISK_MAGIC)
    throw invalid(
      `initdata disk magic at offset 0 is ${JSON.stringify(magic)}, expected "initdata"`,
    );
  const len = new DataView(disk.buffer, disk.byteOffset, disk.byteLength).getBigUint64(8, true);
  if (len > BigInt(disk.byteLength - 16))
    throw invalid(
      `initdata disk length at offset 8 is ${len}, only ${disk.byteLength - 16} bytes follow`,
    );
  return gunzipLimited(disk.subarray(16, 16 + Number(len)), 'initdata disk');
}
