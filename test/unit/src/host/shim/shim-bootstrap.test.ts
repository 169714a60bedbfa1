import { PassThrough } from 'node:stream';
import { describe, expect, test } from 'vitest';
import {
  bootstrapSocketDir,
  detectStartProtocol,
  encodeRuntimeInfo,
  encodeStartAnswer,
  flagsFromBootstrap,
  MAX_START_INPUT,
  parseShimFlags,
  readStartInput,
  RUNTIME_NAME,
} from '#src/host/shim/index.js';
import {
  Any,
  BootstrapLogLevel,
  BootstrapParams,
  BootstrapResult,
  RuncOptions,
  RuntimeInfo,
} from '#src/protocol/shim/index.js';

const FLAGS = parseShimFlags([
  '-namespace',
  'k8s.io',
  '-id',
  'pod-1',
  '-address',
  '/c.sock',
  'start',
]);

function params(extra: Partial<BootstrapParams> = {}): Uint8Array {
  return BootstrapParams.encode(
    BootstrapParams.fromPartial({
      instance_id: 'pod-1',
      namespace: 'k8s.io',
      log_level: BootstrapLogLevel.LOG_LEVEL_INFO,
      containerd_version: '2.3.0',
      containerd_ttrpc_address: '/c.sock.ttrpc',
      containerd_grpc_address: '/c.sock',
      containerd_binary: '/usr/bin/containerd',
      ...extra,
    }),
  ).finish();
}

/** containerd ≤ 2.2 runtime options on stdin: an Any wrapping the runc Options. */
const LEGACY_OPTIONS = Any.encode({
  type_url: 'containerd.runc.v1.Options',
  value: Buffer.from(
    RuncOptions.encode(
      RuncOptions.fromPartial({ binary_name: 'runc', systemd_cgroup: true }),
    ).finish(),
  ),
}).finish();

describe('detectStartProtocol', () => {
  test.each([
    ['2.3 BootstrapParams', params(), '2', { format: 'protobuf', version: 3 }],
    [
      '2.3 BootstrapParams without MAX_SHIM_VERSION',
      params(),
      undefined,
      { format: 'protobuf', version: 3 },
    ],
    ['1.7–2.2 runtime options', LEGACY_OPTIONS, '2', { format: 'json', version: 2 }],
    ['1.7–2.2 without options', new Uint8Array(0), '2', { format: 'json', version: 2 }],
    ['a future MAX_SHIM_VERSION', new Uint8Array(0), '3', { format: 'json', version: 3 }],
    ['1.6 runtime options', LEGACY_OPTIONS, undefined, { format: 'plain', version: 2 }],
    ['1.6 without options', new Uint8Array(0), undefined, { format: 'plain', version: 2 }],
    ['garbage MAX_SHIM_VERSION', new Uint8Array(0), 'two', { format: 'plain', version: 2 }],
    [
      'params for another instance',
      params({ instance_id: 'pod-2' }),
      '2',
      { format: 'json', version: 2 },
    ],
    [
      'params for another namespace',
      params({ namespace: 'default' }),
      '2',
      { format: 'json', version: 2 },
    ],
    [
      'bytes that are not protobuf',
      Buffer.from([0xff, 0xff, 0xff, 0xff]),
      '2',
      { format: 'json', version: 2 },
    ],
    ['truncated params', params().subarray(0, 5), '2', { format: 'json', version: 2 }],
  ])('%s → %o', (_what, input, max, want) => {
    expect(detectStartProtocol(input, FLAGS, max)).toMatchObject(want);
  });

  test('takes identity from the params when the command line leaves it out', () => {
    const bare = parseShimFlags(['start']);
    const p = detectStartProtocol(params(), bare, undefined);
    expect(p.format).toBe('protobuf');
    const flags = flagsFromBootstrap(bare, p.params);
    expect(flags).toMatchObject({
      id: 'pod-1',
      namespace: 'k8s.io',
      address: '/c.sock',
      publishBinary: '/usr/bin/containerd',
      debug: false,
    });
  });

  test('a debug or trace log level turns on -debug; the command line wins over params', () => {
    const p = detectStartProtocol(
      params({ log_level: BootstrapLogLevel.LOG_LEVEL_TRACE }),
      FLAGS,
      '2',
    );
    expect(flagsFromBootstrap(FLAGS, p.params)).toMatchObject({ debug: true, address: '/c.sock' });
    expect(flagsFromBootstrap(FLAGS, undefined)).toBe(FLAGS);
  });
});

describe('encodeStartAnswer', () => {
  const address = 'unix:///run/containerd/s/abc';

  test('protobuf: a BootstrapResult containerd ≥ 2.3 decodes', () => {
    const bytes = encodeStartAnswer(address, { format: 'protobuf', version: 3 });
    expect(BootstrapResult.decode(bytes)).toMatchObject({ version: 3, address, protocol: 'ttrpc' });
  });

  test('json: the shape containerd 1.7–2.2 unmarshal', () => {
    const text = Buffer.from(encodeStartAnswer(address, { format: 'json', version: 2 })).toString();
    expect(JSON.parse(text)).toEqual({ version: 2, address, protocol: 'ttrpc' });
  });

  test('plain: just the address', () => {
    expect(
      Buffer.from(encodeStartAnswer(address, { format: 'plain', version: 2 })).toString(),
    ).toBe(address);
  });
});

describe('bootstrapSocketDir', () => {
  test.each([
    ['absent', undefined, undefined],
    ['empty', '', undefined],
    ['a short absolute folder', '/run/c/s', '/run/c/s'],
  ])('%s', (_what, dir, want) => {
    const p = BootstrapParams.fromPartial(dir === undefined ? {} : { socket_dir: dir });
    expect(bootstrapSocketDir(p)).toBe(want);
  });

  test.each([
    ['relative', 'run/s'],
    ['too long for sun_path', `/${'d'.repeat(50)}`],
    ['with NUL', '/run/\0s'],
  ])('refuses a %s folder with ERR_SHIM_BOOTSTRAP', (_what, dir) => {
    expect(() => bootstrapSocketDir(BootstrapParams.fromPartial({ socket_dir: dir }))).toThrow(
      expect.objectContaining({ code: 'ERR_SHIM_BOOTSTRAP', kind: 'invalid_argument' }),
    );
  });
});

describe('readStartInput', () => {
  test('reads what containerd wrote up to end of file', async () => {
    const s = new PassThrough();
    s.end(Buffer.from('abc'));
    expect((await readStartInput(s)).toString()).toBe('abc');
  });

  test('reads nothing from a terminal or a missing stdin', async () => {
    const tty = Object.assign(new PassThrough(), { isTTY: true });
    expect(await readStartInput(tty)).toHaveLength(0);
    expect(await readStartInput(undefined)).toHaveLength(0);
  });

  test('a writer that never closes costs only the timeout', async () => {
    const s = new PassThrough();
    s.write(Buffer.from('partial'));
    expect((await readStartInput(s, 50)).toString()).toBe('partial');
  });

  test('refuses more than the bound instead of buffering it', async () => {
    const s = new PassThrough();
    const reading = readStartInput(s);
    s.write(Buffer.alloc(MAX_START_INPUT));
    s.write(Buffer.alloc(1));
    await expect(reading).rejects.toMatchObject({ code: 'ERR_SHIM_BOOTSTRAP' });
  });
});

describe('encodeRuntimeInfo (-info)', () => {
  test('names the runtime and its version and echoes the runtime options', () => {
    const info = RuntimeInfo.decode(encodeRuntimeInfo('0.1.0', LEGACY_OPTIONS));
    expect(info.name).toBe(RUNTIME_NAME);
    expect(info.version).toEqual({ version: '0.1.0', revision: '' });
    expect(info.options?.type_url).toBe('containerd.runc.v1.Options');
    expect(info.features).toBeUndefined();
  });

  test('without options, or with bytes that are not an Any, claims none', () => {
    expect(
      RuntimeInfo.decode(encodeRuntimeInfo('0.1.0', new Uint8Array(0))).options,
    ).toBeUndefined();
    expect(
      RuntimeInfo.decode(encodeRuntimeInfo('0.1.0', Buffer.from([0xff, 0xff]))).options,
    ).toBeUndefined();
  });
});
