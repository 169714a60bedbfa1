import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { KbsClient, sampleEvidenceProvider, signAdminToken } from '#src/protocol/kbs/index.js';
import { startKbs, type TestKbs } from '#test/helpers/kbs.js';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';
import { tmpdir } from '#test/helpers/tmpdir.js';

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
if (!hasOpenssl) console.log('skipping KBS TLS test: openssl is not installed');

let kbs: TestKbs | undefined;
let dir: { path: string; remove(): void } | undefined;
afterEach(async () => {
  await kbs?.stop();
  dir?.remove();
});

describe('KBS over TLS', () => {
  test.skipIf(!hasOpenssl)(
    'serves the RCAR over https to a client that trusts the certificate',
    async () => {
      dir = tmpdir('kata-cc-kbs-tls-');
      const cert = join(dir.path, 'cert.pem');
      const key = join(dir.path, 'key.pem');
      const r = spawnSync('openssl', [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        key,
        '-out',
        cert,
      ]);
      expect(r.status, r.stderr.toString()).toBe(0);
      kbs = await startKbs({ tls: { certFile: cert, keyFile: key } });
      expect(kbs.url).toMatch(/^https:\/\//);
      const caPem = readFileSync(cert, 'utf8');
      const admin = new KbsClient({ url: kbs.url, caPem });
      const policy = readFileSync(join(PROJECT_ROOT, 'policies', 'kbs', 'allow-affirming.rego'));
      const token = signAdminToken(kbs.adminPrivateKey);
      await admin.admin(
        'POST',
        '/resource-policy',
        token,
        JSON.stringify({ policy: policy.toString('base64') }),
      );
      await admin.admin(
        'POST',
        '/reference-value',
        token,
        JSON.stringify({ name: 'sample.svn', values: ['1'] }),
      );
      await admin.admin('POST', '/resource/default/key/1', token, new TextEncoder().encode('tls'));
      const client = new KbsClient({ url: kbs.url, caPem });
      await client.attest(sampleEvidenceProvider());
      expect(new TextDecoder().decode(await client.getResource('default/key/1'))).toBe('tls');
      // A client that does not trust the certificate cannot even start.
      await expect(
        new KbsClient({ url: kbs.url }).attest(sampleEvidenceProvider()),
      ).rejects.toMatchObject({ code: 'ERR_KBS_HTTP', kind: 'unavailable' });
    },
  );
});
