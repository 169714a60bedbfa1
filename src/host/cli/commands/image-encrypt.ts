import { parseCommandArgs, UsageError, writeLine, type Command } from '#src/lib/index.js';
import {
  encryptLayout,
  loadKeyProviderConfig,
  parseEncryptionKey,
  parseLayoutRef,
} from '#src/host/image-crypt/index.js';

export const imageEncryptCommand: Command = {
  name: 'encrypt',
  summary: 'encrypt the layers of an OCI layout image (ocicrypt, key providers or JWE)',
  help: `Usage: kata-cc image encrypt --encryption-key KEY... oci:SRC[:TAG] oci:DEST[:TAG]

Encrypts every layer of the image SRC:TAG (an OCI image layout, e.g. from umoci or skopeo copy
… oci:DIR:TAG) into the new layout DEST, as skopeo copy --encryption-key does with ocicrypt:
AES_256_CTR_HMAC_SHA256 with a fresh key per layer, media types +encrypted, the layer keys wrapped
for each KEY. Push DEST with: skopeo copy oci:DEST:TAG docker://REGISTRY/NAME:TAG.

KEY is one of
  provider:NAME:PARAMS   wrap through the ocicrypt key provider NAME of the config file that
                         OCICRYPT_KEYPROVIDER_CONFIG names (a "cmd" provider, spoken to over the
                         ocicrypt keyprovider protocol); for kata-cc keyprovider PARAMS are
                         keypath=KEK-FILE::keyid=kbs:///REPO/TYPE/TAG (see kata-cc keyprovider --help)
  jwe:PUBLIC.pem         wrap as JWE to an RSA or EC public key (skopeo --decryption-key PRIVATE.pem
                         then decrypts it too)

Debian 12's skopeo (ocicrypt 1.0.3) has no key provider support, hence this command. DEST must
not exist or be empty, and appears only when complete.

Exit codes: 0 encrypted, 1 failed (nothing written), 2 usage error.`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs(args, {
      'encryption-key': { type: 'string', multiple: true },
    });
    const [src, dst, extra] = positionals;
    if (src === undefined || dst === undefined || extra !== undefined)
      throw new UsageError('expected oci:SRC[:TAG] and oci:DEST[:TAG]');
    const keys = values['encryption-key'] ?? [];
    if (keys.length === 0) throw new UsageError('at least one --encryption-key is required');
    const result = await encryptLayout({
      source: parseLayoutRef(src, 'source'),
      destination: parseLayoutRef(dst, 'destination'),
      recipients: keys.map(parseEncryptionKey),
      keyProviders: await loadKeyProviderConfig(ctx.env),
      signal: ctx.signal,
    });
    writeLine(
      ctx.stdout,
      `${dst} ${result.manifestDigest} (${String(result.layers)} layers encrypted)`,
    );
    return 0;
  },
};
