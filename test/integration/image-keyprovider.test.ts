// Issue #7: encrypted images end to end on the host side. `kata-cc image encrypt` encrypts an OCI
// layout with the layer keys wrapped by `kata-cc keyprovider` (spawned over the ocicrypt
// keyprovider protocol from an OCICRYPT_KEYPROVIDER_CONFIG file) and, for the reference, also as
// JWE; skopeo pushes it; our pullImage with the guest CDH's own unwrap code (KEK from a resource
// getter standing in for the KBS) must unpack exactly what real ocicrypt (skopeo --decryption-key)
// + umoci unpack produce.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CcError } from '#src/lib/index.js';
import {
  encodeKeyUnwrapRequest,
  encodeKeyWrapRequest,
  parseAnnotationPacket,
  parseKeyUnwrapResponse,
  parseKeyWrapResponse,
  pullImage,
  type KeyUnwrapper,
} from '#src/oci/index.js';
import { unwrapKey } from '#guest/cdh/index.js';
import {
  buildImage,
  makeKeyPair,
  referenceUnpack,
  sh,
  tempDir,
  walkTree,
} from '#test/helpers/images.js';
import {
  getManifest,
  registryUnavailableReason,
  startRegistry,
  type TestRegistry,
} from '#test/helpers/registry.js';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';

const BUNDLE = join(PROJECT_ROOT, 'dist', 'kata-cc.mjs');
const skip =
  registryUnavailableReason() ??
  (existsSync(BUNDLE) ? undefined : `${BUNDLE} is not built (npm run build)`);
if (skip) console.log(`skipping keyprovider image tests: ${skip}`);

const KID = 'kbs:///default/image-kek/enc1';

interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(
  args: readonly string[],
  env: Record<string, string> = {},
  input?: string,
): Promise<CliResult> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [BUNDLE, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    c.stdin.on('error', () => undefined);
    c.stdin.end(input ?? '');
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

/** What the agent does through its CdhClient: keyprovider JSON to the CDH's UnWrapKey and back. */
function cdhUnwrapper(resources: ReadonlyMap<string, Uint8Array>, seen: string[]): KeyUnwrapper {
  const getResource = (uri: string): Promise<Uint8Array> => {
    seen.push(uri);
    const r = resources.get(uri);
    return r
      ? Promise.resolve(r)
      : Promise.reject(
          new CcError('not_found', 'ERR_GUEST_KBS_RESOURCE', `resource ${uri} not found`),
        );
  };
  return {
    async unwrapKey(req, signal) {
      const out = await unwrapKey(
        Buffer.from(encodeKeyUnwrapRequest(req.annotation)),
        getResource,
        signal,
      );
      return parseKeyUnwrapResponse(Buffer.from(out).toString('utf8'));
    },
  };
}

describe.skipIf(skip !== undefined)('images encrypted with kata-cc keyprovider', () => {
  let reg: TestRegistry;
  let work: string;
  let ocicryptEnv: Record<string, string>;
  let jwe: { priv: string; pub: string };
  const kek = randomBytes(32);
  let kekFile: string;
  let plainRoot: string;
  let refRoot: string;

  beforeAll(async () => {
    reg = await startRegistry();
    work = await tempDir();
    jwe = await makeKeyPair(work, 'rsa');
    kekFile = join(work, 'kek.b64');
    await writeFile(kekFile, `${kek.toString('base64')}\n`, { mode: 0o600 });
    const config = join(work, 'ocicrypt.json');
    await writeFile(
      config,
      JSON.stringify({
        'key-providers': {
          'kata-cc': { cmd: { path: process.execPath, args: [BUNDLE, 'keyprovider'] } },
        },
      }),
    );
    ocicryptEnv = { OCICRYPT_KEYPROVIDER_CONFIG: config };
    const img = await buildImage({
      layers: [
        [
          { kind: 'busybox', path: 'bin/busybox' },
          { kind: 'file', path: 'etc/secret-app', content: 'encrypted with the KBS key\n' },
          { kind: 'symlink', path: 'bin/sh', target: 'busybox' },
        ],
        [
          { kind: 'blob', path: 'data/blob.bin', size: 300_000, seed: 'kp' },
          { kind: 'remove', path: 'etc/secret-app' },
          { kind: 'file', path: 'etc/second', content: 'layer 2\n', mode: 0o640 },
        ],
      ],
    });
    const enc = join(work, 'enc');
    const r = await cli(
      [
        'image',
        'encrypt',
        '--encryption-key',
        `provider:kata-cc:keypath=${kekFile}::keyid=${KID}::algorithm=A256GCM`,
        '--encryption-key',
        `jwe:${jwe.pub}`,
        `oci:${img.dir}:${img.tag}`,
        `oci:${enc}:v1`,
      ],
      ocicryptEnv,
    );
    expect(r, r.stderr).toMatchObject({ code: 0 });
    const push = ['skopeo', 'copy', '--dest-tls-verify=false'];
    await sh([...push, `oci:${enc}:v1`, `docker://${reg.host}/kp:enc`]);
    await sh([...push, `oci:${img.dir}:${img.tag}`, `docker://${reg.host}/kp:plain`]);
    await mkdir(join(work, 'plain'));
    await mkdir(join(work, 'ref'));
    plainRoot = await referenceUnpack(reg.host, 'kp:plain', join(work, 'plain'));
    // real ocicrypt (skopeo 1.9, ocicrypt 1.0) decrypts our ciphertext through the JWE recipient
    refRoot = await referenceUnpack(reg.host, 'kp:enc', join(work, 'ref'), {
      decryptionKey: jwe.priv,
    });
  }, 600_000);

  afterAll(async () => {
    await reg.stop();
    await rm(work, { recursive: true, force: true });
  });

  test('every layer is encrypted and carries the KBS annotation packet naming the key', async () => {
    const m = JSON.parse((await getManifest(reg, 'kp', 'enc')).bytes.toString()) as {
      layers: { mediaType: string; annotations: Record<string, string> }[];
    };
    expect(m.layers).toHaveLength(2);
    for (const layer of m.layers) {
      expect(layer.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip+encrypted');
      const packet = JSON.parse(
        Buffer.from(
          layer.annotations['org.opencontainers.image.enc.keys.provider.kata-cc'] ?? '',
          'base64',
        ).toString(),
      ) as Record<string, unknown>;
      expect(Object.keys(packet)).toEqual(['kid', 'wrapped_data', 'iv', 'wrap_type']);
      expect(packet).toMatchObject({ kid: KID, wrap_type: 'A256GCM' });
      expect(Buffer.from(packet['iv'] as string, 'base64')).toHaveLength(12);
    }
  });

  test('the guest CDH unwrap with the KBS key unpacks the tree skopeo --decryption-key + umoci give', async () => {
    const seen: string[] = [];
    const pulled = await pullImage(`${reg.host}/kp:enc`, join(work, 'ours'), {
      insecureRegistries: [reg.host],
      keyUnwrapper: cdhUnwrapper(new Map([[KID, new Uint8Array(kek)]]), seen),
    });
    expect(seen).toEqual([KID, KID]);
    const ours = await walkTree(pulled.rootfs);
    expect(ours).toEqual(await walkTree(refRoot));
    expect(ours).toEqual(await walkTree(plainRoot));
    expect(ours.map((e) => e.path)).toContain('etc/second');
    expect(ours.map((e) => e.path)).not.toContain('etc/secret-app');
  });

  test.each([
    [
      'a wrong key-encryption key',
      new Map([[KID, new Uint8Array(randomBytes(32))]]),
      /decryption failed/,
    ],
    [
      'a KBS without the key',
      new Map<string, Uint8Array>(),
      /cannot get the key-encryption key kbs:\/\/\/default\/image-kek\/enc1: resource .* not found/,
    ],
  ])('%s fails with a decryption error naming the key and leaves nothing', async (_w, res, why) => {
    const dir = await tempDir();
    try {
      const err = await pullImage(`${reg.host}/kp:enc`, join(dir, 'rootfs'), {
        insecureRegistries: [reg.host],
        keyUnwrapper: cdhUnwrapper(res, []),
      }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ERR_OCI_DECRYPT', kind: 'permission_denied' });
      const msg = (err as Error).message;
      expect(msg).toMatch(
        /^Failed to decrypt the image layer sha256:[0-9a-f]{64}: the key provider could not unwrap it \(kata-cc: /,
      );
      expect(msg).toContain(KID);
      expect(msg).toMatch(why);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('kata-cc image pull --decryption-key provider:kata-cc unwraps through the keyprovider protocol', async () => {
    const dest = join(work, 'cli-pull');
    const r = await cli(
      [
        'image',
        'pull',
        `${reg.host}/kp:enc`,
        dest,
        '--insecure-registry',
        reg.host,
        '--json',
        '--decryption-key',
        `provider:kata-cc:keypath=${kekFile}::keyid=${KID}`,
      ],
      ocicryptEnv,
    );
    expect(r, r.stderr).toMatchObject({ code: 0 });
    expect(await walkTree(dest)).toEqual(await walkTree(refRoot));
  });

  test('kata-cc image pull with a wrong local KEK fails and leaves nothing', async () => {
    const dir = join(work, 'wrong-cli');
    await mkdir(dir);
    const wrong = join(dir, 'wrong.kek');
    await writeFile(wrong, randomBytes(32));
    const r = await cli(
      [
        'image',
        'pull',
        `${reg.host}/kp:enc`,
        join(dir, 'rootfs'),
        '--insecure-registry',
        reg.host,
        '--json',
        '--decryption-key',
        `provider:kata-cc:keypath=${wrong}`,
      ],
      ocicryptEnv,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /Failed to decrypt the image layer sha256:[0-9a-f]{64}: the key provider could not unwrap it/,
    );
    expect(r.stderr).toMatch(/does not open it/);
    expect(readdirSync(dir)).toEqual(['wrong.kek']);
  });
});

describe.skipIf(!existsSync(BUNDLE))('kata-cc keyprovider on hostile input', () => {
  let dir: string;
  let kekFile: string;
  beforeAll(async () => {
    dir = await tempDir('kata-cc-kp-cli-');
    kekFile = join(dir, 'kek');
    await writeFile(kekFile, randomBytes(32));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const wrapReq = (params: string): string =>
    encodeKeyWrapRequest(Buffer.from('{"symkey":"AA=="}'), { 'kata-cc': [Buffer.from(params)] });

  test('answers a keywrap request with the annotation on stdout', async () => {
    const r = await cli(['keyprovider'], {}, wrapReq(`keypath=${kekFile}::keyid=${KID}`));
    expect(r, r.stderr).toMatchObject({ code: 0 });
    expect(parseAnnotationPacket(parseKeyWrapResponse(r.stdout)).kid).toBe(KID);
  });

  test.each([
    ['no input', '', /keyprovider protocol: request is not JSON/],
    ['garbage', '\u0000\u00ff{', /request is not JSON/],
    ['an unknown op', '{"op":"destroy"}', /op must be "keywrap" or "keyunwrap"/],
    ['a missing KEK file', 'MISSING', /cannot read the key-encryption key file/],
    ['a short KEK', 'SHORT', /expected 32 bytes or their base64/],
    ['no keyid', 'NOKEYID', /keyid is missing/],
    [
      'an annotation that is not a packet',
      'BADPACKET',
      /annotation packet: the annotation is not an annotation packet/,
    ],
  ])('refuses %s: exit 1, the reason on stderr, nothing on stdout', async (_w, kind, why) => {
    const short = join(dir, 'short');
    await writeFile(short, randomBytes(16));
    const input =
      kind === 'MISSING'
        ? wrapReq(`keypath=${join(dir, 'none')}::keyid=${KID}`)
        : kind === 'SHORT'
          ? wrapReq(`keypath=${short}::keyid=${KID}`)
          : kind === 'NOKEYID'
            ? wrapReq(`keypath=${kekFile}`)
            : kind === 'BADPACKET'
              ? encodeKeyUnwrapRequest(Buffer.from('nope'), {
                  'kata-cc': [Buffer.from(`keypath=${kekFile}`)],
                })
              : kind;
    const r = await cli(['keyprovider'], {}, input);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(why);
  });

  test('a request larger than 1 MiB is refused', async () => {
    const r = await cli(['keyprovider'], {}, 'x'.repeat((1 << 20) + 10));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/larger than 1048576 bytes/);
  });

  test('--name selects the provider name of the request', async () => {
    const r = await cli(
      ['keyprovider', '--name', 'kbs'],
      {},
      wrapReq(`keypath=${kekFile}::keyid=${KID}`),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no parameters for key provider "kbs"/);
  });
});

describe.skipIf(skip !== undefined)('kata-cc image encrypt refusals', () => {
  let dir: string;
  let img: { dir: string; tag: string };
  let env: Record<string, string>;
  let kekFile: string;
  beforeAll(async () => {
    dir = await tempDir('kata-cc-enc-');
    img = await buildImage({ layers: [[{ kind: 'file', path: 'a', content: 'a\n' }]] });
    kekFile = join(dir, 'kek');
    await writeFile(kekFile, randomBytes(32));
    const config = join(dir, 'ocicrypt.json');
    await writeFile(
      config,
      JSON.stringify({
        'key-providers': {
          'kata-cc': { cmd: { path: process.execPath, args: [BUNDLE, 'keyprovider'] } },
          broken: { cmd: { path: '/bin/false' } },
          remote: { grpc: '127.0.0.1:1' },
        },
      }),
    );
    env = { OCICRYPT_KEYPROVIDER_CONFIG: config };
  }, 600_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test.each([
    [
      'a provider key without a config',
      `provider:kata-cc:keypath=K::keyid=${KID}`,
      {},
      /needs OCICRYPT_KEYPROVIDER_CONFIG/,
    ],
    [
      'an unconfigured provider',
      'provider:other:x',
      undefined,
      /key provider "other" is not in the ocicrypt keyprovider config/,
    ],
    [
      'a failing provider program',
      'provider:broken:x',
      undefined,
      /key provider "broken" \(\/bin\/false\) failed/,
    ],
    ['a grpc provider', 'provider:remote:x', undefined, /grpc provider; only "cmd"/],
    ['bad keyprovider params', 'provider:kata-cc:keypath=K', undefined, /keyid is missing/],
    ['an unknown key kind', 'pgp:someone', undefined, /expected provider:NAME:PARAMS or jwe:/],
  ])('%s fails and writes nothing', async (_w, key, e, why) => {
    const out = join(dir, 'out');
    const r = await cli(
      [
        'image',
        'encrypt',
        '--encryption-key',
        key.replace('=K', `=${kekFile}`),
        `oci:${img.dir}:${img.tag}`,
        `oci:${out}:x`,
      ],
      e ?? env,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(why);
    expect(readdirSync(dir).sort()).toEqual(['kek', 'ocicrypt.json']);
  });

  test('an already encrypted image and a non-empty destination are refused', async () => {
    const enc = join(dir, 'enc');
    const key = `provider:kata-cc:keypath=${kekFile}::keyid=${KID}`;
    const ok = await cli(
      ['image', 'encrypt', '--encryption-key', key, `oci:${img.dir}:${img.tag}`, `oci:${enc}:e`],
      env,
    );
    expect(ok, ok.stderr).toMatchObject({ code: 0 });
    const again = await cli(
      ['image', 'encrypt', '--encryption-key', key, `oci:${enc}:e`, `oci:${join(dir, 'enc2')}:e`],
      env,
    );
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/\+encrypted: only unencrypted OCI layers/);
    const full = await cli(
      ['image', 'encrypt', '--encryption-key', key, `oci:${img.dir}:${img.tag}`, `oci:${enc}:e`],
      env,
    );
    expect(full.code).toBe(1);
    expect(full.stderr).toMatch(/exists and is not empty/);
    const tag = await cli(
      [
        'image',
        'encrypt',
        '--encryption-key',
        key,
        `oci:${img.dir}:nosuch`,
        `oci:${join(dir, 'enc3')}:e`,
      ],
      env,
    );
    expect(tag.stderr).toMatch(/no manifest tagged "nosuch"/);
    expect(readdirSync(dir).sort()).toEqual(['enc', 'kek', 'ocicrypt.json']);
  });
});
