import { createHash } from 'node:crypto';
import { checkReportData, type Attester } from './attester.js';
import { AttesterError } from './errors.js';

/**
 * Trustee's sample evidence: `{"svn", "report_data": base64}`; proves nothing. kata-cc adds
 * `"init_data": base64` when the guest was launched with initdata (the digest from the kernel
 * command line, unmeasured), so the KBS can bind and key its policy on init-data.
 */
export interface SampleEvidenceJson {
  readonly svn: string;
  readonly report_data: string;
  readonly init_data?: string;
}

export interface SampleAttesterOptions {
  readonly svn?: string | undefined;
  /** The initdata digest this guest was started with (the sample "TEE" field that binds it). */
  readonly initDataDigest?: Uint8Array | undefined;
}

export interface SampleRuntimeEvent {
  readonly index: number;
  readonly digest: Uint8Array;
}

/**
 * The sample attester, for guests without a TEE. Like upstream's, it keeps runtime measurements
 * in one software register (SHA-256, every PCR maps to it) and records each extension.
 */
export interface SampleAttester extends Attester {
  readonly events: readonly SampleRuntimeEvent[];
  /** The software register's current value. */
  readonly register: Uint8Array;
}

const MAX_EVENTS = 4096;
/** Upstream's sample register takes SHA-256 digests only. */
export const SAMPLE_DIGEST_LENGTH = 32;

export function createSampleAttester(options: SampleAttesterOptions = {}): SampleAttester {
  const svn = options.svn ?? '1';
  const field = options.initDataDigest ?? new Uint8Array(0);
  const events: SampleRuntimeEvent[] = [];
  let register = new Uint8Array(SAMPLE_DIGEST_LENGTH);
  return {
    tee: 'sample',
    events,
    get register() {
      return register.slice();
    },
    runtimeMeasurementAlgorithm: 'sha256',
    getRuntimeMeasurement() {
      return Promise.resolve(register.slice());
    },
    getEvidence(reportData) {
      try {
        const evidence: SampleEvidenceJson = {
          svn,
          report_data: Buffer.from(checkReportData(reportData)).toString('base64'),
          ...(field.byteLength === 0 ? {} : { init_data: Buffer.from(field).toString('base64') }),
        };
        return Promise.resolve(evidence);
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    },
    initDataField() {
      return Promise.resolve(field);
    },
    extendRuntimeMeasurement(index, digest) {
      if (digest.length !== SAMPLE_DIGEST_LENGTH)
        return Promise.reject(
          new AttesterError(
            'invalid_argument',
            'ERR_ATTESTER_EVIDENCE',
            `the sample register takes ${String(SAMPLE_DIGEST_LENGTH)}-byte (SHA-256) digests, got ${String(digest.length)}`,
          ),
        );
      if (events.length >= MAX_EVENTS)
        return Promise.reject(
          new AttesterError(
            'resource_exhausted',
            'ERR_ATTESTER_EVIDENCE',
            `sample runtime event log is full (${String(MAX_EVENTS)} events)`,
          ),
        );
      events.push({ index, digest: new Uint8Array(digest) });
      register = new Uint8Array(createHash('sha256').update(register).update(digest).digest());
      return Promise.resolve();
    },
  };
}
