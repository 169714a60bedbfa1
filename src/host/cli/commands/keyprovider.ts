import { parseCommandArgs, UsageError, type Command, type CommandContext } from '#src/lib/index.js';
import { KEYPROVIDER_MAX_MESSAGE } from '#src/oci/index.js';
import {
  answerKeyProviderRequest,
  DEFAULT_PROVIDER_NAME,
  ImageCryptError,
} from '#src/host/image-crypt/index.js';

const HELP = `Usage: kata-cc keyprovider [--name NAME]

An ocicrypt key provider ("cmd" protocol) for images the guest decrypts with a key from the KBS.
Reads one request JSON on stdin and writes the response JSON on stdout; tools built on ocicrypt
(skopeo, buildah, nerdctl with ocicrypt >= 1.1, and kata-cc image encrypt) run it. Configure it in
the file OCICRYPT_KEYPROVIDER_CONFIG names:

  {"key-providers": {"kata-cc": {"cmd": {"path": "/usr/local/bin/kata-cc", "args": ["keyprovider"]}}}}

and encrypt with --encryption-key provider:kata-cc:PARAMS, where PARAMS are (coco-keyprovider's
names) keypath=FILE::keyid=kbs:///REPO/TYPE/TAG[::algorithm=A256GCM]:
  keypath   the key-encryption key (KEK): 32 bytes, or their base64
  keyid     the KBS resource holding the same KEK (upload it: kata-cc kbs-client set-resource)
Each layer key is sealed with the KEK (AES-256-GCM) into the annotation packet
{"kid","wrapped_data","iv","wrap_type"}; in the pod VM the confidential data hub fetches keyid from
the KBS after attestation and unwraps it. keyunwrap (--decryption-key provider:kata-cc:keypath=FILE
[::keyid=…]) opens such packets with a local KEK, for tests and recovery.

Options:
  --name NAME   the provider's name in the ocicrypt config (default ${DEFAULT_PROVIDER_NAME})

Exit codes: 0 answered, 1 refused (the reason on stderr, nothing on stdout), 2 usage error.`;

async function readAll(stream: NodeJS.ReadableStream, signal: AbortSignal): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    signal.throwIfAborted();
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += b.length;
    if (size > KEYPROVIDER_MAX_MESSAGE)
      throw new ImageCryptError(
        'invalid_argument',
        'ERR_KEYPROVIDER_PARAMS',
        `keyprovider request on stdin is larger than ${String(KEYPROVIDER_MAX_MESSAGE)} bytes`,
      );
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export const keyproviderCommand: Command = {
  name: 'keyprovider',
  summary: 'ocicrypt key provider: wrap image layer keys for the KBS (stdin/stdout protocol)',
  help: HELP,
  async run(args: readonly string[], ctx: CommandContext): Promise<number> {
    const { values, positionals } = parseCommandArgs(args, { name: { type: 'string' } });
    if (positionals.length > 0) throw new UsageError('keyprovider takes no arguments');
    const name = values.name ?? DEFAULT_PROVIDER_NAME;
    if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new UsageError('--name must be [A-Za-z0-9._-]+');
    const request = await readAll(ctx.stdin, ctx.signal);
    const response = await answerKeyProviderRequest(request, { name });
    ctx.stdout.write(response);
    return 0;
  },
};
