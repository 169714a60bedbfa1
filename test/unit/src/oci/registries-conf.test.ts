import { describe, expect, test } from 'vitest';
import { parseRegistriesConf } from '#src/oci/index.js';

const UPSTREAM_EXAMPLE = `
unqualified-search-registries = ["example.com"]

[[registry]]
prefix = "example.com/foo"
insecure = false
blocked = false
location = "internal-registry-for-example.com/bar"

[[registry.mirror]]
location = "example-mirror-0.local/mirror-for-foo"

[[registry.mirror]]
location = "example-mirror-1.local/mirrors/foo"
insecure = true
`;

describe('parseRegistriesConf', () => {
  test('reads the man page example', () => {
    const c = parseRegistriesConf(UPSTREAM_EXAMPLE, 'kbs:///default/registry-configuration/test');
    expect(c.unqualifiedSearchRegistries).toEqual(['example.com']);
    expect(c.registries).toEqual([
      {
        prefix: 'example.com/foo',
        location: 'internal-registry-for-example.com/bar',
        insecure: false,
        blocked: false,
        mirrorByDigestOnly: false,
        mirrors: [
          {
            location: 'example-mirror-0.local/mirror-for-foo',
            insecure: false,
            pullFromMirror: 'all',
          },
          { location: 'example-mirror-1.local/mirrors/foo', insecure: true, pullFromMirror: 'all' },
        ],
      },
    ]);
    expect(c.ignoredKeys).toEqual([]);
  });

  test('an empty document is a valid config with no rules', () => {
    expect(parseRegistriesConf('')).toMatchObject({
      registries: [],
      unqualifiedSearchRegistries: [],
    });
  });

  test('prefix and location default to each other (as image-rs), a wildcard keeps no location', () => {
    const c = parseRegistriesConf(
      '[[registry]]\nlocation = "r.example:5000/ns/"\n[[registry]]\nprefix = "*.corp.example"\ninsecure = true\n[[registry]]\nprefix = "b.example/banned"\nblocked = true\n',
    );
    expect(c.registries.map((r) => [r.prefix, r.location, r.insecure, r.blocked])).toEqual([
      ['r.example:5000/ns', 'r.example:5000/ns', false, false],
      ['*.corp.example', '', true, false],
      ['b.example/banned', 'b.example/banned', false, true],
    ]);
  });

  test('reads pull-from-mirror, mirror-by-digest-only, aliases and ignores helper keys', () => {
    const c = parseRegistriesConf(
      [
        'short-name-mode = "enforcing"',
        'credential-helpers = ["x"]',
        '[aliases]',
        '"app" = "quay.example/team/app"',
        '[[registry]]',
        'location = "a.example"',
        'mirror-by-digest-only = true',
        '[[registry.mirror]]',
        'location = "m.example"',
        '[[registry]]',
        'location = "b.example"',
        '[[registry.mirror]]',
        'location = "m2.example"',
        'pull-from-mirror = "tag-only"',
      ].join('\n'),
    );
    expect(c.aliases).toEqual({ app: 'quay.example/team/app' });
    expect(c.registries[0]?.mirrorByDigestOnly).toBe(true);
    expect(c.registries[1]?.mirrors[0]?.pullFromMirror).toBe('tag-only');
    expect(c.ignoredKeys).toEqual(['short-name-mode', 'credential-helpers']);
  });

  test.each([
    ['[[registry]\nlocation = "a"', /^rc: not valid TOML/],
    ['bogus = 1', /^rc: unknown key "bogus"/],
    ['[registries.search]\nregistries = ["a.example"]', /version 1 format .* not supported/],
    ['registry = 3', /registry: expected \[\[registry\]\] tables/],
    [
      '\n\n[[registry]]\nlocation = "a.example"\nmirrors = []',
      /^rc: registry\[0\] \(line 3\): unknown key "mirrors"/,
    ],
    ['[[registry]]\ninsecure = true', /registry\[0\] \(line 1\): needs a prefix or a location/],
    [
      '[[registry]]\nlocation = "https://a.example"',
      /registry\[0\] \(line 1\)\.location: .*URI schemes are not allowed/,
    ],
    [
      '[[registry]]\nlocation = "a.example"\ninsecure = "yes"',
      /\.insecure: expected true or false/,
    ],
    ['[[registry]]\nlocation = "nodots/x"', /is not host\[:port\]\[\/namespace…\]/],
    [
      '[[registry]]\nlocation = "a.example/UPPER"',
      /location: "a.example\/UPPER": invalid image reference/,
    ],
    [
      '[[registry]]\nprefix = "*.a.example/x"\nlocation = "b.example"',
      /a wildcard is only allowed as a whole prefix/,
    ],
    ['[[registry]]\nlocation = "*.a.example"', /a wildcard is only allowed/],
    [
      '[[registry]]\nlocation = "a.example"\n\n[[registry.mirror]]\ninsecure = true',
      /registry\[0\] \(line 1\)\.mirror\[0\] \(line 4\)\.location: a mirror needs a location/,
    ],
    [
      '[[registry]]\nlocation = "a.example"\n[[registry.mirror]]\nlocation = "m.example"\npull-from-mirror = "sometimes"',
      /pull-from-mirror: expected "all", "digest-only" or "tag-only"/,
    ],
    [
      '[[registry]]\nlocation = "a.example"\nmirror-by-digest-only = true\n[[registry.mirror]]\nlocation = "m.example"\npull-from-mirror = "all"',
      /cannot be combined with the registry's mirror-by-digest-only/,
    ],
    [
      '[[registry]]\nlocation = "a.example"\n[[registry]]\nprefix = "a.example"\nlocation = "b.example"',
      /registry\[1\]: prefix "a.example" is already used by registry\[0\]/,
    ],
    ['unqualified-search-registries = "a.example"', /expected an array of host\[:port\]/],
    [
      'unqualified-search-registries = ["a.example/ns"]',
      /\[0\]: "a.example\/ns" is not a registry host/,
    ],
    ['[aliases]\n"q.example/app" = "r.example/app"', /must be a short name/],
    ['[aliases]\n"app" = "r.example/app:1"', /must be registry\/name without tag or digest/],
    ['[aliases]\n"app" = "app2"', /must be registry\/name/],
  ])('refuses %j', (text, msg) => {
    expect(() => parseRegistriesConf(text, 'rc')).toThrow(
      expect.objectContaining({
        code: 'ERR_OCI_REGISTRIES_CONF',
        kind: 'invalid_argument',
        message: expect.stringMatching(msg),
      }),
    );
  });
});
