import { describe, expect, test } from 'vitest';
import {
  formatImageReference,
  parseImageReference,
  parseRegistriesConf,
  pullSourcesOf,
  shortNameCandidates,
  shortNameOf,
} from '#src/oci/index.js';

const CONF = parseRegistriesConf(
  `
unqualified-search-registries = ["docker.io", "example1.com"]

[aliases]
"pinned" = "quay.example/team/pinned"

[[registry]]
prefix = "example.com/banned"
blocked = true

[[registry]]
prefix = "example.com/foo"
location = "internal-registry-for-example.com/bar"
insecure = true

[[registry.mirror]]
location = "example-mirror-0.local/mirror-for-foo"

[[registry.mirror]]
location = "example-mirror-1.local/mirrors/foo"
insecure = true

[[registry]]
location = "docker.io"

[[registry.mirror]]
location = "123456.mirror.example"

[[registry]]
location = "digests.example"
mirror-by-digest-only = true
[[registry.mirror]]
location = "dmirror.example"

[[registry]]
location = "mixed.example"
[[registry.mirror]]
location = "tags.example"
pull-from-mirror = "tag-only"
[[registry.mirror]]
location = "digs.example"
pull-from-mirror = "digest-only"

[[registry]]
prefix = "*.corp.example"
[[registry.mirror]]
location = "corp-mirror.example:5000/cache"
insecure = true
`,
  'rc',
);

const D = `sha256:${'a'.repeat(64)}`;
const sources = (name: string): [string, boolean, boolean][] =>
  pullSourcesOf(CONF, parseImageReference(name)).map((s) => [
    formatImageReference(s.reference),
    s.insecure,
    s.mirror,
  ]);

describe('pullSourcesOf', () => {
  test('mirrors in order, then the remapped location', () => {
    expect(sources('example.com/foo/image:latest')).toEqual([
      ['example-mirror-0.local/mirror-for-foo/image:latest', false, true],
      ['example-mirror-1.local/mirrors/foo/image:latest', true, true],
      ['internal-registry-for-example.com/bar/image:latest', true, false],
    ]);
  });

  test('a name no table matches is pulled as it is', () => {
    expect(sources('other.example/x:1')).toEqual([['other.example/x:1', false, false]]);
  });

  test('prefixes match whole path components, and a bare host does not match another port', () => {
    expect(sources('example.com/foobar/x:1')).toEqual([['example.com/foobar/x:1', false, false]]);
    expect(sources('docker.io:5000/x:1')).toEqual([['docker.io:5000/x:1', false, false]]);
  });

  test('a blocked prefix is permission_denied naming the rule and the config', () => {
    expect(() => sources('example.com/banned/image:tag')).toThrow(
      expect.objectContaining({
        code: 'ERR_OCI_BLOCKED',
        kind: 'permission_denied',
        message: expect.stringMatching(
          /^pulling example\.com\/banned\/image:tag is blocked by the registry configuration rc \(\[\[registry\]\] prefix "example\.com\/banned"/,
        ),
      }),
    );
    expect(sources('example.com/banned-suffix/image:tag')).toHaveLength(1);
  });

  test('docker.io mirrors keep the library/ namespace; a digest is kept', () => {
    expect(sources(`busybox@${D}`)).toEqual([
      [`123456.mirror.example/library/busybox@${D}`, false, true],
      [`docker.io/library/busybox@${D}`, false, false],
    ]);
  });

  test('mirror-by-digest-only and pull-from-mirror pick the mirrors per reference kind', () => {
    expect(sources('digests.example/a:1').map((s) => s[0])).toEqual(['digests.example/a:1']);
    expect(sources(`digests.example/a@${D}`).map((s) => s[0])).toEqual([
      `dmirror.example/a@${D}`,
      `digests.example/a@${D}`,
    ]);
    expect(sources('mixed.example/a:1').map((s) => s[0])).toEqual([
      'tags.example/a:1',
      'mixed.example/a:1',
    ]);
    expect(sources(`mixed.example/a@${D}`).map((s) => s[0])).toEqual([
      `digs.example/a@${D}`,
      `mixed.example/a@${D}`,
    ]);
  });

  test('a wildcard table matches subdomains (with a port) and rewrites only through its mirrors', () => {
    expect(sources('reg.corp.example:443/app/x:2')).toEqual([
      ['corp-mirror.example:5000/cache/app/x:2', true, true],
      ['reg.corp.example:443/app/x:2', false, false],
    ]);
    expect(sources('corp.example/app:2')).toHaveLength(1);
  });
});

describe('shortNameOf and shortNameCandidates', () => {
  test.each([
    ['busybox', 'busybox'],
    ['team/app:1', 'team/app'],
    [`app@${D}`, 'app'],
    ['docker.io/library/busybox', undefined],
    ['localhost/app', undefined],
    ['r.example:5000/app:1', undefined],
  ])('shortNameOf(%j) = %j', (raw, name) => {
    expect(shortNameOf(raw)).toBe(name);
  });

  test('search registries in order; docker.io keeps library/; aliases win', () => {
    const ref = parseImageReference('bar:tag');
    expect(shortNameCandidates(CONF, 'bar', ref).map(formatImageReference)).toEqual([
      'docker.io/library/bar:tag',
      'example1.com/bar:tag',
    ]);
    expect(
      shortNameCandidates(CONF, 'pinned', parseImageReference('pinned:3')).map(
        formatImageReference,
      ),
    ).toEqual(['quay.example/team/pinned:3']);
  });

  test('without search registries a short name is Docker Hub', () => {
    const ref = parseImageReference('bar');
    expect(shortNameCandidates(parseRegistriesConf(''), 'bar', ref)).toEqual([ref]);
  });
});
