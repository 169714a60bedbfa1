import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import {
  UsageError,
  isPlainObject,
  parseCommandArgs,
  writeLine,
  type Command,
} from '#src/lib/index.js';

export const RUNTIME_TYPE = 'io.containerd.kata-cc.v2';
export const RUNTIME_HANDLER = 'kata-cc';
const SHIM_NAME = 'containerd-shim-kata-cc-v2';

/** The CRI plugin table that holds runtimes, per containerd config version. */
const CRI_RUNTIMES_PATH: Readonly<Record<2 | 3, readonly string[]>> = {
  2: ['plugins', 'io.containerd.grpc.v1.cri', 'containerd', 'runtimes'],
  3: ['plugins', 'io.containerd.cri.v1.runtime', 'containerd', 'runtimes'],
};

type Toml = Record<string, unknown>;

interface Change {
  readonly path: string;
  readonly what: string;
  /** New file content, or undefined when nothing changes. */
  readonly content: string | undefined;
  readonly mode: number;
}

function runtimeEntry(configPath: string | undefined): Toml {
  const entry: Toml = {
    runtime_type: RUNTIME_TYPE,
    privileged_without_host_devices: true,
    pod_annotations: ['io.katacontainers.*'],
    container_annotations: ['io.katacontainers.*'],
  };
  if (configPath !== undefined) entry['options'] = { ConfigPath: configPath };
  return entry;
}

function tableAt(root: Toml, path: readonly string[]): Toml | undefined {
  let cur: unknown = root;
  for (const k of path) {
    if (!isPlainObject(cur)) return undefined;
    cur = cur[k];
  }
  return isPlainObject(cur) ? cur : undefined;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The containerd config change: append the runtime table, or rewrite a differing one. */
export function planContainerdConfig(
  path: string,
  text: string | undefined,
  wantVersion: 2 | 3,
  configPath: string | undefined,
): Change {
  const doc: Toml = text === undefined ? { version: wantVersion } : parseToml(text);
  const version = doc['version'] === 3 ? 3 : doc['version'] === 2 ? 2 : undefined;
  if (version === undefined) {
    throw new UsageError(
      `${path}: containerd config version ${JSON.stringify(doc['version'])} is not supported (need version = 2 or 3)`,
    );
  }
  const runtimesPath = CRI_RUNTIMES_PATH[version];
  const want = runtimeEntry(configPath);
  const have = tableAt(doc, [...runtimesPath, RUNTIME_HANDLER]);
  const what = `containerd runtime ${RUNTIME_HANDLER} (${RUNTIME_TYPE}, config version ${version})`;
  if (have !== undefined && sameJson(have, want))
    return { path, what, content: undefined, mode: 0o644 };
  if (have === undefined) {
    const block = stringifyToml(setPath({}, [...runtimesPath, RUNTIME_HANDLER], want));
    const head =
      text === undefined
        ? `version = ${wantVersion}\n\n`
        : text.endsWith('\n')
          ? text
          : `${text}\n`;
    return { path, what, content: `${head}\n# added by kata-cc install\n${block}\n`, mode: 0o644 };
  }
  setPath(doc, [...runtimesPath, RUNTIME_HANDLER], want);
  return {
    path,
    what: `${what}, rewritten (comments are not kept)`,
    content: stringifyToml(doc) + '\n',
    mode: 0o644,
  };
}

function setPath(root: Toml, path: readonly string[], value: unknown): Toml {
  let cur = root;
  for (const k of path.slice(0, -1)) {
    const next = cur[k];
    if (!isPlainObject(next)) cur[k] = {};
    cur = cur[k] as Toml;
  }
  cur[path[path.length - 1] ?? ''] = value;
  return root;
}

export function runtimeClassManifest(): string {
  return [
    'apiVersion: node.k8s.io/v1',
    'kind: RuntimeClass',
    'metadata:',
    `  name: ${RUNTIME_HANDLER}`,
    `handler: ${RUNTIME_HANDLER}`,
    'overhead:',
    '  podFixed:',
    '    memory: "320Mi"',
    '    cpu: "250m"',
    '',
  ].join('\n');
}

export function shimWrapper(nodeBinary: string, projectRoot: string): string {
  return `#!/bin/sh\n# installed by kata-cc install\nexec "${nodeBinary}" "${join(projectRoot, 'dist', `${SHIM_NAME}.mjs`)}" "$@"\n`;
}

function planFile(path: string, what: string, content: string, mode: number): Change {
  const current = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  return { path, what, content: current === content ? undefined : content, mode };
}

function apply(c: Change): void {
  if (c.content === undefined) return;
  mkdirSync(dirname(c.path), { recursive: true });
  const tmp = `${c.path}.kata-cc-tmp`;
  writeFileSync(tmp, c.content, { mode: c.mode });
  chmodSync(tmp, c.mode);
  renameSync(tmp, c.path);
}

export const installCommand: Command = {
  name: 'install',
  summary: 'register the kata-cc runtime with containerd (idempotent)',
  help: `Usage: kata-cc install [--dry-run] [--containerd-config PATH] [--bin-dir DIR]
                       [--runtime-class PATH] [--config-path PATH] [--containerd-version 2|3]

Writes what containerd and Kubernetes need to run pods with RuntimeClass kata-cc:
  - the runtime entry ${RUNTIME_HANDLER} (runtime_type = "${RUNTIME_TYPE}") in containerd's config
    (config version 2 for containerd 1.6/1.7, version 3 for 2.x; detected from the file)
  - ${SHIM_NAME} on containerd's PATH (a wrapper in --bin-dir)
  - the RuntimeClass manifest (apply it with kubectl)
Running it again changes nothing. Restart containerd afterwards.

Options:
  --dry-run               print what would change, change nothing
  --containerd-config P   containerd's config (default /etc/containerd/config.toml; created if absent)
  --containerd-version N  config version for a new file (default 2)
  --bin-dir DIR           where the shim goes (default /usr/local/bin)
  --runtime-class P       RuntimeClass manifest (default /etc/kata-cc/runtime-class.yaml)
  --config-path P         kata-cc config passed to the shim as runtime option ConfigPath`,
  run(args, ctx) {
    const { values, positionals } = parseCommandArgs(args, {
      'dry-run': { type: 'boolean' },
      'containerd-config': { type: 'string' },
      'containerd-version': { type: 'string' },
      'bin-dir': { type: 'string' },
      'runtime-class': { type: 'string' },
      'config-path': { type: 'string' },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0] ?? ''}`);
    const v = values['containerd-version'] ?? '2';
    if (v !== '2' && v !== '3') throw new UsageError('--containerd-version must be 2 or 3');
    const cdPath = values['containerd-config'] ?? '/etc/containerd/config.toml';
    const cdText = existsSync(cdPath) ? readFileSync(cdPath, 'utf8') : undefined;
    let cdChange: Change;
    try {
      cdChange = planContainerdConfig(cdPath, cdText, v === '3' ? 3 : 2, values['config-path']);
    } catch (err) {
      if (err instanceof UsageError) throw err;
      writeLine(
        ctx.stderr,
        `kata-cc install: ${cdPath}: ${err instanceof Error ? err.message : String(err)}`,
      );
      return Promise.resolve(1);
    }
    const changes = [
      cdChange,
      planFile(
        join(values['bin-dir'] ?? '/usr/local/bin', SHIM_NAME),
        'shim wrapper',
        shimWrapper(process.execPath, ctx.projectRoot),
        0o755,
      ),
      planFile(
        values['runtime-class'] ?? '/etc/kata-cc/runtime-class.yaml',
        'RuntimeClass manifest',
        runtimeClassManifest(),
        0o644,
      ),
    ];
    const dry = values['dry-run'] === true;
    for (const c of changes) {
      const verb = c.content === undefined ? 'unchanged' : dry ? 'would write' : 'wrote';
      if (!dry) apply(c);
      writeLine(ctx.stdout, `${verb}: ${c.path} (${c.what})`);
      if (dry && c.content !== undefined && c === cdChange)
        ctx.stdout.write(c.content.replace(/^/gm, '  | '));
    }
    if (!dry && changes.some((c) => c.content !== undefined))
      writeLine(ctx.stdout, 'restart containerd to load the runtime');
    return Promise.resolve(0);
  },
};
