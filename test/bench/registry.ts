import type { Benchmark } from './benchmark.js';
import { bootAgentBenchmark, bootBenchmark } from './boot.js';
import { kbsBenchmark } from './kbs.js';
import { pullBenchmark } from './pull.js';
import { regoBenchmark } from './rego.js';
import { ttrpcBenchmark } from './ttrpc.js';

/** Every benchmark, listed once; `npm run bench -- NAME` runs one. */
export const BENCHMARKS: readonly Benchmark[] = [
  bootBenchmark,
  bootAgentBenchmark,
  pullBenchmark,
  regoBenchmark,
  ttrpcBenchmark,
  kbsBenchmark,
];
