// The V8 code cache of the agent bundle, made at image build time (see README.md "Code cache").
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { sha256Hex } from './build-inputs.js';
import { GUEST_AGENT_ENTRY } from './init-script.js';
import { runTool } from './run-tool.js';

/** The CommonJS agent bundle beside the launcher `kata-agent.mjs` (guest/launcher). */
export const AGENT_BUNDLE = 'kata-agent.cjs';
/** Its V8 code cache, which the launcher hands to vm.Script. */
export const AGENT_CODE_CACHE = `${AGENT_BUNDLE}.cache`;

/**
 * Node flags the agent runs with when its folder holds the CommonJS bundle: a fixed V8 hash seed,
 * derived from the bundle, so the code cache (whose bytes depend on the seed) is reproducible. V8
 * accepts a code cache only under the flags it was made with, so the init script and the cache
 * build both use these flags.
 */
export function codeCacheFlags(agentDir: string): string[] {
  const bundle = join(agentDir, AGENT_BUNDLE);
  if (!existsSync(bundle)) return [];
  // 48 bits: a safe integer, never 0 (0 means "random" to V8)
  const seed = (parseInt(sha256Hex(readFileSync(bundle)).slice(0, 12), 16) % 0xffffffffffff) + 1;
  return [`--hash-seed=${seed}`];
}

export interface WriteCodeCacheOptions {
  /** The staged root filesystem (holds /opt/kata-cc/). */
  readonly stage: string;
  /** The node binary the guest runs (the same file is copied to /usr/bin/node). */
  readonly nodeBinary: string;
  /** Exactly the flags the init script starts the agent with. */
  readonly nodeFlags: readonly string[];
  readonly signal?: AbortSignal | undefined;
}

/**
 * Runs the staged launcher with `--write-code-cache`: the guest's node binary with the guest's
 * flags evaluates the bundle, runs its warm-up and writes the cache into the stage. Returns the
 * cache's size, or undefined when the folder has no CommonJS bundle (a test payload).
 */
export async function writeCodeCache(o: WriteCodeCacheOptions): Promise<number | undefined> {
  const launcher = join(o.stage, GUEST_AGENT_ENTRY);
  const dir = join(launcher, '..');
  if (!existsSync(join(dir, AGENT_BUNDLE))) return undefined;
  const out = join(dir, AGENT_CODE_CACHE);
  const scriptName = join(GUEST_AGENT_ENTRY, '..', AGENT_BUNDLE);
  await runTool(
    o.nodeBinary,
    [...o.nodeFlags, launcher, `--write-code-cache=${out}`, `--script-name=${scriptName}`],
    { signal: o.signal },
  );
  return statSync(out).size;
}
