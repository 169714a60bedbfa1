import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TtrpcClient, TtrpcServer } from '#src/protocol/ttrpc/index.js';
import { compileModules } from '#src/rego/index.js';
import {
  factsOfConfig,
  generatePolicies,
  loadSettings,
  StaticImageSource,
} from '#src/host/policy-gen/index.js';
import {
  agentPolicyDir,
  allowedCreateContainerRequest,
  genpolicyText,
} from '#test/unit/src/rego/genpolicy-request.js';
import { median, percentile, type BenchContext, type Benchmark } from './benchmark.js';

const RUNS = 400;

function timeMs(f: () => unknown, runs: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    f();
    out.push(performance.now() - t0);
  }
  return out.sort((a, b) => a - b);
}

/** Median of unary ttrpc round trips over a unix socket (server and client in this process). */
async function ttrpcRoundTripMs(ctx: BenchContext): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'rego-bench-'));
  const sock = join(dir, 'ttrpc.sock');
  const server = new TtrpcServer();
  server.register('bench.Echo', { Echo: (payload) => Promise.resolve(payload) });
  await server.listen(sock, { signal: ctx.signal });
  const socket = connect(sock);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const client = new TtrpcClient(socket);
  try {
    const payload = new Uint8Array(2048);
    for (let i = 0; i < 200; i++) await client.call('bench.Echo', 'Echo', payload);
    const times: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const t0 = performance.now();
      await client.call('bench.Echo', 'Echo', payload);
      times.push(performance.now() - t0);
    }
    return median(times);
  } finally {
    await client.close();
    await server.close({ graceMs: 100 });
    await rm(dir, { recursive: true, force: true });
  }
}

/** Our rules + policy_data generated (kata-cc policy generate) for the genpolicy sample pod. */
async function generatedPolicyText(projectRoot: string, podFile: string): Promise<string> {
  const dir = join(projectRoot, 'policies', 'agent');
  const images = new StaticImageSource();
  images.set(
    'quay.io/prometheus/busybox:latest',
    factsOfConfig({
      config: {
        Cmd: ['sh'],
        Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      },
    }),
  );
  const r = await generatePolicies(readFileSync(podFile, 'utf8'), podFile, {
    rules: readFileSync(join(dir, 'rules.rego'), 'utf8'),
    settings: loadSettings(join(dir, 'settings.json')),
    images,
  });
  return r.policies[0]?.policy ?? '';
}

export const regoBenchmark: Benchmark = {
  name: 'rego',
  summary:
    'CreateContainerRequest evaluation (generated and genpolicy policies) vs one ttrpc round trip',
  async run(ctx) {
    const dir = agentPolicyDir(ctx.projectRoot);
    const text = await generatedPolicyText(ctx.projectRoot, join(dir, 'pod-one-container.yaml'));
    const t0 = performance.now();
    const policy = compileModules([{ path: 'policy.rego', text }]);
    const compileMs = performance.now() - t0;
    const upstream = compileModules([{ path: 'genpolicy.rego', text: genpolicyText(dir) }], {
      v0: true,
    });
    const allowed = allowedCreateContainerRequest(dir) as { OCI: { Process: { Env: string[] } } };
    const denied = structuredClone(allowed);
    denied.OCI.Process.Env.push('LD_PRELOAD=/tmp/evil.so');
    const data = { pstate: {} };
    const query = 'data.agent_policy.CreateContainerRequest';
    const verdict = policy.evaluate(query, { input: allowed, data }).value;
    if (typeof verdict !== 'object' || verdict === null || !('allowed' in verdict))
      throw new Error(
        `the generated policy does not allow the sample request: ${JSON.stringify(verdict)}`,
      );
    ctx.progress('warming up');
    timeMs(() => policy.evaluate(query, { input: allowed, data }), 50);
    timeMs(() => upstream.evaluate(query, { input: allowed, data }), 50);
    ctx.progress(`evaluating ${String(RUNS)} times`);
    const ok = timeMs(() => policy.evaluate(query, { input: allowed, data }), RUNS);
    const no = timeMs(() => policy.evaluate(query, { input: denied, data }), RUNS);
    const up = timeMs(() => upstream.evaluate(query, { input: allowed, data }), RUNS);
    // what the guest agent does (PolicySession.decide): print() lines captured for denial reasons
    const agent = { input: allowed, data, capturePrints: true, print: () => undefined };
    const okPrints = timeMs(() => policy.evaluate(query, agent), RUNS);
    const upPrints = timeMs(() => upstream.evaluate(query, agent), RUNS);
    ctx.progress('measuring ttrpc round trips');
    const rtt = await ttrpcRoundTripMs(ctx);
    const evalMs = median(ok);
    return {
      figures: [
        {
          label: `compile generated ${String(text.split('\n').length)}-line policy`,
          value: compileMs,
          unit: 'ms',
        },
        { label: 'generated: CreateContainerRequest allowed, median', value: evalMs, unit: 'ms' },
        { label: 'generated: allowed, p90', value: percentile(ok, 90), unit: 'ms' },
        { label: 'generated: allowed, fastest run', value: ok[0] ?? NaN, unit: 'ms' },
        { label: 'generated: denied (extra env var), median', value: median(no), unit: 'ms' },
        { label: 'genpolicy policy, same request, median', value: median(up), unit: 'ms' },
        { label: 'genpolicy policy, fastest run', value: up[0] ?? NaN, unit: 'ms' },
        {
          label: 'generated, prints captured (as the agent), median',
          value: median(okPrints),
          unit: 'ms',
        },
        {
          label: 'genpolicy, prints captured (as the agent), median',
          value: median(upPrints),
          unit: 'ms',
        },
        {
          label: 'genpolicy, prints captured, fastest run',
          value: upPrints[0] ?? NaN,
          unit: 'ms',
        },
        { label: 'ttrpc unary round trip (unix socket), median', value: rtt, unit: 'ms' },
      ],
      ratios: [
        { label: 'generated-policy CreateContainer eval / ttrpc round trip', value: evalMs / rtt },
        { label: 'genpolicy CreateContainer eval / ttrpc round trip', value: median(up) / rtt },
        {
          label: 'genpolicy CreateContainer eval, prints captured / ttrpc round trip',
          value: median(upPrints) / rtt,
        },
      ],
      notes: [
        'generated = policies/agent/rules.rego + policy_data from kata-cc policy generate (pod-one-container.yaml, busybox config fixture)',
        'in-process: policy compiled once, input converted per evaluation; the fastest run shows the cost without CPU contention',
        'the genpolicy figure is the upstream genpolicy policy on this same engine (no OPA/regorus here), not another engine',
        'prints captured = PolicySession.decide, as the guest agent evaluates (print() lines kept for denial reasons)',
      ],
    };
  },
};
