import { join } from 'node:path';
import type { Attester, AttesterTee } from './attester.js';
import { NODE_TSM_FS, pathExists, type TsmFs } from './configfs-tsm.js';
import { createSampleAttester, type SampleAttesterOptions } from './sample-attester.js';
import { SNP_GUEST_DEVICE, createSnpAttester } from './snp-attester.js';
import { TDX_GUEST_DEVICES, createTdxAttester } from './tdx-attester.js';

export interface DetectAttesterOptions {
  readonly root?: string | undefined;
  readonly fs?: TsmFs | undefined;
  /** Force one TEE instead of detecting. */
  readonly tee?: AttesterTee | undefined;
  readonly sample?: SampleAttesterOptions | undefined;
}

async function cpuFlags(fs: TsmFs, root: string): Promise<Set<string>> {
  try {
    const text = Buffer.from(await fs.readFile(join(root, 'proc', 'cpuinfo'))).toString('utf8');
    const line = /^flags\s*:(.*)$/m.exec(text);
    return new Set((line?.[1] ?? '').trim().split(/\s+/));
  } catch {
    return new Set();
  }
}

/** Which TEE this guest runs in, in upstream order: tdx, snp, then sample. */
export async function detectTee(root = '/', fs: TsmFs = NODE_TSM_FS): Promise<AttesterTee> {
  const flags = await cpuFlags(fs, root);
  for (const dev of TDX_GUEST_DEVICES) if (await pathExists(fs, join(root, dev))) return 'tdx';
  if (flags.has('tdx_guest')) return 'tdx';
  if (await pathExists(fs, join(root, SNP_GUEST_DEVICE))) return 'snp';
  if (flags.has('sev_snp')) return 'snp';
  return 'sample';
}

/** Builds the attester for the detected (or forced) TEE. */
export async function createAttester(options: DetectAttesterOptions = {}): Promise<Attester> {
  const root = options.root ?? '/';
  const fs = options.fs ?? NODE_TSM_FS;
  const tee = options.tee ?? (await detectTee(root, fs));
  switch (tee) {
    case 'tdx':
      return createTdxAttester({ root, fs });
    case 'snp':
      return createSnpAttester({ root, fs });
    case 'sample':
      return createSampleAttester(options.sample);
  }
}
