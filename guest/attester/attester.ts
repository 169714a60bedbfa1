import { AttesterError } from './errors.js';

/** The TEEs this guest can produce evidence for (detection order: tdx, snp, sample). */
export type AttesterTee = 'tdx' | 'snp' | 'sample';

export interface EvidenceOptions {
  readonly signal?: AbortSignal | undefined;
}

/** Produces KBS evidence JSON whose report_data is exactly the given 64 bytes. */
export interface Attester {
  readonly tee: AttesterTee;
  getEvidence(reportData: Uint8Array, opts?: EvidenceOptions): Promise<unknown>;
  /** The raw TEE report's initdata field (TDX MRCONFIGID 48 bytes, SNP HOST_DATA 32 bytes, sample: bound digest). */
  initDataField?(opts?: EvidenceOptions): Promise<Uint8Array>;
  /** Extends the runtime register PCR `index` maps to (TDX: an RTMR; sample: a software register). */
  extendRuntimeMeasurement?(
    index: number,
    digest: Uint8Array,
    opts?: EvidenceOptions,
  ): Promise<void>;
  /** The current value of the runtime register PCR `index` maps to. */
  getRuntimeMeasurement?(index: number, opts?: EvidenceOptions): Promise<Uint8Array>;
  /** The hash of that register (TDX sha384, sample sha256): the event log's digest algorithm. */
  readonly runtimeMeasurementAlgorithm?: 'sha256' | 'sha384' | undefined;
}

export const REPORT_DATA_LENGTH = 64;

/** report_data must be at most 64 bytes; shorter is zero-padded (as upstream attesters do). */
export function checkReportData(reportData: Uint8Array): Uint8Array {
  if (reportData.length > REPORT_DATA_LENGTH)
    throw new AttesterError(
      'invalid_argument',
      'ERR_ATTESTER_REPORT_DATA',
      `report data is ${String(reportData.length)} bytes: at most ${String(REPORT_DATA_LENGTH)} allowed`,
    );
  const out = new Uint8Array(REPORT_DATA_LENGTH);
  out.set(reportData);
  return out;
}
