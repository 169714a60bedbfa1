import { describe, expect, test } from 'vitest';
import { parseKbsConfig, parseListen } from '#attestation/config/index.js';

describe('parseKbsConfig', () => {
  test('applies defaults and resolves paths against the config file', () => {
    const c = parseKbsConfig(
      { store: { dir: 'store' }, attestation: { allow_sample: true } },
      '/etc/kbs',
    );
    expect(c).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      storeDir: '/etc/kbs/store',
      allowSample: true,
      tokenTtlSeconds: 300,
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  test.each([
    [{ http: { listne: 'x' } }, /http\.listne: unknown key/],
    [{ http: { listen: 'localhost' } }, /http\.listen: expected HOST:PORT/],
    [{ http: { tls_cert: 'a.pem' } }, /set both or neither/],
    [
      { attestation: { token_ttl_seconds: 1 } },
      /attestation\.token_ttl_seconds: expected integer 10\.\.86400/,
    ],
    [{ attestation: { allow_sample: 'yes' } }, /attestation\.allow_sample/],
    [{ extra: {} }, /extra: unknown key/],
  ])('rejects %j naming the key path', (raw, message) => {
    expect(() => parseKbsConfig(raw, '/')).toThrow(message);
  });

  test('parses IPv6 listen addresses', () => {
    expect(parseListen('[::1]:0', 'x')).toEqual({ host: '::1', port: 0 });
    expect(() => parseListen('1.2.3.4:70000', 'x')).toThrow(/HOST:PORT/);
  });

  test('reads [[admin.acl]] rules and refuses unanchored ones', () => {
    const acl = [{ role: 'secrets', allowed_endpoints: '^/kbs/v0/resource/.+$' }];
    expect(parseKbsConfig({ admin: { acl } }, '/').adminAcl).toEqual([
      { role: 'secrets', allowedEndpoints: '^/kbs/v0/resource/.+$' },
    ]);
    expect(() =>
      parseKbsConfig({ admin: { acl: [{ role: 'x', allowed_endpoints: '.*' }] } }, '/'),
    ).toThrow(/admin\.acl\[0\]\.allowed_endpoints: must be anchored/);
    expect(() => parseKbsConfig({ admin: { acl: [{ role: 'x' }] } }, '/')).toThrow(
      /admin\.acl\[0\]\.allowed_endpoints/,
    );
    expect(() => parseKbsConfig({ admin: { acl: 'x' } }, '/')).toThrow(/array of tables/);
  });
});
