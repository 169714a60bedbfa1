import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  COSIGN_PAYLOAD_MEDIA_TYPE,
  COSIGN_SIGNATURE_ANNOTATION,
  cosignSignatureTag,
  encodeSimpleSigningPayload,
  parseSignaturePolicy,
  pullImage,
} from '#src/oci/index.js';
import { createServer, type Server } from 'node:http';
import { generateKey, readPrivateKey } from 'openpgp';
import { signSimpleSigning } from '#src/oci/index.js';
import { buildImage, pushImage, tempDir } from '#test/helpers/images.js';
import {
  getManifest,
  putManifest,
  registryUnavailableReason,
  startRegistry,
  uploadBlob,
  type TestRegistry,
} from '#test/helpers/registry.js';

const skip = registryUnavailableReason();
if (skip) console.log(`skipping OCI policy integration tests: ${skip}`);

function ecKeys(): { priv: KeyObject; pubPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { priv: privateKey, pubPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** Signs like `cosign sign --key`: a simple-signing payload layer under the sha256-<hex>.sig tag. */
async function cosignSign(
  reg: TestRegistry,
  repo: string,
  tag: string,
  key: KeyObject,
  digestOverride?: string,
): Promise<void> {
  const { digest } = await getManifest(reg, repo, tag);
  const payload = encodeSimpleSigningPayload(`${reg.host}/${repo}`, digestOverride ?? digest);
  const signature = sign('sha256', payload, key).toString('base64');
  const config = Buffer.from('{}');
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: await uploadBlob(reg, repo, config),
      size: config.length,
    },
    layers: [
      {
        mediaType: COSIGN_PAYLOAD_MEDIA_TYPE,
        digest: await uploadBlob(reg, repo, payload),
        size: payload.length,
        annotations: { [COSIGN_SIGNATURE_ANNOTATION]: signature },
      },
    ],
  };
  await putManifest(
    reg,
    repo,
    cosignSignatureTag(digest),
    Buffer.from(JSON.stringify(manifest)),
    manifest.mediaType,
  );
}

describe.skipIf(skip !== undefined)(
  'signature policy (containers-policy.json) against a real registry',
  () => {
    let reg: TestRegistry;
    const trusted = ecKeys();
    const stranger = ecKeys();

    beforeAll(async () => {
      reg = await startRegistry();
      const img = await buildImage({
        layers: [[{ kind: 'file', path: 'etc/signed', content: 'yes\n' }]],
      });
      await pushImage(img, reg.host, 'signed:1');
      await pushImage(img, reg.host, 'unsigned:1');
      await pushImage(img, reg.host, 'foreign:1');
      await pushImage(img, reg.host, 'wrongdigest:1');
      await cosignSign(reg, 'signed', '1', trusted.priv);
      await cosignSign(reg, 'foreign', '1', stranger.priv);
      await cosignSign(reg, 'wrongdigest', '1', trusted.priv, `sha256:${'0'.repeat(64)}`);
    }, 600_000);

    afterAll(async () => {
      await reg.stop();
    });

    const sigstore = (): unknown => ({
      type: 'sigstoreSigned',
      keyData: Buffer.from(trusted.pubPem).toString('base64'),
    });

    async function attempt(
      name: string,
      policy: unknown,
    ): Promise<{ err: unknown; left: string[] }> {
      const dir = await tempDir();
      try {
        const err = await pullImage(`${reg.host}/${name}`, join(dir, 'r'), {
          insecureRegistries: [reg.host],
          policy: parseSignaturePolicy(policy),
        }).then(
          () => undefined,
          (e: unknown) => e,
        );
        return { err, left: readdirSync(dir) };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }

    test('a cosign-signed image passes sigstoreSigned with the trusted key', async () => {
      const r = await attempt('signed:1', { default: [sigstore()] });
      expect(r.err).toBeUndefined();
      expect(r.left).toEqual(['r']);
    });

    test.each([
      ['unsigned:1', { default: [{ type: 'reject' }] }, /the policy rejects every image/],
      [
        'unsigned:1',
        { default: [{ type: 'signedBy', keyType: 'GPGKeys', keyData: 'AAAA' }] },
        /signedBy/,
      ],
      ['unsigned:1', 'sigstore', /no sigstore signature found/],
      ['foreign:1', 'sigstore', /does not verify with the trusted key/],
      ['wrongdigest:1', 'sigstore', /signature is for sha256:0{64}/],
      ['signed:1', 'scoped-reject', /scope 127\.0\.0\.1:\d+\/signed/],
    ])('refuses %s (%s) with Image policy rejected and no rootfs', async (name, policy, why) => {
      const p =
        policy === 'sigstore'
          ? { default: [sigstore()] }
          : policy === 'scoped-reject'
            ? {
                default: [{ type: 'insecureAcceptAnything' }],
                transports: { docker: { [`${reg.host}/signed`]: [{ type: 'reject' }] } },
              }
            : policy;
      const r = await attempt(name, p);
      expect(r.err).toMatchObject({ code: 'ERR_OCI_POLICY', kind: 'permission_denied' });
      expect((r.err as Error).message).toMatch(/^Image policy rejected /);
      expect((r.err as Error).message).toMatch(why);
      expect(r.left).toEqual([]);
    });

    describe('signedBy (GPG simple signing from lookaside storage)', () => {
      let lookasideServer: Server;
      let lookasideUrl: string;
      const sigs = new Map<string, Uint8Array>();
      let trustedGpg: string;

      async function gpgKey(): Promise<{ pub: string; priv: string }> {
        const k = await generateKey({
          type: 'ecc',
          curve: 'curve25519Legacy',
          userIDs: [{ name: 'kata test', email: 't@example.com' }],
          format: 'armored',
        });
        return { pub: k.publicKey, priv: k.privateKey };
      }

      async function gpgSign(repo: string, tag: string, privArmored: string): Promise<void> {
        const { digest } = await getManifest(reg, repo, tag);
        const payload = Buffer.from(
          JSON.stringify({
            critical: {
              identity: { 'docker-reference': `${reg.host}/${repo}:${tag}` },
              image: { 'docker-manifest-digest': digest },
              type: 'atomic container signature',
            },
            optional: {},
          }),
        );
        const sig = await signSimpleSigning(
          payload,
          await readPrivateKey({ armoredKey: privArmored }),
        );
        sigs.set(`/${repo}@${digest.replace(':', '=')}/signature-1`, sig);
      }

      beforeAll(async () => {
        lookasideServer = createServer((req, res) => {
          const sig = sigs.get(req.url ?? '');
          if (sig) res.writeHead(200).end(sig);
          else res.writeHead(404).end();
        });
        await new Promise<void>((r) => lookasideServer.listen(0, '127.0.0.1', r));
        const a = lookasideServer.address();
        lookasideUrl = `http://127.0.0.1:${String(typeof a === 'object' && a !== null ? a.port : 0)}`;
        const trusted = await gpgKey();
        const other = await gpgKey();
        trustedGpg = trusted.pub;
        await gpgSign('signed', '1', trusted.priv);
        await gpgSign('foreign', '1', other.priv);
      });

      afterAll(async () => {
        await new Promise((r) => lookasideServer.close(r));
      });

      const signedBy = (): unknown => ({
        default: [
          {
            type: 'signedBy',
            keyType: 'GPGKeys',
            keyData: Buffer.from(trustedGpg).toString('base64'),
          },
        ],
      });

      async function gpgAttempt(
        name: string,
        lookaside: Record<string, string> | undefined,
      ): Promise<unknown> {
        const dir = await tempDir();
        try {
          return await pullImage(`${reg.host}/${name}`, join(dir, 'r'), {
            insecureRegistries: [reg.host],
            policy: parseSignaturePolicy(signedBy()),
            signatureLookaside: lookaside,
          }).then(
            () => undefined,
            (e: unknown) => e,
          );
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      }

      test('an image signed by the trusted GPG key passes', async () => {
        expect(await gpgAttempt('signed:1', { [reg.host]: lookasideUrl })).toBeUndefined();
      });

      test.each([
        ['unsigned:1', true, /no simple signature found/],
        ['foreign:1', true, /does not verify with the trusted GPG key/],
        ['signed:1', false, /no lookaside storage is configured/],
      ])('refuses %s (lookaside configured: %s)', async (name, configured, why) => {
        const err = await gpgAttempt(name, configured ? { '': lookasideUrl } : undefined);
        expect(err).toMatchObject({ code: 'ERR_OCI_POLICY' });
        expect((err as Error).message).toMatch(/^Image policy rejected /);
        expect((err as Error).message).toMatch(why);
      });
    });

    test('a per-scope entry overrides a rejecting default', async () => {
      const r = await attempt('unsigned:1', {
        default: [{ type: 'reject' }],
        transports: { docker: { [reg.host]: [{ type: 'insecureAcceptAnything' }] } },
      });
      expect(r.err).toBeUndefined();
    });
  },
);
