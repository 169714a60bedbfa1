import { join } from 'node:path';
import { isSystemError } from '#src/lib/index.js';
import { TeeError, parseTdxQuote } from '#src/tee/index.js';
import { checkReportData, type Attester, type EvidenceOptions } from './attester.js';
import { NODE_TSM_FS, hasConfigfsTsm, requestTsmReport, type TsmFs } from './configfs-tsm.js';
import { AttesterError } from './errors.js';

export const TDX_TSM_PROVIDER = 'tdx_guest';
export const CCEL_PATH = 'sys/firmware/acpi/tables/data/CCEL';
export const TDX_GUEST_DEVICES = ['dev/tdx_guest', 'dev/tdx-guest'] as const;

export interface TdxAttesterOptions {
  /** Root of the file system holding /sys and /dev (`/` in production; a tmpdir in tests). */
  readonly root?: string | undefined;
  readonly fs?: TsmFs | undefined;
}

/** Trustee's TDX evidence: `{"cc_eventlog": <base64 | null>, "quote": <base64>}`. */
export interface TdxEvidenceJson {
  readonly cc_eventlog: string | null;
  readonly quote: string;
}

/** TDX attester: the quote through configfs-tsm, the CCEL ACPI table as the event log. */
export function createTdxAttester(options: TdxAttesterOptions = {}): Attester {
  const root = options.root ?? '/';
  const fs = options.fs ?? NODE_TSM_FS;
  const quote = async (reportData: Uint8Array, opts: EvidenceOptions): Promise<Uint8Array> => {
    if (!(await hasConfigfsTsm(root, fs)))
      throw new AttesterError(
        'unavailable',
        'ERR_ATTESTER_UNAVAILABLE',
        'tdx quote unavailable: configfs-tsm (/sys/kernel/config/tsm/report) is missing and the native addon has no /dev/tdx_guest ioctl; mount configfs or use a kernel ≥ 6.7',
      );
    const r = await requestTsmReport(
      root,
      { inblob: checkReportData(reportData), provider: TDX_TSM_PROVIDER, signal: opts.signal },
      fs,
    );
    try {
      parseTdxQuote(r.outblob);
    } catch (err) {
      if (err instanceof TeeError)
        throw new AttesterError(
          'internal',
          'ERR_ATTESTER_EVIDENCE',
          `configfs-tsm returned a malformed tdx quote: ${err.message}`,
          { cause: err },
        );
      throw err;
    }
    return r.outblob;
  };
  return {
    tee: 'tdx',
    async getEvidence(reportData, opts = {}) {
      const q = await quote(reportData, opts);
      const ccel = await readCcel(root, fs);
      const evidence: TdxEvidenceJson = {
        cc_eventlog: ccel === undefined ? null : Buffer.from(ccel).toString('base64'),
        quote: Buffer.from(q).toString('base64'),
      };
      return evidence;
    },
    async initDataField(opts = {}) {
      const q = await quote(new Uint8Array(64), opts);
      return parseTdxQuote(q).body.mrConfigId;
    },
    extendRuntimeMeasurement() {
      return Promise.reject(
        new AttesterError(
          'unavailable',
          'ERR_ATTESTER_UNAVAILABLE',
          'tdx rtmr extension unavailable: needs configfs-tsm rtmr support or the /dev/tdx_guest ioctl, which the native addon lacks',
        ),
      );
    },
  };
}

async function readCcel(root: string, fs: TsmFs): Promise<Uint8Array | undefined> {
  try {
    return await fs.readFile(join(root, CCEL_PATH));
  } catch (err) {
    if (isSystemError(err) && (err.code === 'ENOENT' || err.code === 'EACCES')) return undefined;
    throw new AttesterError(
      'internal',
      'ERR_ATTESTER_EVIDENCE',
      `cannot read the ccel event log ${join(root, CCEL_PATH)}`,
      { cause: err },
    );
  }
}
