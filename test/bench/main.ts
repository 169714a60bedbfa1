// `npm run bench [-- NAME…]`: runs the benchmarks and prints figures and ratios.
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { BENCHMARKS } from './registry.js';
import type { BenchResult } from './benchmark.js';

const here = dirname(fileURLToPath(import.meta.url));
const projectRoot = here.endsWith('dist') ? join(here, '..') : join(here, '..', '..');
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = wanted.filter((w) => !BENCHMARKS.some((b) => b.name === w));
if (unknown.length > 0) {
  console.error(
    `unknown benchmark(s): ${unknown.join(', ')}; known: ${BENCHMARKS.map((b) => b.name).join(', ')}`,
  );
  process.exit(2);
}
const selected =
  wanted.length === 0 ? BENCHMARKS : BENCHMARKS.filter((b) => wanted.includes(b.name));
const controller = new AbortController();
process.once('SIGINT', () => {
  controller.abort();
});

function print(name: string, r: BenchResult): void {
  console.log(`\n== ${name}`);
  for (const f of r.figures)
    console.log(
      `  ${f.label.padEnd(52)} ${f.value.toFixed(f.value < 10 ? 3 : 1).padStart(12)} ${f.unit}`,
    );
  for (const q of r.ratios)
    console.log(`  ratio ${q.label.padEnd(46)} ${q.value.toFixed(3).padStart(12)}`);
  for (const n of r.notes ?? []) console.log(`  note: ${n}`);
}

let failed = 0;
for (const b of selected) {
  console.error(`[bench] ${b.name}: ${b.summary}`);
  try {
    const r = await b.run({
      projectRoot,
      signal: controller.signal,
      progress: (line) => {
        console.error(`[bench] ${b.name}: ${line}`);
      },
    });
    print(b.name, r);
  } catch (err) {
    failed++;
    console.error(`[bench] ${b.name} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}
if (selected.length === 0) console.error('[bench] no benchmarks registered yet');
process.exitCode = failed > 0 ? 1 : 0;
