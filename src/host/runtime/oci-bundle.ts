import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { isPlainObject } from '#src/lib/index.js';
import { RuntimeError } from './errors.js';

export const CRI_CONTAINER_TYPE = 'io.kubernetes.cri.container-type';
export const CRI_SANDBOX_ID = 'io.kubernetes.cri.sandbox-id';

export interface OciBundle {
  readonly path: string;
  readonly spec: Readonly<Record<string, unknown>>;
  readonly annotations: Readonly<Record<string, string>>;
  /** The host path of the rootfs (spec.root.path resolved against the bundle). */
  readonly rootfsDir: string;
  readonly terminal: boolean;
}

function bad(path: string, what: string, cause?: unknown): RuntimeError {
  return new RuntimeError(
    'invalid_argument',
    'ERR_RUNTIME_BUNDLE',
    `invalid bundle ${path}: ${what}`,
    {
      cause,
    },
  );
}

/** Reads and checks `<bundle>/config.json`: hostile input, so shape is validated, not assumed. */
export function readOciBundle(path: string): OciBundle {
  if (!isAbsolute(path)) throw bad(path, 'bundle path must be absolute');
  let spec: unknown;
  try {
    spec = JSON.parse(readFileSync(join(path, 'config.json'), 'utf8'));
  } catch (err) {
    throw bad(path, 'cannot read config.json', err);
  }
  if (!isPlainObject(spec)) throw bad(path, 'config.json is not an object');
  const proc = spec['process'];
  if (!isPlainObject(proc)) throw bad(path, 'config.json has no process');
  const args = proc['args'];
  if (!Array.isArray(args) || args.length === 0 || !args.every((a) => typeof a === 'string')) {
    throw bad(path, 'process.args must be a non-empty list of strings');
  }
  const root = spec['root'];
  const rootPath =
    isPlainObject(root) && typeof root['path'] === 'string' ? root['path'] : 'rootfs';
  const annotations: Record<string, string> = {};
  const raw = spec['annotations'];
  if (raw !== undefined) {
    if (!isPlainObject(raw)) throw bad(path, 'annotations must be an object');
    for (const [k, v] of Object.entries(raw)) {
      if (typeof v !== 'string') throw bad(path, `annotation ${k} is not a string`);
      annotations[k] = v;
    }
  }
  return {
    path,
    spec,
    annotations,
    rootfsDir: isAbsolute(rootPath) ? rootPath : join(path, rootPath),
    terminal: proc['terminal'] === true,
  };
}

/** The sandbox a container belongs to and whether it is the sandbox itself. */
export function sandboxOf(
  bundle: OciBundle,
  containerId: string,
): { sandboxId: string; isSandbox: boolean } {
  const type = bundle.annotations[CRI_CONTAINER_TYPE];
  const sandboxId = bundle.annotations[CRI_SANDBOX_ID] ?? containerId;
  return { sandboxId, isSandbox: type === 'sandbox' || sandboxId === containerId };
}
