import { describe, expect, test } from 'vitest';
import { parseShimFlags, serverArgv } from '#src/host/shim/index.js';

describe('parseShimFlags', () => {
  test('reads the flags containerd 1.6 passes to start', () => {
    const f = parseShimFlags([
      '-namespace',
      'default',
      '-address',
      '/run/containerd/containerd.sock',
      '-publish-binary',
      '/usr/bin/containerd',
      '-id',
      'c1',
      'start',
    ]);
    expect(f).toMatchObject({
      namespace: 'default',
      address: '/run/containerd/containerd.sock',
      publishBinary: '/usr/bin/containerd',
      id: 'c1',
      action: 'start',
      debug: false,
    });
  });

  test.each([
    [['-debug', '-id', 'x', 'delete'], { debug: true, action: 'delete' }],
    [['--debug=true', '--id=x'], { debug: true, action: undefined }],
    [
      ['-debug=false', '-bundle', '/b', '-socket', 'unix:///s'],
      { debug: false, bundle: '/b', socket: 'unix:///s' },
    ],
    [['-v'], { version: true }],
  ])('accepts Go flag syntax %j', (argv, expected) => {
    expect(parseShimFlags(argv)).toMatchObject(expected);
  });

  test.each([
    [['-nope', 'x'], 'flag provided but not defined: -nope'],
    [['-id'], 'flag needs an argument: -id'],
    [['-debug=maybe'], 'invalid boolean'],
    [['-id', 'x', 'explode'], 'unknown shim action'],
  ])('rejects %j with a usage error', (argv, message) => {
    expect(() => parseShimFlags(argv)).toThrow(
      expect.objectContaining({
        code: 'ERR_SHIM_USAGE',
        kind: 'invalid_argument',
        message: expect.stringContaining(message),
      }),
    );
  });

  test('the server argv round-trips without the action and with -socket', () => {
    const f = parseShimFlags([
      '-namespace',
      'n',
      '-id',
      'i',
      '-address',
      '/a',
      '-publish-binary',
      '/p',
      '-debug',
      'start',
    ]);
    const back = parseShimFlags(serverArgv(f, '/run/containerd/s/abc'));
    expect(back).toMatchObject({
      namespace: 'n',
      id: 'i',
      address: '/a',
      publishBinary: '/p',
      debug: true,
      socket: '/run/containerd/s/abc',
      action: undefined,
    });
  });
});
