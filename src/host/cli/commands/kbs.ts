import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeLine, type Command, type CommandContext } from '#src/lib/index.js';

const HELP = `Usage: kata-cc kbs serve [OPTIONS]

Runs the Key Broker Service and attestation service (Trustee RCAR 0.4.0). Runs the attestation
program's own bundle (node <project>/dist/kbs.mjs serve …; run npm run build first), so the KBS code
stays in attestation/. Prints the bound URL as the first stdout line. Options are those of
\`kbs serve\`:

  --config FILE          TOML config
  --listen HOST:PORT     default 127.0.0.1:8080 (port 0 = any free port)
  --store DIR            persist resources, policies, reference values and keys
  --tls-cert FILE --tls-key FILE
  --admin-key FILE       Ed25519 admin public key (PEM)
  --policies DIR         default <project>/policies
  --tdx-collateral PATH
  --allow-sample         accept the sample TEE (development only)`;

function runKbs(bundle: string, args: readonly string[], ctx: CommandContext): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bundle, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(ctx.stdout, { end: false });
    child.stderr.pipe(ctx.stderr, { end: false });
    const stop = (): void => {
      child.kill('SIGTERM');
    };
    ctx.signal.addEventListener('abort', stop, { once: true });
    child.once('error', (err) => {
      writeLine(ctx.stderr, `kata-cc kbs: ${err.message}`);
      resolve(1);
    });
    child.once('close', (code) => {
      ctx.signal.removeEventListener('abort', stop);
      resolve(code ?? 1);
    });
  });
}

const serveCommand: Command = {
  name: 'serve',
  summary: 'run the KBS (runs dist/kbs.mjs serve)',
  help: HELP,
  async run(args, ctx) {
    const bundle = join(ctx.projectRoot, 'dist', 'kbs.mjs');
    if (!existsSync(bundle)) {
      writeLine(ctx.stderr, `kata-cc kbs serve: ${bundle} is missing: run npm run build first`);
      return 1;
    }
    return runKbs(bundle, ['serve', ...args], ctx);
  },
};

export const kbsCommand: Command = {
  name: 'kbs',
  summary: 'the Key Broker Service (serve)',
  help: `Usage: kata-cc kbs serve [OPTIONS]\n\nSee kata-cc kbs serve --help.`,
  subcommands: [serveCommand],
};
