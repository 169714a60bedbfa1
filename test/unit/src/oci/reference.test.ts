import { describe, expect, test } from 'vitest';
import { formatImageReference, manifestReferenceOf, parseImageReference } from '#src/oci/index.js';

const D = `sha256:${'a'.repeat(64)}`;

describe('parseImageReference', () => {
  test.each([
    ['busybox', 'docker.io/library/busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36'],
    ['library/busybox', 'docker.io/library/busybox:latest'],
    ['docker.io/busybox', 'docker.io/library/busybox:latest'],
    ['index.docker.io/library/busybox:x', 'docker.io/library/busybox:x'],
    ['user/app', 'docker.io/user/app:latest'],
    ['quay.io/org/sub/app:v1.2_3-rc', 'quay.io/org/sub/app:v1.2_3-rc'],
    ['localhost/app', 'localhost/app:latest'],
    ['localhost:5000/app', 'localhost:5000/app:latest'],
    ['127.0.0.1:5000/a/b:t', '127.0.0.1:5000/a/b:t'],
    [`127.0.0.1:5000/a@${D}`, `127.0.0.1:5000/a@${D}`],
    [`reg.example.com/a:t@${D}`, `reg.example.com/a:t@${D}`],
    ['my-app__x.y', 'docker.io/library/my-app__x.y:latest'],
  ])('normalizes %s to %s', (raw, want) => {
    expect(formatImageReference(parseImageReference(raw))).toBe(want);
  });

  test('splits registry, repository, tag and digest', () => {
    expect(parseImageReference(`127.0.0.1:5000/ns/app:v1@${D}`)).toEqual({
      registry: '127.0.0.1:5000',
      repository: 'ns/app',
      tag: 'v1',
      digest: D,
    });
  });

  test('a digest-only reference has no tag and asks for the digest', () => {
    const ref = parseImageReference(`busybox@${D}`);
    expect(ref.tag).toBeUndefined();
    expect(manifestReferenceOf(ref)).toBe(D);
  });

  test.each([
    ['', 'empty'],
    ['Busybox', 'lower-case'],
    ['docker.io/Library/busybox', 'lower-case'],
    ['busybox:', 'tag'],
    ['busybox:-bad', 'tag'],
    [`busybox:${'x'.repeat(129)}`, 'tag'],
    ['busybox@sha256:abc', 'digest'],
    [`busybox@sha256:${'A'.repeat(64)}`, '64 lower-case'],
    ['a//b', 'component'],
    ['a/../b', 'component'],
    ['reg:99999999/a', 'host'],
    ['-bad.example.com/a', 'host'],
    ['x'.repeat(5000), '4096'],
  ])('refuses %j (%s)', (raw, why) => {
    expect(() => parseImageReference(raw)).toThrow(
      expect.objectContaining({
        code: 'ERR_OCI_REFERENCE',
        message: expect.stringContaining(why) as string,
      }),
    );
  });
});
