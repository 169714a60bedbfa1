import type { Duplex } from 'node:stream';
import { join } from 'node:path';
import { equalBytes, isSystemError } from '#src/lib/index.js';
import { connectVsock, type VsockBinding } from '#src/protocol/transport/index.js';
import { TeeError, parseTdxQuote } from '#src/tee/index.js';
import * as native from '#native/index.js';
import { checkReportData, type Attester, type EvidenceOptions } from './attester.js';
import {
  NODE_TSM_FS,
  pathExists,
  hasConfigfsTsm,
  requestTsmReport,
  type TsmFs,
} from './configfs-tsm.js';
import { AttesterError } from './errors.js';
import { TDX_ATTEST_CONF, getQuoteFromQgs, parseTdxAttestPort } from './qgs-client.js';
import { requestTdReport, tdReportMrConfigId, tdReportRtmr } from './tdx-guest-ioctl.js';
import { extendRtmr, pcrToRtmr, readRtmr, rtmrPath } from './tdx-rtmr.js';
import { NATIVE_TEE_DEVICE, type TeeDevice } from './tee-device.js';

export const TDX_TSM_PROVIDER = 'tdx_guest';
export const CCEL_PATH = 'sys/firmware/acpi/tables/data/CCEL';
export const TDX_GUEST_DEVICES = ['dev/tdx_guest', 'dev/tdx-guest'] as const;

export interface TdxAttesterOptions {
  /** Root of the file system holding /sys, /dev and /etc (`/` in production; a tmpdir in tests). */
  readonly root?: string | undefined;
  readonly fs?: TsmFs | undefined;
  /** `/dev/tdx_guest` when configfs-tsm is absent (default: the native addon's ioctl). */
  readonly device?: TeeDevice | undefined;
  /** Connects to the QGS (default: vsock to the host, CID 2, on `port`). */
  readonly qgsConnect?: ((port: number, signal: AbortSignal) => Promise<Duplex>) | undefined;
}

/** Trustee's TDX evidence: `{"cc_eventlog": <base64 | null>, "quote": <base64>}`. */
export interface TdxEvidenceJson {
  readonly cc_eventlog: string | null;
  readonly quote: string;
  /** The attestation agent's runtime event log (AAEL text), when it keeps one. */
  readonly aa_eventlog?: string;
}

/** Where the attestation agent keeps its AAEL (guest-components' path). */
export const AA_EVENTLOG_PATH = 'run/attestation-agent/eventlog';

const NATIVE_VSOCK: VsockBinding = native;

const vsockQgs = (port: number, signal: AbortSignal): Promise<Duplex> =>
  connectVsock(NATIVE_VSOCK, native.VMADDR_CID_HOST, port, { signal });

/**
 * TDX attester, in upstream's order: the quote through configfs-tsm, else the TDREPORT from
 * `/dev/tdx_guest` (TDX_CMD_GET_REPORT0) turned into a quote by the host's QGS over vsock, as
 * Intel's tdx-attest does; the CCEL ACPI table is the event log.
 */
export function createTdxAttester(options: TdxAttesterOptions = {}): Attester {
  const root = options.root ?? '/';
  const fs = options.fs ?? NODE_TSM_FS;
  const device = options.device ?? NATIVE_TEE_DEVICE;
  const devicePath = async (): Promise<string> => {
    for (const d of TDX_GUEST_DEVICES)
      if (await pathExists(fs, join(root, d))) return join(root, d);
    throw new AttesterError(
      'unavailable',
      'ERR_ATTESTER_UNAVAILABLE',
      `tdx quote unavailable: neither configfs-tsm (${join(root, 'sys/kernel/config/tsm/report')}) nor ${join(root, TDX_GUEST_DEVICES[0])} exists; load the tdx-guest driver or mount configfs (kernel ≥ 6.7)`,
    );
  };
  const quote = async (reportData: Uint8Array, opts: EvidenceOptions): Promise<Uint8Array> => {
    const rd = checkReportData(reportData);
    if (await hasConfigfsTsm(root, fs)) {
      const r = await requestTsmReport(
        root,
        { inblob: rd, provider: TDX_TSM_PROVIDER, signal: opts.signal },
        fs,
      );
      return checkedQuote(r.outblob, undefined, 'configfs-tsm');
    }
    const path = await devicePath();
    const tdreport = await requestTdReport(device, path, rd, opts.signal);
    const port = await qgsPort(root, fs);
    const connect = options.qgsConnect ?? vsockQgs;
    const q = await getQuoteFromQgs((signal) => connect(port, signal), tdreport, {
      signal: opts.signal,
    });
    return checkedQuote(q, rd, `the quote generation service (vsock port ${String(port)})`);
  };
  return {
    tee: 'tdx',
    async getEvidence(reportData, opts = {}) {
      const q = await quote(reportData, opts);
      const ccel = await readOptional(root, fs, CCEL_PATH, 'the ccel event log');
      const aael = await readOptional(root, fs, AA_EVENTLOG_PATH, 'the aa event log');
      const evidence: TdxEvidenceJson = {
        cc_eventlog: ccel === undefined ? null : Buffer.from(ccel).toString('base64'),
        quote: Buffer.from(q).toString('base64'),
        ...(aael === undefined ? {} : { aa_eventlog: Buffer.from(aael).toString('utf8') }),
      };
      return evidence;
    },
    async initDataField(opts = {}) {
      if (await hasConfigfsTsm(root, fs))
        return parseTdxQuote(await quote(new Uint8Array(64), opts)).body.mrConfigId;
      const report = await requestTdReport(
        device,
        await devicePath(),
        new Uint8Array(64),
        opts.signal,
      );
      return tdReportMrConfigId(report);
    },
    runtimeMeasurementAlgorithm: 'sha384',
    extendRuntimeMeasurement: (pcr, digest, opts) => extendRtmr(fs, root, pcr, digest, opts),
    async getRuntimeMeasurement(pcr, opts = {}) {
      if (await pathExists(fs, rtmrPath(root, pcrToRtmr(pcr)))) return readRtmr(fs, root, pcr);
      const report = await requestTdReport(
        device,
        await devicePath(),
        new Uint8Array(64),
        opts.signal,
      );
      return tdReportRtmr(report, pcrToRtmr(pcr));
    },
  };
}

/** A quote that parses and, from the host's QGS, carries exactly the report data we asked for. */
function checkedQuote(q: Uint8Array, rd: Uint8Array | undefined, via: string): Uint8Array {
  let reportData: Uint8Array;
  try {
    reportData = parseTdxQuote(q).body.reportData;
  } catch (err) {
    if (err instanceof TeeError)
      throw new AttesterError(
        'internal',
        'ERR_ATTESTER_EVIDENCE',
        `${via} returned a malformed tdx quote: ${err.message}`,
        { cause: err },
      );
    throw err;
  }
  if (rd !== undefined && !equalBytes(reportData, rd))
    throw new AttesterError(
      'internal',
      'ERR_ATTESTER_EVIDENCE',
      `${via} returned a tdx quote for other report data than requested`,
    );
  return q;
}

async function qgsPort(root: string, fs: TsmFs): Promise<number> {
  const path = join(root, TDX_ATTEST_CONF);
  let text: string;
  try {
    text = Buffer.from(await fs.readFile(path)).toString('utf8');
  } catch (err) {
    throw new AttesterError(
      'unavailable',
      'ERR_ATTESTER_QGS',
      `tdx quote unavailable: no configfs-tsm and ${path} is unreadable (${isSystemError(err) ? err.code : String(err)}); it names the QGS vsock port (port=4050)`,
      { cause: err },
    );
  }
  const port = parseTdxAttestPort(text, path);
  if (port === undefined)
    throw new AttesterError(
      'unavailable',
      'ERR_ATTESTER_QGS',
      `tdx quote unavailable: no configfs-tsm and ${path} names no QGS vsock port (port=4050)`,
    );
  return port;
}

async function readOptional(
  root: string,
  fs: TsmFs,
  path: string,
  what: string,
): Promise<Uint8Array | undefined> {
  try {
    return await fs.readFile(join(root, path));
  } catch (err) {
    if (isSystemError(err) && (err.code === 'ENOENT' || err.code === 'EACCES')) return undefined;
    throw new AttesterError(
      'internal',
      'ERR_ATTESTER_EVIDENCE',
      `cannot read ${what} ${join(root, path)}`,
      {
        cause: err,
      },
    );
  }
}
