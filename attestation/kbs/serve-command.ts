import { join } from 'node:path';
import { parseCommandArgs, UsageError, writeLine, type Command } from '#src/lib/index.js';
import {
  KBS_CONFIG_DEFAULTS,
  loadKbsConfig,
  parseListen,
  type KbsConfig,
} from '../config/index.js';
import { startKbs } from './create-kbs.js';

const HELP = `Usage: kbs serve --config FILE
       kbs serve [--listen HOST:PORT] [--store DIR] [--tls-cert FILE --tls-key FILE]
                 [--admin-key FILE] [--policies DIR] [--tdx-collateral PATH] [--snp-crls PATH] [--allow-sample]

Runs the Key Broker Service (Trustee RCAR protocol 0.4.0) with its built-in attestation service.
Prints the bound URL (e.g. http://127.0.0.1:41234) as the first line on stdout, logs JSON to
stderr, and stops on SIGINT/SIGTERM.

Options:
  --config FILE          TOML config (see attestation/config/README.md); excludes the others
  --listen HOST:PORT     address to bind (default ${KBS_CONFIG_DEFAULTS.listen}; port 0 = any free port)
  --store DIR            persist resources, policies, reference values and keys here
                         (default: in memory, lost on exit)
  --tls-cert FILE        serve https with this PEM certificate (needs --tls-key)
  --tls-key FILE         PEM private key of --tls-cert
  --admin-key FILE       Ed25519 admin public key (PEM); without it the admin API is disabled
  --policies DIR         folder with as/default.rego and kbs/default-resource.rego
                         (default: <project>/policies)
  --tdx-collateral PATH  TDX collateral bundle file or PCS folder
  --snp-crls PATH        AMD KDS CRL (DER or PEM) or a folder of them; revoked ASK/VCEK fail
  --allow-sample         accept the sample TEE (development only: it proves nothing)`;

function fromFlags(v: Record<string, string | boolean | undefined>): KbsConfig {
  const str = (k: string): string | undefined => (typeof v[k] === 'string' ? v[k] : undefined);
  const { host, port } = parseListen(str('listen') ?? KBS_CONFIG_DEFAULTS.listen, '--listen');
  if ((str('tls-cert') === undefined) !== (str('tls-key') === undefined))
    throw new UsageError('--tls-cert and --tls-key go together');
  return {
    host,
    port,
    tlsCert: str('tls-cert'),
    tlsKey: str('tls-key'),
    storeDir: str('store'),
    adminPublicKey: str('admin-key'),
    policiesDir: str('policies'),
    allowSample: v['allow-sample'] === true,
    tdxCollateral: str('tdx-collateral'),
    snpCrls: str('snp-crls'),
    tokenTtlSeconds: KBS_CONFIG_DEFAULTS.tokenTtlSeconds,
  };
}

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run the Key Broker Service and attestation service',
  help: HELP,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs(args, {
      config: { type: 'string' },
      listen: { type: 'string' },
      store: { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'admin-key': { type: 'string' },
      policies: { type: 'string' },
      'tdx-collateral': { type: 'string' },
      'snp-crls': { type: 'string' },
      'allow-sample': { type: 'boolean' },
    });
    if (positionals.length > 0)
      throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const others = Object.keys(values).filter((k) => k !== 'config');
    if (values.config !== undefined && others.length > 0)
      throw new UsageError(`--config excludes --${others.join(', --')}: put them in the file`);
    const cfg =
      values.config !== undefined ? await loadKbsConfig(values.config) : fromFlags(values);
    const kbs = await startKbs({
      host: cfg.host,
      port: cfg.port,
      storeDir: cfg.storeDir,
      policiesDir: cfg.policiesDir ?? join(ctx.projectRoot, 'policies'),
      tls:
        cfg.tlsCert !== undefined && cfg.tlsKey !== undefined
          ? { certFile: cfg.tlsCert, keyFile: cfg.tlsKey }
          : undefined,
      adminPublicKeyFile: cfg.adminPublicKey,
      adminAcl: cfg.adminAcl,
      allowSample: cfg.allowSample,
      tdxCollateral: cfg.tdxCollateral,
      snpCrls: cfg.snpCrls,
      tokenTtlSeconds: cfg.tokenTtlSeconds,
      log: ctx.log,
    });
    writeLine(ctx.stdout, kbs.url);
    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) resolve();
      else
        ctx.signal.addEventListener(
          'abort',
          () => {
            resolve();
          },
          { once: true },
        );
    });
    await kbs.close();
    ctx.log.info('kbs stopped', {});
    return 0;
  },
};
