import { CcError } from '#src/lib/index.js';

/** Prints the demo's numbered steps with their timings, and keeps them for the summary. */
export interface StepRecord {
  readonly title: string;
  readonly ms: number;
  readonly detail: string;
}

export interface StepOptions<T> {
  /** The step's result as the step line's detail. */
  readonly detail?: ((v: T) => string) | undefined;
  /** Where to look when the step fails (a log file or folder), named in the error. */
  readonly log?: string | undefined;
}

export class DemoSteps {
  readonly #out: NodeJS.WritableStream;
  readonly #total: number;
  readonly #now: () => number;
  readonly records: StepRecord[] = [];
  #n = 0;

  constructor(
    out: NodeJS.WritableStream,
    total: number,
    now: () => number = () => performance.now(),
  ) {
    this.#out = out;
    this.#total = total;
    this.#now = now;
  }

  /**
   * Runs one step; its result's string form (if any) is printed as the step's detail. A failure is
   * printed as `FAILED` and rethrown as ERR_DEMO_STEP naming the step (and its log), the original
   * error as its cause; a CcError's kind is kept.
   */
  async step<T>(
    title: string,
    fn: () => Promise<T>,
    opts: StepOptions<T> | ((v: T) => string) = {},
  ): Promise<T> {
    const o = typeof opts === 'function' ? { detail: opts } : opts;
    this.#n++;
    const label = `[${this.#n}/${this.#total}] ${title}`;
    this.#out.write(`${label} ...\n`);
    const t0 = this.#now();
    let value: T;
    try {
      value = await fn();
    } catch (err) {
      const s = ((this.#now() - t0) / 1000).toFixed(2);
      this.#out.write(`${label}: FAILED after ${s} s\n`);
      const msg = err instanceof Error ? err.message : String(err);
      const where = o.log === undefined ? '' : ` (log: ${o.log})`;
      throw new CcError(
        err instanceof CcError ? err.kind : 'internal',
        'ERR_DEMO_STEP',
        `demo step ${this.#n}/${this.#total} "${title}" failed${where}: ${msg}`,
        { cause: err },
      );
    }
    const ms = this.#now() - t0;
    const text = o.detail ? o.detail(value) : '';
    this.records.push({ title, ms, detail: text });
    this.#out.write(
      `${label}: done in ${(ms / 1000).toFixed(2)} s${text === '' ? '' : ` — ${text}`}\n`,
    );
    return value;
  }

  /** A line of output inside the current step. */
  say(line: string): void {
    this.#out.write(`      ${line}\n`);
  }
}
