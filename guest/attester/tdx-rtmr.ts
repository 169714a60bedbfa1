import { join } from 'node:path';
import { isSystemError } from '#src/lib/index.js';
import type { EvidenceOptions } from './attester.js';
import type { TsmFs } from './configfs-tsm.js';
import { AttesterError } from './errors.js';

/** Linux ≥ 6.16 TSM measurement registers of the tdx-guest driver (CONFIG_TSM_MEASUREMENTS). */
export const TDX_MEASUREMENTS_DIR = 'sys/class/misc/tdx_guest/measurements';
export const RTMR_SIZE = 48;

/** PCR index → RTMR, as upstream's TDX attester maps it (td-shim's TD event log table). */
export function pcrToRtmr(pcr: number): number {
  if (pcr === 1 || pcr === 7) return 0;
  if (pcr >= 2 && pcr <= 6) return 1;
  if (pcr >= 8 && pcr <= 15) return 2;
  return 3;
}

/** `<root>/sys/class/misc/tdx_guest/measurements/rtmr<N>:sha384`. */
export function rtmrPath(root: string, rtmr: number): string {
  return join(root, TDX_MEASUREMENTS_DIR, `rtmr${String(rtmr)}:sha384`);
}

function checkPcr(pcr: number): void {
  if (!Number.isSafeInteger(pcr) || pcr < 0)
    throw new AttesterError(
      'invalid_argument',
      'ERR_ATTESTER_RTMR',
      `register index ${String(pcr)} is not a PCR number`,
    );
}

function rtmrError(path: string, what: string, err: unknown): AttesterError {
  if (isSystemError(err) && err.code === 'ENOENT')
    return new AttesterError(
      'unavailable',
      'ERR_ATTESTER_UNAVAILABLE',
      `tdx rtmr ${what} unavailable: ${path} is missing; it needs Linux ≥ 6.16 with CONFIG_TSM_MEASUREMENTS (the tdx-guest driver's measurement registers)`,
      { cause: err },
    );
  return new AttesterError(
    'internal',
    'ERR_ATTESTER_RTMR',
    `tdx rtmr ${what} through ${path} failed: ${isSystemError(err) ? err.code : String(err)}`,
    { cause: err },
  );
}

/** The RTMR that `pcr` maps to, read from sysfs (48 bytes). */
export async function readRtmr(fs: TsmFs, root: string, pcr: number): Promise<Uint8Array> {
  checkPcr(pcr);
  const path = rtmrPath(root, pcrToRtmr(pcr));
  let v: Uint8Array;
  try {
    v = await fs.readFile(path);
  } catch (err) {
    throw rtmrError(path, 'read', err);
  }
  if (v.length !== RTMR_SIZE)
    throw new AttesterError(
      'internal',
      'ERR_ATTESTER_RTMR',
      `${path} gave ${String(v.length)} bytes, an RTMR is ${String(RTMR_SIZE)}`,
    );
  return v;
}

/**
 * Extends the RTMR that `pcr` maps to with `digest` (zero-padded or cut to 48 bytes, as upstream
 * pads it): one 48-byte write at offset 0 of the sysfs attribute, which the kernel turns into
 * TDG.MR.RTMR.EXTEND (RTMR = SHA-384(RTMR ‖ data)).
 */
export async function extendRtmr(
  fs: TsmFs,
  root: string,
  pcr: number,
  digest: Uint8Array,
  opts: EvidenceOptions = {},
): Promise<void> {
  checkPcr(pcr);
  opts.signal?.throwIfAborted();
  const path = rtmrPath(root, pcrToRtmr(pcr));
  const data = new Uint8Array(RTMR_SIZE);
  data.set(digest.subarray(0, RTMR_SIZE));
  try {
    await fs.access(path);
    await fs.writeFile(path, data);
  } catch (err) {
    throw rtmrError(path, 'extension', err);
  }
}
