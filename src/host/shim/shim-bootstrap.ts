import { isAbsolute, join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  Any,
  BootstrapLogLevel,
  BootstrapParams,
  BootstrapResult,
  RuntimeInfo,
} from '#src/protocol/shim/index.js';
import { ShimError } from './errors.js';
import type { ShimFlags } from './shim-flags.js';

/** Upper bound of what `start` reads from stdin (runtime options or BootstrapParams are small). */
export const MAX_START_INPUT = 1 << 20;

/** sun_path holds 108 bytes with the NUL; the socket file name is 64 hex digits. */
const UNIX_PATH_MAX = 107;

/**
 * How `start` must answer, from what containerd gave it:
 * - `protobuf`: containerd ≥ 2.3 sent `BootstrapParams` on stdin and reads a `BootstrapResult`;
 * - `json`: containerd 1.7–2.2 (`MAX_SHIM_VERSION` ≥ 2) read `{"version","address","protocol"}`;
 * - `plain`: containerd 1.6 reads the bare address.
 */
export type StartAnswerFormat = 'protobuf' | 'json' | 'plain';

export interface StartProtocol {
  readonly format: StartAnswerFormat;
  /** Task API version the answer announces (2 or 3; both are served). */
  readonly version: 2 | 3;
  /** The decoded handshake of containerd ≥ 2.3. */
  readonly params?: BootstrapParams | undefined;
}

/** Reads stdin to its end (bounded); a terminal or a missing stdin gives nothing. */
export async function readStartInput(
  stdin: (Readable & { isTTY?: boolean }) | undefined,
  timeoutMs = 5_000,
): Promise<Buffer> {
  if (!stdin || stdin.isTTY === true) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  return new Promise<Buffer>((resolve, reject) => {
    const done = (err?: ShimError): void => {
      clearTimeout(timer);
      stdin.removeAllListeners('data');
      stdin.pause();
      if (err) reject(err);
      else resolve(Buffer.concat(chunks));
    };
    // containerd writes its bytes and closes; a writer that never closes only costs the timeout
    const timer = setTimeout(() => {
      done();
    }, timeoutMs);
    stdin.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_START_INPUT)
        done(
          new ShimError(
            'invalid_argument',
            'ERR_SHIM_BOOTSTRAP',
            `start: more than ${MAX_START_INPUT} bytes on stdin; containerd sends runtime options or BootstrapParams, both far smaller`,
          ),
        );
      else chunks.push(c);
    });
    stdin.once('end', () => {
      done();
    });
    stdin.once('error', () => {
      done();
    });
  });
}

/**
 * Decides the start protocol. stdin holds BootstrapParams only when it decodes as one AND names
 * the same instance and namespace as the flags (legacy runtime options, an `Any`, also decode as
 * a BootstrapParams with nonsense fields — containerd's own shims make the same check).
 */
export function detectStartProtocol(
  input: Uint8Array,
  flags: Pick<ShimFlags, 'id' | 'namespace'>,
  maxShimVersion: string | undefined,
): StartProtocol {
  if (input.length > 0) {
    let params: BootstrapParams | undefined;
    try {
      params = BootstrapParams.decode(input);
    } catch {
      params = undefined;
    }
    // a flag containerd left out (later releases may drop them) cannot contradict the params
    const same = (flag: string, param: string): boolean =>
      param !== '' && (flag === '' || flag === param);
    if (params && same(flags.id, params.instance_id) && same(flags.namespace, params.namespace))
      return { format: 'protobuf', version: 3, params };
  }
  const max = Number.parseInt(maxShimVersion ?? '', 10);
  if (!Number.isSafeInteger(max) || max < 2) return { format: 'plain', version: 2 };
  return { format: 'json', version: max >= 3 ? 3 : 2 };
}

/** The flags, completed from BootstrapParams where the command line left them out. */
export function flagsFromBootstrap(
  flags: ShimFlags,
  params: BootstrapParams | undefined,
): ShimFlags {
  if (!params) return flags;
  return {
    ...flags,
    id: flags.id || params.instance_id,
    namespace: flags.namespace || params.namespace,
    address: flags.address || params.containerd_grpc_address,
    publishBinary: flags.publishBinary || params.containerd_binary,
    debug: flags.debug || params.log_level <= BootstrapLogLevel.LOG_LEVEL_DEBUG,
  };
}

/** BootstrapParams.socket_dir, checked: absolute, no NUL, short enough for a unix socket. */
export function bootstrapSocketDir(params: BootstrapParams | undefined): string | undefined {
  const dir = params?.socket_dir;
  if (dir === undefined || dir === '') return undefined;
  const probe = join(dir, '0'.repeat(64));
  if (!isAbsolute(dir) || dir.includes('\0') || Buffer.byteLength(probe) > UNIX_PATH_MAX)
    throw new ShimError(
      'invalid_argument',
      'ERR_SHIM_BOOTSTRAP',
      `BootstrapParams.socket_dir ${JSON.stringify(dir)} must be an absolute folder short enough for <dir>/<64 hex> to fit a unix socket path (${UNIX_PATH_MAX} bytes)`,
    );
  return dir;
}

/** What `start` prints for `address` in the format containerd expects. */
export function encodeStartAnswer(address: string, p: StartProtocol): Uint8Array {
  switch (p.format) {
    case 'protobuf':
      return BootstrapResult.encode({
        version: p.version,
        address,
        protocol: 'ttrpc',
        capabilities: [],
        metadata: {},
      }).finish();
    case 'json':
      return Buffer.from(JSON.stringify({ version: p.version, address, protocol: 'ttrpc' }));
    case 'plain':
      return Buffer.from(address);
  }
}

/** The runtime name containerd knows this shim by. */
export const RUNTIME_NAME = 'io.containerd.kata-cc.v2';

/**
 * `-info` (containerd 2.x introspection): a RuntimeInfo naming the runtime and its version and
 * echoing the runtime options read from stdin (when they decode as an Any). No OCI features
 * document is claimed: containerd then assumes none of the optional features.
 */
export function encodeRuntimeInfo(version: string, stdin: Uint8Array): Uint8Array {
  let options: Any | undefined;
  if (stdin.length > 0) {
    try {
      options = Any.decode(stdin);
    } catch {
      options = undefined;
    }
  }
  return RuntimeInfo.encode({
    name: RUNTIME_NAME,
    version: { version, revision: '' },
    options,
    features: undefined,
    annotations: {},
  }).finish();
}
