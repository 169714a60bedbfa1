import { describe, expect, test } from 'vitest';
import {
  loadSignaturePolicy,
  parseImageSettings,
  parseRegistryAuthFile,
  type ResourceFetcher,
} from '#guest/image/index.js';

const enc = (s: string): Uint8Array => new Uint8Array(Buffer.from(s));

describe('parseImageSettings', () => {
  test('no cdh.toml: only the command-line registries', () => {
    expect(parseImageSettings(undefined, ['r:5000'])).toEqual({
      policyUri: undefined,
      credentialsUri: undefined,
      extraRootCertificates: [],
      insecureRegistries: ['r:5000'],
      ignoredKeys: [],
    });
  });

  test('reads the upstream [image] keys and reports the unsupported ones', () => {
    const s = parseImageSettings(
      [
        '[kbc]',
        'name = "cc_kbc"',
        '[image]',
        'image_security_policy_uri = "kbs:///default/security-policy/test"',
        'authenticated_registry_credentials_uri = "kbs:///default/credential/test"',
        'insecure_registries = ["10.0.0.1:5000", "10.0.0.1:5000"]',
        'max_concurrent_layer_downloads_per_image = 3',
      ].join('\n'),
      ['10.0.0.1:5000'],
    );
    expect(s.policyUri).toBe('kbs:///default/security-policy/test');
    expect(s.credentialsUri).toBe('kbs:///default/credential/test');
    expect(s.insecureRegistries).toEqual(['10.0.0.1:5000']);
    expect(s.ignoredKeys).toEqual(['max_concurrent_layer_downloads_per_image']);
  });

  test('reads registry_configuration_uri, or an inline [image.registry_config]', () => {
    const byUri = parseImageSettings(
      '[image]\nregistry_configuration_uri = "kbs:///default/registry-configuration/test"\n',
    );
    expect(byUri.registryConfigUri).toBe('kbs:///default/registry-configuration/test');
    expect(byUri.registryConfig).toBeUndefined();
    expect(byUri.ignoredKeys).toEqual([]);
    const inline = parseImageSettings(
      '[image]\n[[image.registry_config.registry]]\nlocation = "r.example"\n[[image.registry_config.registry.mirror]]\nlocation = "m.example"\n',
    );
    expect(inline.registryConfig?.registries[0]?.mirrors[0]?.location).toBe('m.example');
  });

  test.each([
    ['image = 3', /\[image\] must be a table/],
    [
      '[image]\nregistry_configuration_uri = "file:///etc/containers/registries.conf"',
      /kbs:\/\/\//,
    ],
    [
      '[image]\nregistry_configuration_uri = "kbs:///a/b/c"\n[image.registry_config]\nunqualified-search-registries = []',
      /not both/,
    ],
    [
      '[image]\n[[image.registry_config.registry]]\nlocaton = "r.example"',
      /^cdh\.toml image\.registry_config: registry\[0\]: unknown key "locaton"/,
    ],
    ['[image]\nimage_security_policy_uri = "https://evil/policy.json"', /kbs:\/\/\//],
    ['[image]\nimage_security_policy_uri = "kbs:///../../x"', /kbs:\/\/\//],
    ['[image]\ninsecure_registries = "r:5000"', /array of strings/],
    ['[image]\ninsecure_registries = ["http://r"]', /not a registry host/],
    ['[image]\nextra_root_certificates = ["not a pem"]', /is not valid/],
    ['[image', /not valid TOML/],
  ])('refuses %j', (toml, msg) => {
    expect(() => parseImageSettings(toml)).toThrow(msg);
  });
});

describe('parseRegistryAuthFile', () => {
  test('reads auth and username/password entries', () => {
    const lookup = parseRegistryAuthFile(
      enc(
        JSON.stringify({
          auths: {
            'r1:5000': { auth: Buffer.from('u1:p:w').toString('base64') },
            'https://r2': { username: 'u2', password: 'p2' },
          },
        }),
      ),
    );
    expect(lookup('r1:5000')?.username).toBe('u1');
    expect(lookup('r1:5000')?.password.reveal()).toBe('p:w');
    expect(lookup('r2')?.username).toBe('u2');
    expect(lookup('r3')).toBeUndefined();
    expect(JSON.stringify(lookup('r1:5000'))).not.toContain('p:w');
  });

  test.each([
    ['nope', /not JSON/],
    ['{}', /expected \{"auths"/],
    ['{"auths":{"r":{"auth":"bm9jb2xvbg=="}}}', /not base64\(user:password\)/],
    ['{"auths":{"r":{}}}', /need "auth"/],
    ['{"auths":{"r":3}}', /expected an object/],
  ])('refuses %j', (text, msg) => {
    expect(() => parseRegistryAuthFile(enc(text))).toThrow(msg);
  });
});

describe('loadSignaturePolicy', () => {
  const fetcher = (table: Record<string, string>): ResourceFetcher & { asked: string[] } => {
    const asked: string[] = [];
    return {
      asked,
      getResource(uri) {
        asked.push(uri);
        const v = table[uri];
        return v === undefined ? Promise.reject(new Error(`no ${uri}`)) : Promise.resolve(enc(v));
      },
    };
  };

  test('fetches the policy and the kbs:/// keys it names', async () => {
    const f = fetcher({
      'kbs:///default/policy/1': JSON.stringify({
        default: [{ type: 'reject' }],
        transports: {
          docker: {
            'r:5000/app': [
              {
                type: 'sigstoreSigned',
                keyPath: 'kbs:///default/cosign/1',
              },
            ],
          },
        },
      }),
      'kbs:///default/cosign/1':
        '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE1X8wnrIe6zHh2M+8t5aMn5p1qk0s\nn3HqBcj3Q4i0u3Ff0c0Z9X4m5Zk9k2rQ1yQv4m3jv5X+5hV5aYQ4a9b8Xw==\n-----END PUBLIC KEY-----\n',
    });
    const p = await loadSignaturePolicy('kbs:///default/policy/1', f).catch((e: unknown) => e);
    expect(f.asked).toEqual(['kbs:///default/policy/1', 'kbs:///default/cosign/1']);
    // the key bytes above are not a valid EC point: parsing may refuse them, but only after fetching
    expect(p).toBeDefined();
  });

  test('refuses a policy that is not JSON and a keyPath on the guest filesystem', async () => {
    await expect(
      loadSignaturePolicy('kbs:///default/policy/2', fetcher({ 'kbs:///default/policy/2': '{' })),
    ).rejects.toThrow(/not JSON/);
    await expect(
      loadSignaturePolicy(
        'kbs:///default/policy/3',
        fetcher({
          'kbs:///default/policy/3': JSON.stringify({
            default: [{ type: 'sigstoreSigned', keyPath: '/etc/key.pub' }],
          }),
        }),
      ),
    ).rejects.toThrow(/cannot read key \/etc\/key.pub/);
  });

  test('parses a reject-all policy', async () => {
    const p = await loadSignaturePolicy(
      'kbs:///default/policy/4',
      fetcher({ 'kbs:///default/policy/4': '{"default":[{"type":"reject"}]}' }),
    );
    expect(p).toBeDefined();
  });
});
