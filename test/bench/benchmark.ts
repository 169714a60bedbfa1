/**
 * Benchmark harness contract. Each benchmark measures our code and, in the same run, a peer or a
 * physical limit, and reports the ratio. Never asserted by tests: `npm run bench [-- NAME…]`.
 */
export interface BenchContext {
  readonly projectRoot: string;
  readonly signal: AbortSignal;
  /** Progress lines for the operator (stderr). */
  progress(line: string): void;
}

export interface BenchFigure {
  readonly label: string;
  readonly value: number;
  readonly unit: string;
}

export interface BenchRatio {
  /** e.g. "ours / go-ttrpc calls per second". */
  readonly label: string;
  readonly value: number;
}

export interface BenchResult {
  readonly figures: readonly BenchFigure[];
  readonly ratios: readonly BenchRatio[];
  readonly notes?: readonly string[] | undefined;
}

export interface Benchmark {
  readonly name: string;
  readonly summary: string;
  run(ctx: BenchContext): Promise<BenchResult>;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? NaN;
}

export function median(values: readonly number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}
