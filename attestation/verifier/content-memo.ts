import { createHash, type X509Certificate } from 'node:crypto';

/**
 * A bounded, least-recently-used memo for results that are pure functions of their input bytes
 * (parsing a certificate, CRL or TCB info; whether a signature over fixed bytes verifies under a
 * fixed key). Keys are content digests (see `contentKey`), so a hit is only ever the answer for
 * byte-identical input: caching never changes a verdict, it only skips repeating it. A computation
 * that throws is not remembered. Anything that depends on the clock (validity windows, nextUpdate)
 * must stay outside the memo and be re-checked on every call.
 */
export class ContentMemo<V> {
  readonly #max: number;
  readonly #entries = new Map<string, V>();

  constructor(max = 512) {
    this.#max = max;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string, compute: () => V): V {
    const hit = this.#entries.get(key);
    if (hit !== undefined || this.#entries.has(key)) {
      this.#entries.delete(key);
      this.#entries.set(key, hit as V);
      return hit as V;
    }
    const value = compute();
    this.#entries.set(key, value);
    if (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    return value;
  }

  clear(): void {
    this.#entries.clear();
  }
}

const BYTES_KEYS = new WeakMap<Uint8Array, string>();
const CERT_KEYS = new WeakMap<X509Certificate, string>();

function bytesKey(b: Uint8Array): string {
  let k = BYTES_KEYS.get(b);
  if (k === undefined) {
    k = createHash('sha256').update(b).digest('base64');
    BYTES_KEYS.set(b, k);
  }
  return k;
}

function certKey(c: X509Certificate): string {
  let k = CERT_KEYS.get(c);
  if (k === undefined) {
    k = c.fingerprint256;
    CERT_KEYS.set(c, k);
  }
  return k;
}

/**
 * A key that identifies the parts by content: strings as themselves (length-prefixed), byte arrays
 * by their SHA-256 (remembered per array object, so a buffer seen again costs a WeakMap lookup),
 * certificates by their SHA-256 fingerprint (remembered per object).
 */
export function contentKey(...parts: readonly (string | Uint8Array | X509Certificate)[]): string {
  return parts
    .map((p) =>
      typeof p === 'string'
        ? `s${String(p.length)}:${p}`
        : p instanceof Uint8Array
          ? `b:${bytesKey(p)}`
          : `c:${certKey(p)}`,
    )
    .join('|');
}
