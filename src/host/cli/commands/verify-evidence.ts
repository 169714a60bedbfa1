import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeLine, type Command, type CommandContext } from '#src/lib/index.js';

const HELP = `Usage: kata-cc verify-evidence --tee tdx|snp|sample --evidence FILE [OPTIONS]

Verifies TEE evidence and prints its claims as JSON. Runs the attestation program's own bundle
(node <project>/dist/kbs.mjs verify-evidence …; run npm run build first), so the verifier code
stays in attestation/. Exit 1 names the failed check, e.g. [ERR_SNP_SIGNATURE].

Options:
  --tee KIND               tdx, snp or sample
  --evidence FILE          KBS evidence JSON, or the raw quote/report (binary or hex)
  --cert-chain FILE        SNP: the VCEK/VLEK certificate (DER or PEM)
  --collateral DIR|FILE    TDX: dcap-qvl collateral JSON bundle or a folder of PCS files
  --at RFC3339             verify as of this time (default: now)
  --report-data HEX        expected REPORTDATA
  --init-data-digest HEX   expected initdata digest (TDX MRCONFIGID / SNP HOST_DATA)
  --allow-sample           accept the sample TEE`;

function runKbs(bundle: string, args: readonly string[], ctx: CommandContext): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bundle, 'verify-evidence', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      signal: ctx.signal,
    });
    child.stdout.pipe(ctx.stdout, { end: false });
    child.stderr.pipe(ctx.stderr, { end: false });
    child.once('error', (err) => {
      writeLine(ctx.stderr, `kata-cc verify-evidence: ${err.message}`);
      resolve(1);
    });
    child.once('close', (code) => {
      resolve(code ?? 1);
    });
  });
}

export const verifyEvidenceCommand: Command = {
  name: 'verify-evidence',
  summary: 'verify TDX, SNP or sample evidence and print its claims (runs dist/kbs.mjs)',
  help: HELP,
  async run(args, ctx) {
    const bundle = join(ctx.projectRoot, 'dist', 'kbs.mjs');
    if (!existsSync(bundle)) {
      writeLine(
        ctx.stderr,
        `kata-cc verify-evidence: ${bundle} is missing: run npm run build first`,
      );
      return 1;
    }
    return runKbs(bundle, args, ctx);
  },
};
