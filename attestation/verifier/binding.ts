import { equalBytes, fitBytes, toHex } from '#src/lib/index.js';
import { denied } from './errors.js';
import type { ExpectedBinding, TeeKind } from './verifier.js';

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
