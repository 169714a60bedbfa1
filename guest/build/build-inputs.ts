import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { KernelPackage } from './kernel.js';
import { sharedLibraries } from './libraries.js';

/** Bump when the builder's output changes for the same inputs. */
export const GUEST_BUILDER_VERSION = 5;

/** Everything the image is made of; its hash names the cache folder. */
export interface BuildInputs {
  readonly builderVersion: number;
  readonly kernel: KernelPackage;
  readonly modules: readonly string[];
  readonly initScriptSha256: string;
  /** sha256 of every host file copied into the guest (binaries and their libraries). */
  readonly hostFiles: Readonly<Record<string, string>>;
  /** sha256 of every file of the agent folder, by relative path. */
  readonly agentFiles: Readonly<Record<string, string>>;
  readonly nodeFlags: readonly string[];
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function fileSha256(path: string): string {
  return sha256Hex(readFileSync(path));
}

/** Relative paths of every regular file under `dir`, sorted. */
export function listFiles(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(dir, rel)).sort()) {
    const r = rel === '' ? name : `${rel}/${name}`;
    const st = statSync(join(dir, r));
    if (st.isDirectory()) out.push(...listFiles(dir, r));
    else if (st.isFile()) out.push(r);
  }
  return out;
}

/** sha256 of each binary and of each library ldd lists for it. */
export async function hashHostFiles(
  binaries: readonly string[],
  signal?: AbortSignal,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const b of binaries) {
    for (const p of [b, ...(await sharedLibraries(b, signal))]) out[p] ??= fileSha256(p);
  }
  return out;
}

export function hashAgentDir(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of listFiles(dir)) out[f] = fileSha256(join(dir, f));
  return out;
}

/** A stable hash of the inputs (keys sorted), 24 hex digits. */
export function inputsHash(inputs: BuildInputs): string {
  const canonical = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canonical);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return sha256Hex(JSON.stringify(canonical(inputs))).slice(0, 24);
}
