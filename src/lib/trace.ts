/**
 * Protocol trace switches, `CC_TRACE=ttrpc,qmp,kbs` or `all,-ttrpc` (like grpc-js GRPC_TRACE).
 * Checking a switch costs one Set lookup; with tracing off nothing else runs.
 */
export class TraceSwitches {
  readonly #on: ReadonlySet<string>;
  readonly #off: ReadonlySet<string>;
  readonly #all: boolean;
  constructor(spec = '') {
    const on = new Set<string>();
    const off = new Set<string>();
    let all = false;
    for (const raw of spec.split(',')) {
      const name = raw.trim().toLowerCase();
      if (name === '') continue;
      if (name === 'all') all = true;
      else if (name.startsWith('-')) off.add(name.slice(1));
      else on.add(name);
    }
    this.#on = on;
    this.#off = off;
    this.#all = all;
  }
  enabled(name: string): boolean {
    if (this.#off.has(name)) return false;
    return this.#all || this.#on.has(name);
  }
}

export const NO_TRACE = new TraceSwitches('');
