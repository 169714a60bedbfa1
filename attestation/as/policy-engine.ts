import { createHash } from 'node:crypto';
import { compileModules, type CompiledPolicy } from '#src/rego/index.js';
import { AsError } from './errors.js';

/** Evaluates a Rego policy text; the seam for another engine (e.g. an OPA sidecar). */
export interface PolicyEngine {
  /** Checks that `text` compiles; throws ERR_AS_POLICY naming the problem. */
  validate(text: string, name: string): void;
  /** The value of `data.<pkg>.<rule>` for each rule (undefined when the rule is undefined). */
  evaluate(
    text: string,
    name: string,
    rules: readonly string[],
    input: unknown,
    data: unknown,
  ): Record<string, unknown>;
}

/** PolicyEngine on src/rego, caching compiled policies by text digest. */
export class RegoPolicyEngine implements PolicyEngine {
  readonly #cache = new Map<string, { policy: CompiledPolicy; pkg: string }>();

  validate(text: string, name: string): void {
    this.#compile(text, name);
  }

  evaluate(
    text: string,
    name: string,
    rules: readonly string[],
    input: unknown,
    data: unknown,
  ): Record<string, unknown> {
    const { policy, pkg } = this.#compile(text, name);
    const out: Record<string, unknown> = {};
    try {
      for (const rule of rules) {
        const r = policy.evaluate([...pkg.split('.'), rule], { input, data });
        out[rule] = r.value;
      }
    } catch (err) {
      throw new AsError(
        'internal',
        'ERR_AS_POLICY',
        `policy ${name} evaluation failed: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
    return out;
  }

  #compile(text: string, name: string): { policy: CompiledPolicy; pkg: string } {
    const key = createHash('sha256').update(text).digest('hex');
    const hit = this.#cache.get(key);
    if (hit) return hit;
    let policy: CompiledPolicy;
    try {
      policy = compileModules([{ path: `${name}.rego`, text }]);
    } catch (err) {
      throw new AsError(
        'invalid_argument',
        'ERR_AS_POLICY',
        `policy ${name} does not compile: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
    const m = /^\s*package\s+([A-Za-z_][\w.]*)/m.exec(text);
    if (!m?.[1])
      throw new AsError(
        'invalid_argument',
        'ERR_AS_POLICY',
        `policy ${name}: no package declaration`,
      );
    const entry = { policy, pkg: m[1] };
    if (this.#cache.size > 64) this.#cache.clear();
    this.#cache.set(key, entry);
    return entry;
  }
}
