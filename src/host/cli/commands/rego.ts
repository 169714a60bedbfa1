import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseCommandArgs, UsageError, writeLine, type Command } from '#src/lib/index.js';
import {
  compileModules,
  runConformance,
  type CaseOutcome,
  type RegoModuleSource,
} from '#src/rego/index.js';

const conformanceCommand: Command = {
  name: 'conformance',
  summary: "run OPA's YAML test cases against the Rego engine",
  help: `Usage: kata-cc rego conformance DIR

Runs every case of every *.yaml file under DIR (OPA's test/cases format; files below a "v0"
directory are parsed as Rego v0) with a fresh engine per case. Prints one line per failed or
skipped case, then "N passed, M failed". Exit code 1 if any case failed.`,
  run(args, ctx) {
    const { positionals } = parseCommandArgs(args, {});
    const [dir, extra] = positionals;
    if (dir === undefined || extra !== undefined) throw new UsageError('expected exactly one DIR');
    const onOutcome = (o: CaseOutcome): void => {
      if (o.status === 'fail') writeLine(ctx.stdout, `FAIL ${o.file}: ${o.note}: ${o.reason}`);
      if (o.status === 'skip') writeLine(ctx.stdout, `SKIP ${o.file}: ${o.note}: ${o.reason}`);
    };
    const report = runConformance(dir, onOutcome);
    writeLine(ctx.stdout, `${report.passed} passed, ${report.failed} failed`);
    return Promise.resolve(report.failed > 0 ? 1 : 0);
  },
};

interface Loaded {
  readonly modules: RegoModuleSource[];
  data: Record<string, unknown>;
}

function readDocument(file: string): unknown {
  const text = readFileSync(file, 'utf8');
  return extname(file) === '.json' ? (JSON.parse(text) as unknown) : (parseYaml(text) as unknown);
}

function mergeData(into: Record<string, unknown>, doc: unknown, file: string): void {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new UsageError(`${file}: a data file must hold a JSON/YAML object`);
  }
  for (const [k, v] of Object.entries(doc)) {
    const cur = into[k];
    if (
      cur !== null &&
      typeof cur === 'object' &&
      !Array.isArray(cur) &&
      v !== null &&
      typeof v === 'object' &&
      !Array.isArray(v)
    ) {
      mergeData(cur as Record<string, unknown>, v, file);
    } else into[k] = v;
  }
}

function load(path: string, out: Loaded): void {
  if (statSync(path).isDirectory()) {
    for (const name of readdirSync(path).sort()) load(join(path, name), out);
    return;
  }
  const ext = extname(path);
  if (ext === '.rego') out.modules.push({ path, text: readFileSync(path, 'utf8') });
  else if (ext === '.json' || ext === '.yaml' || ext === '.yml')
    mergeData(out.data, readDocument(path), path);
}

const evalCommand: Command = {
  name: 'eval',
  summary: 'evaluate a Rego query against policy and data files',
  help: `Usage: kata-cc rego eval [--v0] [--strict] -d FILE… [--input FILE] QUERY

Loads every -d FILE (or directory): *.rego files are modules, *.json / *.yaml files are merged
into the base document "data". Evaluates QUERY (e.g. data.agent_policy.CreateContainerRequest)
and prints its first value as JSON on stdout, or "undefined" on stderr when it has none.
print() output goes to stderr.

Options:
  -d, --data FILE   policy or data file or directory (repeatable; further files may follow)
  --input FILE      JSON or YAML input document
  --v0              parse modules as Rego v0 (p { … }, future.keywords imports)
  --strict          builtin errors abort evaluation instead of making the expression undefined`,
  run(args, ctx) {
    const { values, positionals } = parseCommandArgs(args, {
      data: { type: 'string', short: 'd', multiple: true },
      input: { type: 'string' },
      v0: { type: 'boolean' },
      strict: { type: 'boolean' },
    });
    const query = positionals[positionals.length - 1];
    if (query === undefined) throw new UsageError('missing QUERY');
    const files = [...(values.data ?? []), ...positionals.slice(0, -1)];
    const loaded: Loaded = { modules: [], data: {} };
    for (const f of files) load(f, loaded);
    const policy = compileModules(loaded.modules, { v0: values.v0 === true });
    const input = values.input === undefined ? undefined : readDocument(values.input);
    const result = policy.evaluate(query, {
      input,
      data: loaded.data,
      strict: values.strict === true,
      print: (line) => {
        writeLine(ctx.stderr, line);
      },
    });
    if (result.value === undefined) writeLine(ctx.stderr, 'undefined');
    else writeLine(ctx.stdout, JSON.stringify(result.value, null, 2));
    return Promise.resolve(0);
  },
};

export const regoCommand: Command = {
  name: 'rego',
  summary: 'evaluate Rego policies and run the OPA conformance suite',
  help: `Usage: kata-cc rego COMMAND

The Rego engine used for the guest agent policy and the KBS/AS policies.`,
  subcommands: [evalCommand, conformanceCommand],
};
