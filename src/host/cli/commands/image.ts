import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { isAvailable as nativeAvailable, lsetxattr } from '#native/index.js';
import {
  parseCommandArgs,
  Secret,
  UsageError,
  writeLine,
  type Command,
  type CommandContext,
} from '#src/lib/index.js';
import {
  parseDecryptionKey,
  parseSignaturePolicy,
  pullImage,
  type PullProgressEvent,
  type KeyUnwrapper,
  type RegistryCredentials,
} from '#src/oci/index.js';
import {
  keyProviderUnwrapper,
  loadKeyProviderConfig,
  OCICRYPT_KEYPROVIDER_CONFIG,
} from '#src/host/image-crypt/index.js';
import { imageEncryptCommand } from './image-encrypt.js';

function readFileArg(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UsageError(
      `cannot read ${what} ${path}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

function parseCreds(raw: string): RegistryCredentials {
  const i = raw.indexOf(':');
  if (i <= 0) throw new UsageError('--creds must be USER:PASSWORD');
  return { username: raw.slice(0, i), password: new Secret(raw.slice(i + 1)) };
}

/** `--decryption-key provider:NAME[:PARAMS]`: ask the ocicrypt key provider NAME, as skopeo does. */
async function providerUnwrapper(
  specs: readonly string[],
  ctx: CommandContext,
): Promise<KeyUnwrapper | undefined> {
  if (specs.length === 0) return undefined;
  const config = await loadKeyProviderConfig(ctx.env);
  if (!config)
    throw new UsageError(
      `--decryption-key provider:… needs ${OCICRYPT_KEYPROVIDER_CONFIG} naming an ocicrypt keyprovider config`,
    );
  const parameters: Record<string, Uint8Array[]> = {};
  for (const spec of specs) {
    const rest = spec.slice('provider:'.length);
    const i = rest.indexOf(':');
    const name = i < 0 ? rest : rest.slice(0, i);
    if (name === '')
      throw new UsageError(`--decryption-key ${spec}: expected provider:NAME[:PARAMS]`);
    (parameters[name] ??= []).push(Buffer.from(i < 0 ? 'Enabled' : rest.slice(i + 1)));
  }
  return keyProviderUnwrapper(config, parameters);
}

function mib(bytes: number): string {
  return (bytes / (1 << 20)).toFixed(1);
}

/** Progress on a TTY: one rewritten line per event; elsewhere: one JSON object per line. */
function progressPrinter(ctx: CommandContext, json: boolean): (e: PullProgressEvent) => void {
  const starts = new Map<number, number>();
  return (e) => {
    if (json) {
      writeLine(ctx.stdout, JSON.stringify(e));
      return;
    }
    const out = ctx.stderr;
    switch (e.type) {
      case 'resolved':
        writeLine(
          out,
          `${e.reference} → ${e.manifestDigest} (${String(e.layers)} layers, ${mib(e.totalBytes)} MiB)`,
        );
        break;
      case 'layer-start':
        starts.set(e.index, Date.now());
        break;
      case 'layer-progress': {
        const secs = Math.max(0.001, (Date.now() - (starts.get(e.index) ?? Date.now())) / 1000);
        out.write(
          `\r  layer ${String(e.index + 1)} ${e.digest.slice(7, 19)} ${mib(e.bytes)}/${mib(e.size)} MiB ${mib(e.bytes / secs)} MiB/s `,
        );
        break;
      }
      case 'layer-done':
        out.write(
          `\r  layer ${String(e.index + 1)} ${e.digest.slice(7, 19)} ${mib(e.bytes)} MiB done in ${(e.ms / 1000).toFixed(1)} s${' '.repeat(12)}\n`,
        );
        break;
      case 'done':
        writeLine(out, `pulled ${mib(e.bytes)} MiB in ${(e.ms / 1000).toFixed(1)} s`);
        break;
    }
  };
}

const pullCommand: Command = {
  name: 'pull',
  summary: 'pull, verify, decrypt and unpack an image into a rootfs directory',
  help: `Usage: kata-cc image pull REF DIR [--decryption-key FILE]... [--policy FILE] [--lookaside URL]
                          [--creds USER:PASS] [--insecure-registry HOST]... [--ca FILE]...
                          [--platform OS/ARCH[/VARIANT]] [--json]

Pulls image REF (e.g. 127.0.0.1:5000/app:1, busybox, host/app@sha256:…) from its registry and
unpacks its layers into DIR, which must not exist or be empty. Every blob is digest-checked;
encrypted layers (ocicrypt, JWE-wrapped keys) are decrypted with the --decryption-key private
keys (PEM, RSA or EC); --policy FILE is a containers-policy.json (insecureAcceptAnything, reject,
sigstoreSigned with a cosign public key, signedBy GPG keys with --lookaside). DIR appears only when everything verified.

Options:
  --decryption-key FILE     private key for encrypted layers (repeatable); or
                            provider:NAME:PARAMS to ask the ocicrypt key provider NAME of the
                            OCICRYPT_KEYPROVIDER_CONFIG file (kata-cc keyprovider: keypath=KEK-FILE)
  --policy FILE             signature policy (containers-policy.json)
  --lookaside URL           where signedBy (GPG) simple signatures are stored (registries.d lookaside)
  --creds USER:PASS         registry credentials (basic, or for the token server)
  --insecure-registry HOST  speak plain HTTP to HOST:PORT (repeatable)
  --ca FILE                 extra trusted CA certificate, PEM (repeatable)
  --platform OS/ARCH        platform to pick from a multi-arch index (default linux/amd64)
  --json                    JSON progress events on stdout (the default when stdout is not a TTY)

Exit codes: 0 pulled, 1 failed (nothing left in DIR), 2 usage error.`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs(args, {
      'decryption-key': { type: 'string', multiple: true },
      policy: { type: 'string' },
      lookaside: { type: 'string' },
      creds: { type: 'string' },
      'insecure-registry': { type: 'string', multiple: true },
      ca: { type: 'string', multiple: true },
      platform: { type: 'string' },
      json: { type: 'boolean' },
    });
    const [ref, dir, extra] = positionals;
    if (ref === undefined || dir === undefined || extra !== undefined)
      throw new UsageError('expected REF and DIR');
    const keyArgs = values['decryption-key'] ?? [];
    const decryptionKeys = keyArgs
      .filter((f) => !f.startsWith('provider:'))
      .map((f) => new Secret(parseDecryptionKey(readFileArg(f, 'decryption key'), f)));
    const keyUnwrapper = await providerUnwrapper(
      keyArgs.filter((f) => f.startsWith('provider:')),
      ctx,
    );
    const policy =
      values.policy === undefined
        ? undefined
        : parseSignaturePolicy(readFileArg(values.policy, 'policy'), {
            readKey: (p) => readFileArg(resolve(p), 'policy key'),
          });
    const ca = (values.ca ?? []).map((f) => readFileArg(f, 'CA certificate').toString('utf8'));
    let platform;
    if (values.platform !== undefined) {
      const [os, architecture, variant] = values.platform.split('/');
      if (!os || !architecture) throw new UsageError('--platform must be OS/ARCH[/VARIANT]');
      platform = { os, architecture, variant };
    }
    const stdoutIsTty = (ctx.stdout as { isTTY?: boolean }).isTTY === true;
    const pulled = await pullImage(ref, dir, {
      auth: values.creds === undefined ? undefined : parseCreds(values.creds),
      policy,
      signatureLookaside: values.lookaside === undefined ? undefined : { '': values.lookaside },
      decryptionKeys,
      keyUnwrapper,
      insecureRegistries: values['insecure-registry'],
      ca,
      platform,
      setXattr: nativeAvailable() ? lsetxattr : undefined,
      signal: ctx.signal,
      log: ctx.log,
      onProgress: progressPrinter(ctx, values.json === true || !stdoutIsTty),
    });
    if (stdoutIsTty && values.json !== true)
      writeLine(ctx.stdout, `${pulled.rootfs} (${pulled.imageDigest})`);
    return 0;
  },
};

export const imageCommand: Command = {
  name: 'image',
  summary: 'container images: pull, verify, decrypt, unpack',
  help: `Usage: kata-cc image COMMAND

Commands:
  pull REF DIR   pull an image into a rootfs directory (what the guest does for image_guest_pull)
  encrypt SRC DEST
                 encrypt the layers of an OCI layout image (ocicrypt; key providers, JWE)`,
  subcommands: [pullCommand, imageEncryptCommand],
};
