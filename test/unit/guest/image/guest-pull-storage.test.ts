import { describe, expect, test } from 'vitest';
import { GUEST_PULL_OPTION, parseGuestPullStorage } from '#guest/image/index.js';
import type { StorageSpec } from '#guest/sandbox/index.js';

const ROOT = '/run/kata-containers';
const CID = 'c0ffee';

function spec(over: Partial<StorageSpec> = {}): StorageSpec {
  return {
    driver: 'image_guest_pull',
    source: '10.88.0.1:5000/app:v1',
    fstype: 'overlay',
    options: [],
    driverOptions: [
      `${GUEST_PULL_OPTION}=${JSON.stringify({ metadata: { 'io.kubernetes.cri.image-name': '10.88.0.1:5000/app:v1' } })}`,
    ],
    mountPoint: `${ROOT}/${CID}/rootfs`,
    ...over,
  };
}

describe('parseGuestPullStorage', () => {
  test('accepts the Kata shape and normalizes the reference', () => {
    const r = parseGuestPullStorage(spec(), CID, ROOT);
    expect(r.reference).toMatchObject({
      registry: '10.88.0.1:5000',
      repository: 'app',
      tag: 'v1',
    });
    expect(r.mountPoint).toBe(`${ROOT}/${CID}/rootfs`);
    expect(r.metadata['io.kubernetes.cri.image-name']).toBe('10.88.0.1:5000/app:v1');
  });

  test('accepts missing or empty metadata', () => {
    expect(parseGuestPullStorage(spec({ driverOptions: [] }), CID, ROOT).metadata).toEqual({});
    expect(
      parseGuestPullStorage(spec({ driverOptions: [`${GUEST_PULL_OPTION}={}`] }), CID, ROOT)
        .metadata,
    ).toEqual({});
  });

  test.each([
    ['/run/kata-containers/other/rootfs', 'another container'],
    ['/run/kata-containers/c0ffee/rootfs/../../x/rootfs', 'dot-dot'],
    ['/run/kata-containers/c0ffee/./rootfs', 'dot'],
    ['/run/kata-containers/c0ffee/rootfs/', 'trailing slash'],
    ['/etc', 'a host path'],
    ['/run/kata-containers/c0ffee', 'the container dir itself'],
    ['run/kata-containers/c0ffee/rootfs', 'relative'],
    ['/run/kata-containers/c0ffee/rootfs\0', 'NUL'],
  ])('refuses mount point %j (%s)', (mountPoint) => {
    expect(() => parseGuestPullStorage(spec({ mountPoint }), CID, ROOT)).toThrow(
      expect.objectContaining({ code: 'ERR_IMAGE_STORAGE', kind: 'invalid_argument' }),
    );
  });

  test.each([
    '',
    'pause',
    'UPPER/Case',
    'a b',
    'host:99999999/x',
    `x/${'a'.repeat(300)}`,
    'x@sha256:12',
  ])('refuses source %j', (source) => {
    expect(() => parseGuestPullStorage(spec({ source }), CID, ROOT)).toThrow(
      expect.objectContaining({ code: 'ERR_IMAGE_STORAGE' }),
    );
  });

  test.each([
    [[`${GUEST_PULL_OPTION}=not json`], /is not JSON/],
    [[`${GUEST_PULL_OPTION}=[]`], /must be a JSON object/],
    [[`${GUEST_PULL_OPTION}={"metadata":[]}`], /metadata must be an object/],
    [[`${GUEST_PULL_OPTION}={"metadata":{"a":1}}`], /must be a string/],
    [[`${GUEST_PULL_OPTION}={}`, `${GUEST_PULL_OPTION}={}`], /more than once/],
    [[`${GUEST_PULL_OPTION}=${'x'.repeat(70_000)}`], /larger than/],
  ])('refuses driver options %#', (driverOptions, msg) => {
    expect(() => parseGuestPullStorage(spec({ driverOptions }), CID, ROOT)).toThrow(msg);
  });

  test('refuses a source that differs from the image-name metadata', () => {
    expect(() =>
      parseGuestPullStorage(spec({ source: '10.88.0.1:5000/other:v1' }), CID, ROOT),
    ).toThrow(/differs from the io.kubernetes.cri.image-name/);
  });

  test('refuses a hostile container id', () => {
    expect(() => parseGuestPullStorage(spec(), '../x', ROOT)).toThrow();
  });
});
