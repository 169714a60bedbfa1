import { ShimError } from './errors.js';

/** The flags containerd passes a v2 shim (containerd runtime/v2/shim `parseFlags`). */
export interface ShimFlags {
  readonly namespace: string;
  readonly id: string;
  /** containerd's grpc address. */
  readonly address: string;
  readonly publishBinary: string;
  readonly bundle: string | undefined;
  /** Serve on this socket (the long-lived server process). */
  readonly socket: string | undefined;
  readonly debug: boolean;
  readonly version: boolean;
  /** `-info` (containerd 2.x): print a RuntimeInfo protobuf and exit. */
  readonly info: boolean;
  /** `start`, `delete`, or undefined for the server process. */
  readonly action: 'start' | 'delete' | undefined;
}

const STRING_FLAGS = {
  namespace: 'namespace',
  id: 'id',
  address: 'address',
  'publish-binary': 'publishBinary',
  bundle: 'bundle',
  socket: 'socket',
  'debug-socket': 'debugSocket',
} as const;
const BOOL_FLAGS = { debug: 'debug', v: 'version', version: 'version', info: 'info' } as const;

function usage(message: string): ShimError {
  return new ShimError('invalid_argument', 'ERR_SHIM_USAGE', message);
}

function parseBool(name: string, raw: string): boolean {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(raw)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(raw)) return false;
  throw usage(`invalid boolean value ${JSON.stringify(raw)} for flag -${name}`);
}

/**
 * Parses argv (without node and script) with Go `flag` semantics: `-name value`, `-name=value`,
 * `--name`, booleans without a value; flags end at the first non-flag argument or `--`.
 */
export function parseShimFlags(argv: readonly string[]): ShimFlags {
  const values: Record<string, string> = {};
  const bools: Record<string, boolean> = { debug: false, version: false, info: false };
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const inline = eq < 0 ? undefined : body.slice(eq + 1);
    if (name in BOOL_FLAGS) {
      bools[BOOL_FLAGS[name as keyof typeof BOOL_FLAGS]] =
        inline === undefined ? true : parseBool(name, inline);
      continue;
    }
    if (!(name in STRING_FLAGS)) throw usage(`flag provided but not defined: -${name}`);
    let value = inline;
    if (value === undefined) {
      value = argv[i + 1];
      if (value === undefined) throw usage(`flag needs an argument: -${name}`);
      i++;
    }
    values[STRING_FLAGS[name as keyof typeof STRING_FLAGS]] = value;
  }
  const rest = argv.slice(i);
  const action = rest[0];
  if (action !== undefined && action !== 'start' && action !== 'delete') {
    throw usage(`unknown shim action ${JSON.stringify(action)}: expected start or delete`);
  }
  return {
    namespace: values['namespace'] ?? '',
    id: values['id'] ?? '',
    address: values['address'] ?? '',
    publishBinary: values['publishBinary'] ?? '',
    bundle: values['bundle'],
    socket: values['socket'],
    debug: bools['debug'] ?? false,
    version: bools['version'] ?? false,
    info: bools['info'] ?? false,
    action,
  };
}

/** The argv that re-creates these flags for the server process (no action, `-socket`). */
export function serverArgv(flags: ShimFlags, socketPath: string): string[] {
  const argv = ['-namespace', flags.namespace, '-id', flags.id, '-address', flags.address];
  if (flags.publishBinary !== '') argv.push('-publish-binary', flags.publishBinary);
  if (flags.bundle !== undefined) argv.push('-bundle', flags.bundle);
  if (flags.debug) argv.push('-debug');
  argv.push('-socket', socketPath);
  return argv;
}

/** Fails unless the flags every action needs are there. */
export function requireFlags(flags: ShimFlags, ...names: ('namespace' | 'id' | 'address')[]): void {
  for (const n of names) if (flags[n] === '') throw usage(`missing required flag -${n}`);
}
