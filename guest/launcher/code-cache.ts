// Compiles a CommonJS guest bundle with vm.Script and an optional V8 code cache (see README.md).
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { Script } from 'node:vm';

/** The same wrapper Node puts around a CommonJS module; the cache is made for exactly this text. */
const WRAPPER_HEAD = '(function (exports, require, module, __filename, __dirname) { ';
const WRAPPER_TAIL = '\n})';

type ModuleWrapper = (
  exports: unknown,
  require: NodeJS.Require,
  module: { exports: unknown },
  filename: string,
  dirname: string,
) => void;

export type CacheState = 'none' | 'accepted' | 'rejected';

export interface CompiledBundle {
  /** What the bundle exported (module.exports after evaluation). */
  readonly exports: Record<string, unknown>;
  /** `accepted`: V8 used the cache; `rejected`: V8 refused it (wrong V8 version, flags or source). */
  readonly cache: CacheState;
  /** The code cache of everything compiled so far (for the image build). */
  createCachedData(): Buffer;
}

export interface CompileBundleOptions {
  /** Where the bundle is: its `require`, `__filename` and `import.meta.url` resolve from here. */
  readonly filename: string;
  /** The bundle's text. */
  readonly source: string;
  readonly cachedData?: Buffer | undefined;
  /**
   * The script name V8 records (stack traces; it is part of the cache's bytes). Default
   * `filename`; the image build compiles a staged copy under the name it has in the guest, so the
   * cache does not depend on the build folder.
   */
  readonly scriptName?: string | undefined;
}

/**
 * Compiles and evaluates the CommonJS bundle as Node would, using `cachedData` when given. V8
 * checks the cache's version, flag and source hashes and its checksum and refuses a mismatch
 * (`cache: 'rejected'`), compiling from source instead.
 */
export function compileBundle(o: CompileBundleOptions): CompiledBundle {
  const { filename, cachedData } = o;
  // Node 20's V8 checks a code cache's payload checksum only with this flag (a corrupted payload
  // behind a valid header would abort the process); it also makes createCachedData write the
  // checksum. Set after start-up, so Node's own startup snapshot is not checksummed on every boot.
  setFlagsFromString('--verify-snapshot-checksum');
  const script = new Script(WRAPPER_HEAD + o.source + WRAPPER_TAIL, {
    filename: o.scriptName ?? filename,
    cachedData,
  });
  const cache: CacheState =
    cachedData === undefined
      ? 'none'
      : script.cachedDataRejected === true
        ? 'rejected'
        : 'accepted';
  const wrapper = script.runInThisContext() as ModuleWrapper;
  const module: { exports: unknown } = { exports: {} };
  const require = createRequire(filename);
  wrapper.call(module.exports, module.exports, require, module, filename, dirname(filename));
  return {
    exports: module.exports as Record<string, unknown>,
    cache,
    createCachedData: () => script.createCachedData(),
  };
}
