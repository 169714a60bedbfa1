import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { verifyEvidenceCommand } from '#src/host/cli/commands/verify-evidence.js';
import { NULL_LOGGER, type CommandContext } from '#src/lib/index.js';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';

const EV = join(PROJECT_ROOT, '..', 'shared', 'testdata', 'evidence');
const HAVE = existsSync(EV);
if (!HAVE) console.log(`skipping verify-evidence CLI tests: ${EV} is missing`);

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

let root = '';
let bundle = '';

/** The kbs bundle is built into a private root under .cache/ so parallel builds of dist/ cannot race it. */
beforeAll(async () => {
  await mkdir(join(PROJECT_ROOT, '.cache'), { recursive: true });
  root = await mkdtemp(join(PROJECT_ROOT, '.cache', 'test-kbs-'));
  bundle = join(root, 'dist', 'kbs.mjs');
  await build({
    entryPoints: [join(PROJECT_ROOT, 'attestation', 'main.ts')],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    conditions: ['source'],
    banner: {
      js: "import { createRequire as __ccCreateRequire } from 'node:module';\nconst require = __ccCreateRequire(import.meta.url);",
    },
    logLevel: 'warning',
    external: ['*.node'],
  });
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

function kbs(args: readonly string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bundle, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

const tdx = (...p: string[]): string => join(EV, 'tdx', ...p);
const snp = (...p: string[]): string => join(EV, 'snp', ...p);

describe.skipIf(!HAVE)('kbs verify-evidence (built bundle)', () => {
  test('prints the claims of a TDX quote verified with its collateral bundle', async () => {
    const r = await kbs([
      'verify-evidence',
      '--tee',
      'tdx',
      '--evidence',
      tdx('dcapqvl_b0c06f_v4', 'quote.bin'),
      '--collateral',
      tdx('dcapqvl_b0c06f_v4', 'collateral.json'),
      '--at',
      '2025-07-19T10:00:00Z',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const claims = JSON.parse(r.stdout);
    expect(claims.tcb_status).toBe('UpToDate');
    expect(claims.quote.body.mr_td).toBe(
      '91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7',
    );
  });

  test('accepts a collateral folder and a hex quote', async () => {
    const ok = await kbs([
      'verify-evidence',
      '--tee',
      'tdx',
      '--evidence',
      tdx('trustee_50806f_v4', 'quote.bin'),
      '--collateral',
      tdx('gotdx_spr_e4_v4'),
      '--at',
      '2023-07-01T01:00:00Z',
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).tcb_status).toBe('UpToDate');
    const hex = await kbs([
      'verify-evidence',
      '--tee',
      'tdx',
      '--evidence',
      tdx('dcapqvl_b0c06f_v4_hex', 'quote.hex'),
    ]);
    expect(hex.code, hex.stderr).toBe(0);
  });

  test('a folder of per-FMSPC bundles is looked up by the quote FMSPC, and a missing one fails', async () => {
    const dir = await mkdtemp(join(root, 'coll-'));
    await copyFile(tdx('dcapqvl_b0c06f_v4', 'collateral.json'), join(dir, 'b0c06f000000.json'));
    const ok = await kbs([
      'verify-evidence',
      '--tee',
      'tdx',
      '--evidence',
      tdx('dcapqvl_b0c06f_v4', 'quote.bin'),
      '--collateral',
      dir,
      '--at',
      '2025-07-19T10:00:00Z',
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).tcb_status).toBe('UpToDate');
    const missing = await kbs([
      'verify-evidence',
      '--tee',
      'tdx',
      '--evidence',
      tdx('trustee_90c06f_v5', 'quote.bin'),
      '--collateral',
      dir,
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/ERR_TDX_COLLATERAL_MISSING/);
    const nofile = await kbs([
      'verify-evidence',
      '--tee',
      'tdx',
      '--evidence',
      join(dir, 'absent.bin'),
    ]);
    expect(nofile.code).toBe(1);
    expect(nofile.stderr).toMatch(/cannot read --evidence/);
  });

  test('exits 1 naming the failed check', async () => {
    const r = await kbs([
      'verify-evidence',
      '--tee',
      'tdx',
      '--evidence',
      tdx('negative', 'dcapqvl_b0c06f_v4__mrtd_bit_flipped.bin'),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/quote signature check failed.*\[ERR_TDX_QUOTE_SIGNATURE\]/);
    const bound = await kbs([
      'verify-evidence',
      '--tee',
      'snp',
      '--evidence',
      snp('gosev_milan_v2', 'report.bin'),
      '--cert-chain',
      snp('gosev_milan_v2', 'vcek.der'),
      '--report-data',
      '00',
    ]);
    expect(bound.code).toBe(1);
    expect(bound.stderr).toMatch(/\[ERR_REPORT_DATA_MISMATCH\]/);
  });

  test('verifies SNP evidence JSON and a raw report with --cert-chain', async () => {
    const json = await kbs([
      'verify-evidence',
      '--tee',
      'snp',
      '--evidence',
      join(EV, 'sample', 'trustee_e2e_snp_evidence.json'),
    ]);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout).product).toBe('Genoa');
    const raw = await kbs([
      'verify-evidence',
      '--tee',
      'snp',
      '--evidence',
      snp('trustee_azure_milan_v2', 'report.bin'),
      '--cert-chain',
      snp('trustee_azure_milan_v2', 'vcek_ask_ark.pem'),
      '--report-data',
      'b3fbad6514c83caeb0380882145e49f794229ef37c421b91fc47ff93556bafac',
    ]);
    expect(raw.code, raw.stderr).toBe(0);
    expect(JSON.parse(raw.stdout).guest_svn).toBe(5);
  });

  test('refuses the sample TEE unless --allow-sample is given', async () => {
    const file = join(EV, 'sample', 'trustee_sample_tee_evidence.constructed.json');
    const refused = await kbs(['verify-evidence', '--tee', 'sample', '--evidence', file]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/ERR_SAMPLE_NOT_ALLOWED/);
    const allowed = await kbs([
      'verify-evidence',
      '--tee',
      'sample',
      '--evidence',
      file,
      '--allow-sample',
    ]);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(JSON.parse(allowed.stdout).svn).toBe('1');
  });

  test.each([
    [['verify-evidence', '--tee', 'sgx', '--evidence', 'x'], /--tee/],
    [['verify-evidence', '--tee', 'tdx'], /--evidence FILE is required/],
    [['verify-evidence', '--tee', 'tdx', '--evidence', 'x', '--at', 'yesterday'], /RFC 3339/],
    [['verify-evidence', '--tee', 'tdx', '--evidence', 'x', '--report-data', 'zz'], /expected hex/],
    [['verify-evidence', '--tee', 'tdx', '--evidence', 'x', '--cert-chain', 'y'], /snp only/],
  ])('usage errors exit 2 (%#)', async (args, re) => {
    const r = await kbs(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(re);
  });

  test('kata-cc verify-evidence runs the bundle and returns its exit code', async () => {
    const tmp = await mkdtemp(join(root, 'ev-'));
    const ev = join(tmp, 'evidence.json');
    await writeFile(
      ev,
      JSON.stringify({ svn: '2', report_data: Buffer.from('hi').toString('base64') }),
    );
    const out = new PassThrough();
    const err = new PassThrough();
    let stdout = '';
    let stderr = '';
    out.on('data', (c: Buffer) => (stdout += c.toString()));
    err.on('data', (c: Buffer) => (stderr += c.toString()));
    const ctx: CommandContext = {
      stdout: out,
      stderr: err,
      stdin: new PassThrough(),
      env: {},
      signal: new AbortController().signal,
      log: NULL_LOGGER,
      projectRoot: root,
    };
    expect(
      await verifyEvidenceCommand.run?.(
        ['--tee', 'sample', '--evidence', ev, '--allow-sample'],
        ctx,
      ),
    ).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      svn: '2',
      report_data: Buffer.from('hi').toString('hex'),
    });
    expect(await verifyEvidenceCommand.run?.(['--tee', 'sample', '--evidence', ev], ctx)).toBe(1);
    expect(stderr).toMatch(/ERR_SAMPLE_NOT_ALLOWED/);
    expect(
      await verifyEvidenceCommand.run?.(['--tee', 'sample'], { ...ctx, projectRoot: tmp }),
    ).toBe(1);
    expect(stderr).toMatch(/run npm run build first/);
  });
});
