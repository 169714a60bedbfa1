import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isSystemError } from '#src/lib/index.js';
import { HypervisorError } from './errors.js';
import type { TeeKind } from './vm-spec.js';

/** The sysfs parameter that says KVM can launch guests of each TEE kind. */
export const TEE_SYSFS_PARAMETER = {
  tdx: 'sys/module/kvm_intel/parameters/tdx',
  snp: 'sys/module/kvm_amd/parameters/sev_snp',
} as const;

export interface TeeSupport {
  readonly kind: Exclude<TeeKind, 'none'>;
  readonly available: boolean;
  /** The file read and what it said, or why it could not be read. */
  readonly detail: string;
  /** What to do when unavailable. */
  readonly remedy: string;
}

const REMEDY = {
  tdx: 'run on an Intel TDX host whose kernel has TDX host support and load kvm_intel with tdx=Y (or use the coco-dev runtime class)',
  snp: 'run on an AMD SEV-SNP host with SNP enabled in the BIOS and load kvm_amd with sev_snp=Y (or use the coco-dev runtime class)',
} as const;

/** Reads the sysfs parameter for `kind` under `sysfsRoot` (default `/`; tests pass a fake tree). */
export function probeTee(kind: Exclude<TeeKind, 'none'>, sysfsRoot = '/'): TeeSupport {
  const rel = TEE_SYSFS_PARAMETER[kind];
  const path = join(sysfsRoot, rel);
  let value: string;
  try {
    value = readFileSync(path, 'utf8').trim();
  } catch (err) {
    const why = isSystemError(err, 'ENOENT')
      ? 'is missing'
      : `cannot be read (${isSystemError(err) ? err.code : 'error'})`;
    return { kind, available: false, detail: `/${rel} ${why}`, remedy: REMEDY[kind] };
  }
  const available = value === 'Y' || value === 'y' || value === '1';
  return { kind, available, detail: `/${rel} is ${value}`, remedy: REMEDY[kind] };
}

/** Throws failed_precondition naming the sysfs file and what to do when the host cannot run `kind`. */
export function requireTee(kind: TeeKind, sysfsRoot = '/'): void {
  if (kind === 'none') return;
  const s = probeTee(kind, sysfsRoot);
  if (!s.available) {
    throw new HypervisorError(
      'failed_precondition',
      'ERR_TEE_UNAVAILABLE',
      `cannot launch a ${kind} guest on this host: ${s.detail}; ${s.remedy}`,
    );
  }
}
