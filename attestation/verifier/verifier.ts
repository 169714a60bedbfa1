import { equalBytes, fitBytes, toHex } from '#src/lib/index.js';
import { denied } from './errors.js';

/** The TEEs the KBS accepts evidence from. */
export type TeeKind = 'tdx' | 'snp' | 'sample';

export const TEE_KINDS: readonly TeeKind[] = ['tdx', 'snp', 'sample'];

/** What the evidence must be bound to (absent fields are not checked). */
export interface ExpectedBinding {
  /** Expected REPORTDATA; zero-padded (or truncated) to 64 bytes before comparing. */
  readonly reportData?: Uint8Array | undefined;
  /** Expected initdata digest; compared with TDX MRCONFIGID (48 bytes) or SNP HOST_DATA (32 bytes). */
  readonly initDataDigest?: Uint8Array | undefined;
}

export interface VerifyOptions {
  /** Time the certificates and collateral must be valid at (default: now). */
  readonly now?: Date | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** Trustee's parsed claim names, JSON-compatible values. */
export type Claims = Readonly<Record<string, unknown>>;

export interface Verifier {
  readonly tee: TeeKind;
  /** Verifies evidence completely and returns its claims; throws VerifierError naming the failed check. */
  verify(evidence: unknown, expected: ExpectedBinding, opts?: VerifyOptions): Promise<Claims>;
}

/** Trustee's `regularize_data`: zero-pad or truncate to `length`. */
export function regularize(data: Uint8Array, length: number): Uint8Array {
  return data.byteLength === length ? data : fitBytes(data, length);
}

/** Compares the report data and initdata fields of evidence against the expected binding. */
export function checkBinding(
  tee: TeeKind,
  expected: ExpectedBinding,
  reportData: Uint8Array,
  initData: { readonly field: string; readonly value: Uint8Array } | undefined,
): void {
  if (expected.reportData !== undefined) {
    const want = regularize(expected.reportData, reportData.byteLength);
    if (!equalBytes(want, reportData)) {
      throw denied(
        'ERR_REPORT_DATA_MISMATCH',
        `${tee} report data check failed: evidence REPORTDATA ${toHex(reportData)} is not the expected ${toHex(want)}`,
      );
    }
  }
  if (expected.initDataDigest !== undefined) {
    if (!initData)
      throw denied(
        'ERR_INIT_DATA_MISMATCH',
        `${tee} init data check failed: this TEE does not bind initdata`,
      );
    const want = regularize(expected.initDataDigest, initData.value.byteLength);
    if (!equalBytes(want, initData.value)) {
      throw denied(
        'ERR_INIT_DATA_MISMATCH',
        `${tee} init data check failed: evidence ${initData.field} ${toHex(initData.value)} is not the expected ${toHex(want)}`,
      );
    }
  }
}
