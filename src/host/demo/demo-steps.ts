/** Prints the demo's numbered steps with their timings, and keeps them for the summary. */
export interface StepRecord {
  readonly title: string;
  readonly ms: number;
  readonly detail: string;
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

  /** Runs one step; its result's string form (if any) is printed as the step's detail. */
  async step<T>(title: string, fn: () => Promise<T>, detail?: (v: T) => string): Promise<T> {
    this.#n++;
    const label = `[${this.#n}/${this.#total}] ${title}`;
    this.#out.write(`${label} ...\n`);
    const t0 = this.#now();
    const value = await fn();
    const ms = this.#now() - t0;
    const text = detail ? detail(value) : '';
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
