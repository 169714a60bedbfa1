import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { expectArray, expectObject, expectString, isPlainObject } from '#src/lib/index.js';
import { RuntimeError } from './errors.js';

/** What the runtime needs from `kata-cc guest build`'s manifest.json. */
export interface GuestImage {
  readonly manifestPath: string;
  readonly kernel: string;
  readonly initrd: string;
  readonly rootfs: string;
  readonly verityRootHash: string;
  readonly kernelRelease: string;
  readonly kernelParams: readonly string[];
}

function readJson(path: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new RuntimeError(
      'failed_precondition',
      'ERR_RUNTIME_SANDBOX',
      `cannot read ${what} ${path}: run \`kata-cc guest build\` first`,
      { cause: err },
    );
  }
}

/**
 * The guest image to boot: `guest.manifest` from the config, else the build cache of this checkout
 * (`<projectRoot>/.cache/guest/current.json` → manifest). Paths are resolved and checked.
 */
export function resolveGuestImage(configured: string, projectRoot: string): GuestImage {
  let manifestPath = configured;
  if (manifestPath === '') {
    const pointerPath = join(projectRoot, '.cache', 'guest', 'current.json');
    const pointer = readJson(pointerPath, 'guest image pointer');
    const m = isPlainObject(pointer) ? pointer['manifest'] : undefined;
    if (typeof m !== 'string') {
      throw new RuntimeError(
        'failed_precondition',
        'ERR_RUNTIME_SANDBOX',
        `${pointerPath}: no manifest path`,
      );
    }
    manifestPath = isAbsolute(m) ? m : resolve(dirname(pointerPath), m);
  }
  const raw = expectObject(readJson(manifestPath, 'guest manifest'), manifestPath);
  const at = (k: string): string => `${manifestPath}.${k}`;
  const file = (k: string): string => {
    const v = expectString(raw[k], at(k));
    return isAbsolute(v) ? v : resolve(dirname(manifestPath), v);
  };
  return {
    manifestPath,
    kernel: file('kernel'),
    initrd: file('initrd'),
    rootfs: file('rootfs'),
    verityRootHash: expectString(raw['verityRootHash'], at('verityRootHash')),
    kernelRelease: typeof raw['kernelRelease'] === 'string' ? raw['kernelRelease'] : '',
    kernelParams: expectArray(raw['kernelParams'] ?? [], at('kernelParams')).map((p, i) =>
      expectString(p, `${at('kernelParams')}[${i}]`),
    ),
  };
}
