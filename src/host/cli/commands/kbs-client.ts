import { readFile, writeFile } from 'node:fs/promises';
import {
  parseCommandArgs,
  UsageError,
  wrapError,
  writeLine,
  type Command,
  type CommandContext,
} from '#src/lib/index.js';
import {
  KBS_TEE_NAMES,
  KbsClient,
  sampleEvidenceProvider,
  signAdminToken,
  staticEvidenceProvider,
  type KbsEvidenceProvider,
  type KbsTeeName,
} from '#src/protocol/kbs/index.js';

const HELP = `Usage: kata-cc kbs-client --url URL [--ca FILE] ACTION [ARGS] [OPTIONS]

Talks to a Trustee-compatible KBS (RCAR protocol 0.4.0).

Attester actions (the sample attester by default, or evidence from a file):
  attest                         run auth + attest, print the EAR token
  get-resource REPO/TYPE/TAG     attest, then fetch and decrypt the resource
                                 (to stdout, or --out FILE)
    --tee KIND --evidence FILE   send this evidence JSON instead of the sample attester's
                                 (it is not bound to the nonce: only a KBS in a test mode accepts it)
    --init-data FILE             send this initdata TOML as init-data
Admin actions (need --admin-key, the Ed25519 private key PEM):
  set-resource REPO/TYPE/TAG --file FILE
  set-resource-policy --file FILE.rego
  set-attestation-policy --file FILE.rego [--id ID]
  set-reference-value NAME VALUE... [--expires RFC3339]`;

async function readArg(path: string, flag: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw wrapError(err, `cannot read ${flag} ${path}`);
  }
}

async function evidenceProvider(
  tee: string | undefined,
  file: string | undefined,
): Promise<KbsEvidenceProvider> {
  if (file === undefined) {
    if (tee !== undefined && tee !== 'sample')
      throw new UsageError('--tee other than sample needs --evidence FILE');
    return sampleEvidenceProvider();
  }
  if (tee === undefined || !(KBS_TEE_NAMES as readonly string[]).includes(tee))
    throw new UsageError('--evidence needs --tee tdx|snp|sample');
  const text = (await readArg(file, '--evidence')).toString('utf8');
  try {
    return staticEvidenceProvider(tee as KbsTeeName, JSON.parse(text) as unknown);
  } catch {
    throw new UsageError(`--evidence ${file}: not JSON`);
  }
}

const OPTIONS = {
  url: { type: 'string' },
  ca: { type: 'string' },
  tee: { type: 'string' },
  evidence: { type: 'string' },
  'init-data': { type: 'string' },
  out: { type: 'string' },
  file: { type: 'string' },
  id: { type: 'string' },
  expires: { type: 'string' },
  'admin-key': { type: 'string' },
} as const;

async function run(args: readonly string[], ctx: CommandContext): Promise<number> {
  const { values: v, positionals } = parseCommandArgs(args, OPTIONS);
  const [action, ...rest] = positionals;
  if (v.url === undefined) throw new UsageError('--url URL is required');
  if (action === undefined) throw new UsageError('an ACTION is required');
  const client = new KbsClient({
    url: v.url,
    caPem: v.ca === undefined ? undefined : (await readArg(v.ca, '--ca')).toString(),
  });
  const adminToken = async (): Promise<string> => {
    if (v['admin-key'] === undefined) throw new UsageError(`${action} needs --admin-key FILE`);
    return signAdminToken((await readArg(v['admin-key'], '--admin-key')).toString());
  };
  const file = async (): Promise<Buffer> => {
    if (v.file === undefined) throw new UsageError(`${action} needs --file FILE`);
    return readArg(v.file, '--file');
  };
  const b64 = (b: Buffer): string => b.toString('base64');
  switch (action) {
    case 'attest':
    case 'get-resource': {
      const initData =
        v['init-data'] === undefined
          ? undefined
          : { format: 'toml', body: (await readArg(v['init-data'], '--init-data')).toString() };
      const { token } = await client.attest(await evidenceProvider(v.tee, v.evidence), {
        initData,
        signal: ctx.signal,
      });
      if (action === 'attest') {
        writeLine(ctx.stdout, token);
        return 0;
      }
      const path = rest[0];
      if (path === undefined) throw new UsageError('get-resource needs REPO/TYPE/TAG');
      const data = await client.getResource(path, { signal: ctx.signal });
      if (v.out === undefined) ctx.stdout.write(Buffer.from(data));
      else await writeFile(v.out, data, { mode: 0o600 });
      return 0;
    }
    case 'set-resource': {
      const path = rest[0];
      if (path === undefined) throw new UsageError('set-resource needs REPO/TYPE/TAG');
      await client.admin('POST', `/resource/${path}`, await adminToken(), await file(), {
        signal: ctx.signal,
      });
      return 0;
    }
    case 'set-resource-policy':
      await client.admin(
        'POST',
        '/resource-policy',
        await adminToken(),
        JSON.stringify({ policy: b64(await file()) }),
        { signal: ctx.signal },
      );
      return 0;
    case 'set-attestation-policy':
      await client.admin(
        'POST',
        '/attestation-policy',
        await adminToken(),
        JSON.stringify({ type: 'rego', policy_id: v.id ?? 'default', policy: b64(await file()) }),
        { signal: ctx.signal },
      );
      return 0;
    case 'set-reference-value': {
      const [name, ...values] = rest;
      if (name === undefined) throw new UsageError('set-reference-value needs NAME VALUE...');
      await client.admin(
        'POST',
        '/reference-value',
        await adminToken(),
        JSON.stringify({ name, values, ...(v.expires ? { expires: v.expires } : {}) }),
        { signal: ctx.signal },
      );
      return 0;
    }
    default:
      throw new UsageError(`unknown action ${JSON.stringify(action)}`);
  }
}

export const kbsClientCommand: Command = {
  name: 'kbs-client',
  summary: 'attest to a KBS, fetch resources, provision policies and reference values',
  help: HELP,
  run,
};
