import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TtrpcClient, TtrpcServer } from '#src/protocol/ttrpc/index.js';
import { compileModules } from '#src/rego/index.js';
import {
  agentPolicyDir,
  allowedCreateContainerRequest,
  genpolicyCases,
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

export const regoBenchmark: Benchmark = {
  name: 'rego',
  summary: 'genpolicy CreateContainerRequest evaluation vs one ttrpc round trip',
  async run(ctx) {
    const dir = agentPolicyDir(ctx.projectRoot);
    const text = genpolicyText(dir);
    const t0 = performance.now();
    const policy = compileModules([{ path: 'policy.rego', text }], { v0: true });
    const compileMs = performance.now() - t0;
    const allowed = allowedCreateContainerRequest(dir);
    const denied = genpolicyCases('createcontainer/env_vars', dir)[0]?.request ?? {};
    const data = { pstate: {} };
    const query = 'data.agent_policy.CreateContainerRequest';
    ctx.progress('warming up');
    timeMs(() => policy.evaluate(query, { input: allowed, data }), 50);
    ctx.progress(`evaluating ${RUNS} times`);
    const ok = timeMs(() => policy.evaluate(query, { input: allowed, data }), RUNS);
    const no = timeMs(() => policy.evaluate(query, { input: denied, data }), RUNS);
    const traced = timeMs(
      () => policy.evaluate(query, { input: allowed, data, print: () => undefined }),
      100,
    );
    ctx.progress('measuring ttrpc round trips');
    const rtt = await ttrpcRoundTripMs(ctx);
    const evalMs = median(ok);
    return {
      figures: [
        { label: `compile ${text.split('\n').length}-line policy`, value: compileMs, unit: 'ms' },
        { label: 'CreateContainerRequest allowed, median', value: evalMs, unit: 'ms' },
        { label: 'CreateContainerRequest allowed, p90', value: percentile(ok, 90), unit: 'ms' },
        { label: 'CreateContainerRequest allowed, fastest run', value: ok[0] ?? NaN, unit: 'ms' },
        { label: 'CreateContainerRequest denied, median', value: median(no), unit: 'ms' },
        {
          label: 'allowed with print() lines formatted, median',
          value: median(traced),
          unit: 'ms',
        },
        { label: 'ttrpc unary round trip (unix socket), median', value: rtt, unit: 'ms' },
      ],
      ratios: [{ label: 'rego CreateContainer eval / ttrpc round trip', value: evalMs / rtt }],
      notes: [
        'in-process: policy compiled once, input converted per evaluation',
        'the fastest run shows the cost without CPU contention from other processes',
      ],
    };
  },
};
