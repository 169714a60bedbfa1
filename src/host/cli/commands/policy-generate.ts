import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CcError,
  describeError,
  parseCommandArgs,
  UsageError,
  writeLine,
  type Command,
} from '#src/lib/index.js';
import {
  factsOfConfig,
  generatePolicies,
  loadSettings,
  RegistryImageSource,
  StaticImageSource,
  type ImageFacts,
  type ImageSource,
} from '#src/host/policy-gen/index.js';

const HELP = `Usage: kata-cc policy generate -y FILE [OPTIONS]

Writes an agent policy for every Pod, Deployment, ReplicaSet, StatefulSet, DaemonSet, Job and
CronJob of FILE (multi-document YAML; ConfigMaps and Secrets of the same file feed env
valueFrom/envFrom) and annotates each pod template with it: initdata
(io.katacontainers.config.hypervisor.cc_init_data = base64(gzip(TOML with policy.rego))), or
with --legacy-annotation the base64 policy in io.katacontainers.config.agent.policy.
Each image's config (Entrypoint, Cmd, Env, User, WorkingDir) is read from its registry.
The policy is policies/agent/rules.rego plus policy_data := {…}; exec probes and lifecycle
hooks become allowed ExecProcess commands.

Options:
  -y, --yaml FILE             the manifest (rewritten in place unless --output is given)
  -o, --output FILE           write the annotated manifest here ("-" for stdout)
  --policy-out FILE           also write the policy text (with several workloads: FILE.N)
  --legacy-annotation         write io.katacontainers.config.agent.policy instead of initdata
  --allow-logs                allow ReadStdout/ReadStderr (container logs; off by default)
  --allow-stdin               allow WriteStdin/CloseStdin
  --exec CMD                  allow this command (space-separated argv) in every container; repeatable
  --image-config REF=FILE     use FILE (an OCI image config JSON) for image REF; repeatable
  --insecure-registry HOST    talk plain HTTP to HOST:PORT; repeatable
  --ca FILE                   extra CA certificate (PEM) for registries; repeatable
  --rules FILE, --settings FILE   rules and settings (default: policies/agent/ of the checkout)`;

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new CcError(
      'invalid_argument',
      'ERR_CLI_INPUT',
      `cannot read ${what} ${file}: ${describeError(err)}`,
    );
  }
}

function imageSource(
  configs: readonly string[],
  insecure: readonly string[],
  ca: readonly string[],
): ImageSource {
  const registry = new RegistryImageSource({
    insecureRegistries: insecure,
    ca: ca.map((f) => readText(f, 'CA certificate')),
  });
  if (configs.length === 0) return registry;
  const fixed = new StaticImageSource();
  for (const spec of configs) {
    const eq = spec.lastIndexOf('=');
    if (eq <= 0) throw new UsageError(`--image-config ${spec}: expected REF=FILE`);
    const file = spec.slice(eq + 1);
    let raw: unknown;
    try {
      raw = JSON.parse(readText(file, 'image config'));
    } catch (err) {
      if (err instanceof CcError) throw err;
      throw new CcError(
        'invalid_argument',
        'ERR_CLI_INPUT',
        `${file}: not JSON: ${describeError(err)}`,
      );
    }
    fixed.set(spec.slice(0, eq), factsOfConfig(raw as Record<string, unknown>));
  }
  return {
    facts: (image: string, signal?: AbortSignal): Promise<ImageFacts> =>
      fixed.facts(image).catch(() => registry.facts(image, signal)),
  };
}

export const policyGenerateCommand: Command = {
  name: 'generate',
  summary: 'generate agent policies for a Kubernetes manifest and annotate it',
  help: HELP,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs(args, {
      yaml: { type: 'string', short: 'y' },
      output: { type: 'string', short: 'o' },
      'policy-out': { type: 'string' },
      'legacy-annotation': { type: 'boolean' },
      'allow-logs': { type: 'boolean' },
      'allow-stdin': { type: 'boolean' },
      exec: { type: 'string', multiple: true },
      'image-config': { type: 'string', multiple: true },
      'insecure-registry': { type: 'string', multiple: true },
      ca: { type: 'string', multiple: true },
      rules: { type: 'string' },
      settings: { type: 'string' },
    });
    if (positionals.length > 0)
      throw new UsageError(`unexpected argument ${positionals.join(' ')}`);
    const file = values.yaml;
    if (file === undefined) throw new UsageError('missing -y FILE');
    const dir = join(ctx.projectRoot, 'policies', 'agent');
    const rules = readText(values.rules ?? join(dir, 'rules.rego'), 'rules');
    const settings = loadSettings(values.settings ?? join(dir, 'settings.json'));
    const result = await generatePolicies(readText(file, 'manifest'), file, {
      rules,
      settings,
      images: imageSource(
        values['image-config'] ?? [],
        values['insecure-registry'] ?? [],
        values.ca ?? [],
      ),
      allowLogs: values['allow-logs'] === true,
      allowStdin: values['allow-stdin'] === true,
      execCommands: (values.exec ?? []).map((c) => c.split(' ').filter((x) => x !== '')),
      legacyAnnotation: values['legacy-annotation'] === true,
      signal: ctx.signal,
    });
    const out = values.output ?? file;
    if (out === '-') ctx.stdout.write(result.yaml);
    else writeFileSync(out, result.yaml);
    const policyOut = values['policy-out'];
    if (policyOut !== undefined)
      result.policies.forEach((p, i) => {
        writeFileSync(
          result.policies.length === 1 ? policyOut : `${policyOut}.${String(i + 1)}`,
          p.policy,
        );
      });
    for (const p of result.policies)
      writeLine(
        ctx.stderr,
        `${p.workload.at}: ${String((p.policyData['containers'] as unknown[]).length)} containers (with pause), ${p.annotation.key}${out === '-' ? '' : ` → ${out}`}`,
      );
    return 0;
  },
};
