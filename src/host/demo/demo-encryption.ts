import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Secret } from '#src/lib/index.js';
import { encryptLayout, parseKeyProviderConfig } from '#src/host/image-crypt/index.js';

/** The KBS resource holding the demo image's key-encryption key. */
export const DEMO_KEK_PATH = 'default/image-kek/demo';

export interface EncryptedDemoImage {
  /** OCI layout (tag `latest`) with every layer encrypted. */
  readonly layout: string;
  readonly kek: Secret<Uint8Array>;
  /** `kbs:///default/image-kek/demo` */
  readonly kid: string;
  readonly manifestDigest: string;
}

/**
 * Encrypts the demo image's layers as an image owner would: a fresh 32-byte KEK, `kata-cc
 * keyprovider` (spawned over the ocicrypt keyprovider protocol from an ocicrypt config, exactly as
 * `OCICRYPT_KEYPROVIDER_CONFIG=… kata-cc image encrypt --encryption-key
 * provider:kata-cc:keypath=KEK::keyid=kbs:///default/image-kek/demo` does) wraps each layer key.
 */
export async function encryptDemoImage(o: {
  readonly projectRoot: string;
  readonly plainLayout: string;
  readonly dir: string;
  readonly signal: AbortSignal;
}): Promise<EncryptedDemoImage> {
  const kek = new Uint8Array(randomBytes(32));
  const kekFile = join(o.dir, 'image-kek');
  writeFileSync(kekFile, kek, { mode: 0o600 });
  const kid = `kbs:///${DEMO_KEK_PATH}`;
  const cli = join(o.projectRoot, 'dist', 'kata-cc.mjs');
  const keyProviders = parseKeyProviderConfig(
    JSON.stringify({
      'key-providers': {
        'kata-cc': { cmd: { path: process.execPath, args: [cli, 'keyprovider'] } },
      },
    }),
    'the demo keyprovider config',
  );
  const layout = join(o.dir, 'busybox-encrypted');
  const result = await encryptLayout({
    source: { dir: o.plainLayout, tag: 'latest' },
    destination: { dir: layout, tag: 'latest' },
    recipients: [{ kind: 'provider', name: 'kata-cc', params: `keypath=${kekFile}::keyid=${kid}` }],
    keyProviders,
    signal: o.signal,
  });
  return { layout, kek: new Secret(kek), kid, manifestDigest: result.manifestDigest };
}
