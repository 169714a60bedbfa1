/**
 * ttrpc benchmark: unary Echo calls per second and p50/p99 latency for our client ⇄ our server over a
 * unix socket, against the Go implementation (containerd/ttrpc) measured in the same run, plus the
 * two mixed pairs (Go client → our server, our client → Go server) to tell client from server cost.
 */
import { connect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createTypedClient,
  registerTypedService,
  TtrpcClient,
  TtrpcServer,
} from '#src/protocol/ttrpc/index.js';
import {
  buildGoTtrpcPeer,
  INTEROP_SERVICE,
  msg,
  runGoPeer,
  startGoServer,
} from '#test/helpers/go-ttrpc.js';
import { percentile } from './benchmark.js';
import type { Benchmark, BenchContext, BenchFigure, BenchRatio, BenchResult } from './benchmark.js';

interface Run {
  readonly callsPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

const SHAPES = [
  { name: 'sequential', calls: 5000, parallel: 1 },
  { name: '16 in flight', calls: 30000, parallel: 16 },
] as const;

async function ourClientRun(socket: string, calls: number, parallel: number): Promise<Run> {
  const sock = connect(socket);
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  const raw = new TtrpcClient(sock);
  const client = createTypedClient(raw, INTEROP_SERVICE);
  const req = msg({ text: 'bench' });
  for (let i = 0; i < 500; i++) await client.Echo(req); // warm-up (JIT)
  const lat = new Float64Array(calls);
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < calls) {
        const i = next++;
        const s = performance.now();
        await client.Echo(req);
        lat[i] = performance.now() - s;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  await raw.close();
  const sorted = Array.from(lat).sort((a, b) => a - b);
  return {
    callsPerS: calls / seconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
  };
}

async function goClientRun(
  binary: string,
  socket: string,
  calls: number,
  parallel: number,
): Promise<Run> {
  await runGoPeer(binary, ['bench', socket, '500', '1']); // warm-up
  const [r] = await runGoPeer(binary, ['bench', socket, String(calls), String(parallel)]);
  if (!r) throw new Error('go bench printed nothing');
  return {
    callsPerS: Number(r['calls_per_s']),
    p50Ms: Number(r['p50_ms']),
    p99Ms: Number(r['p99_ms']),
  };
}

function figures(pair: string, shape: string, r: Run): BenchFigure[] {
  return [
    { label: `${pair}, ${shape}: calls/s`, value: r.callsPerS, unit: 'calls/s' },
    { label: `${pair}, ${shape}: p50`, value: r.p50Ms, unit: 'ms' },
    { label: `${pair}, ${shape}: p99`, value: r.p99Ms, unit: 'ms' },
  ];
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  const build = await buildGoTtrpcPeer(ctx.projectRoot);
  if ('skipReason' in build) throw new Error(`cannot measure the Go peer: ${build.skipReason}`);
  const dir = mkdtempSync(join(tmpdir(), 'kata-cc-bench-ttrpc-'));
  const server = new TtrpcServer();
  registerTypedService(server, INTEROP_SERVICE, {
    Echo: (req) => Promise.resolve(msg({ text: req.text, blob: req.blob })),
  });
  const ours = join(dir, 'ours.sock');
  await server.listen(ours);
  const go = await startGoServer(build.binary, join(dir, 'go.sock'));
  const out: BenchFigure[] = [];
  const ratios: BenchRatio[] = [];
  try {
    for (const shape of SHAPES) {
      ctx.progress(`${shape.name}: ours ⇄ ours`);
      const oo = await ourClientRun(ours, shape.calls, shape.parallel);
      ctx.progress(`${shape.name}: go ⇄ go`);
      const gg = await goClientRun(build.binary, go.socket, shape.calls, shape.parallel);
      ctx.progress(`${shape.name}: go client → our server`);
      const gs = await goClientRun(build.binary, ours, shape.calls, shape.parallel);
      ctx.progress(`${shape.name}: our client → go server`);
      const og = await ourClientRun(go.socket, shape.calls, shape.parallel);
      out.push(
        ...figures('ours ⇄ ours', shape.name, oo),
        ...figures('go ⇄ go', shape.name, gg),
        ...figures('go client → our server', shape.name, gs),
        ...figures('our client → go server', shape.name, og),
      );
      ratios.push(
        { label: `ours/go calls/s, ${shape.name}`, value: oo.callsPerS / gg.callsPerS },
        { label: `ours/go p50 latency, ${shape.name}`, value: oo.p50Ms / gg.p50Ms },
        {
          label: `our server/go server calls/s (go client), ${shape.name}`,
          value: gs.callsPerS / gg.callsPerS,
        },
        {
          label: `our client/go client calls/s (go server), ${shape.name}`,
          value: og.callsPerS / gg.callsPerS,
        },
      );
    }
  } finally {
    await go.stop();
    await server.close({ graceMs: 500 });
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    figures: out,
    ratios,
    notes: [
      'unary Echo of a small message (kata.test.Msg) over a unix socket, one connection per pair',
      'ours ⇄ ours runs client and server on one Node thread; the Go pairs use separate processes',
      'Go peer: containerd/ttrpc 1.1.1 (Debian golang-github-containerd-ttrpc-dev), GOPATH build',
    ],
  };
}

export const ttrpcBenchmark: Benchmark = {
  name: 'ttrpc',
  summary: 'unary ttrpc calls/s and p50/p99, ours vs the Go implementation in the same run',
  run,
};
