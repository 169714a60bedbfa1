import { readdir, readFile, stat } from 'node:fs/promises';
import {
  fromHex,
  parseCommandArgs,
  UsageError,
  wrapError,
  writeLine,
  type Command,
} from '#src/lib/index.js';
import { snpReportFromSevJson } from '#src/tee/index.js';
import {
  commonName,
  createVerifier,
  directoryCollateralProvider,
  loadTdxCollateral,
  parseCertificates,
  staticCollateralProvider,
  TEE_KINDS,
  type TdxCollateralProvider,
  type CreateVerifierOptions,
  type TeeKind,
} from '../verifier/index.js';

const HELP = `Usage: kbs verify-evidence --tee tdx|snp|sample --evidence FILE [OPTIONS]

Verifies TEE evidence completely (signatures, certificate chains, collateral, TCB, bindings) and
prints its claims as JSON (Trustee's claim names). On failure exits 1 and names the failed check
with its stable code, e.g. [ERR_TDX_QUOTE_SIGNATURE].

--evidence takes the KBS evidence JSON (TDX {"cc_eventlog", "quote"}, SNP {"attestation_report",
"cert_chain"}, sample {"svn", "report_data"}) or the raw quote/report, binary or hex ("0x" allowed).

Options:
  --tee KIND               tdx, snp or sample
  --evidence FILE          the evidence
  --cert-chain FILE        SNP: the VCEK/VLEK certificate (DER or PEM; may hold ASK/ARK too)
  --collateral DIR|FILE    TDX: dcap-qvl collateral JSON bundle, a folder of PCS files, or a
                           folder of <fmspc>.json bundles / <fmspc>/ folders (TCB status is then
                           required)
  --at RFC3339             verify as of this time (default: now)
  --report-data HEX        expected REPORTDATA (zero-padded to 64 bytes)
  --init-data-digest HEX   expected initdata digest (TDX MRCONFIGID / SNP HOST_DATA)
  --allow-sample           accept the sample TEE (refused by default)`;

const HEX_RE = /^(0x)?[0-9a-fA-F\s]+$/;

function hexArg(value: string | undefined, flag: string): Uint8Array | undefined {
  if (value === undefined) return undefined;
  const clean = value.replace(/^0x/, '');
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean))
    throw new UsageError(`${flag}: expected hex, got ${JSON.stringify(value)}`);
  return fromHex(clean);
}

function timeArg(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const d = new Date(value);
  if (
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value) ||
    Number.isNaN(d.getTime())
  )
    throw new UsageError(
      `--at: expected an RFC 3339 time like 2025-07-19T10:00:00Z, got ${JSON.stringify(value)}`,
    );
  return d;
}

/** JSON evidence, hex text or raw binary → what the verifier accepts. */
function decodeEvidence(data: Uint8Array): unknown {
  const text = Buffer.from(data).toString('utf8').trim();
  if (text.startsWith('{')) {
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new UsageError(
        `--evidence: looks like JSON but does not parse: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
  if (text.length > 0 && HEX_RE.test(text))
    return fromHex(text.replace(/^0x/, '').replace(/\s+/g, ''));
  return data;
}

function vekCerts(data: Uint8Array): { type: string; der: Uint8Array }[] {
  return parseCertificates(data, '--cert-chain', 'ERR_EVIDENCE_MALFORMED').flatMap((c) => {
    const cn = commonName(c);
    const type = cn === 'SEV-VCEK' ? 'vcek' : cn === 'SEV-VLEK' ? 'vlek' : undefined;
    return type ? [{ type, der: new Uint8Array(c.raw) }] : [];
  });
}

function snpEvidence(ev: unknown, certs: { type: string; der: Uint8Array }[]): unknown {
  if (ev instanceof Uint8Array) return { report: ev, certs };
  if (certs.length === 0 || typeof ev !== 'object' || ev === null) return ev;
  const report = snpReportFromSevJson((ev as Record<string, unknown>)['attestation_report']);
  return { report, certs };
}

async function readInput(path: string, flag: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (err) {
    throw wrapError(err, `cannot read ${flag} ${path}`);
  }
}

/** A bundle file or PCS folder → that collateral; a folder of per-FMSPC entries → looked up by FMSPC. */
async function collateralProvider(path: string): Promise<TdxCollateralProvider> {
  const st = await stat(path).catch((err: unknown) => {
    throw wrapError(err, `cannot read --collateral ${path}`);
  });
  if (st.isDirectory() && !(await readdir(path)).some((n) => /^tcb_?info.*\.json$/i.test(n)))
    return directoryCollateralProvider(path);
  return staticCollateralProvider(await loadTdxCollateral(path));
}

export const verifyEvidenceCommand: Command = {
  name: 'verify-evidence',
  summary: 'verify TDX, SNP or sample evidence and print its claims',
  help: HELP,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs(args, {
      tee: { type: 'string' },
      evidence: { type: 'string' },
      'cert-chain': { type: 'string' },
      collateral: { type: 'string' },
      at: { type: 'string' },
      'report-data': { type: 'string' },
      'init-data-digest': { type: 'string' },
      'allow-sample': { type: 'boolean' },
    });
    if (positionals.length > 0)
      throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const tee = values.tee;
    if (tee === undefined || !(TEE_KINDS as readonly string[]).includes(tee))
      throw new UsageError('--tee: expected tdx, snp or sample');
    if (values.evidence === undefined) throw new UsageError('--evidence FILE is required');
    if (values['cert-chain'] !== undefined && tee !== 'snp')
      throw new UsageError('--cert-chain applies to --tee snp only');
    if (values.collateral !== undefined && tee !== 'tdx')
      throw new UsageError('--collateral applies to --tee tdx only');
    const expected = {
      reportData: hexArg(values['report-data'], '--report-data'),
      initDataDigest: hexArg(values['init-data-digest'], '--init-data-digest'),
    };
    const now = timeArg(values.at);
    const options: CreateVerifierOptions = {
      allowSample: values['allow-sample'] === true,
      requireCollateral: values.collateral !== undefined,
      collateral:
        values.collateral === undefined ? undefined : await collateralProvider(values.collateral),
    };
    let evidence = decodeEvidence(await readInput(values.evidence, '--evidence'));
    if (tee === 'snp') {
      const certs =
        values['cert-chain'] === undefined
          ? []
          : vekCerts(await readInput(values['cert-chain'], '--cert-chain'));
      evidence = snpEvidence(evidence, certs);
    }
    const claims = await createVerifier(tee as TeeKind, options).verify(evidence, expected, {
      now,
      signal: ctx.signal,
    });
    writeLine(ctx.stdout, JSON.stringify(claims, null, 2));
    return 0;
  },
};
