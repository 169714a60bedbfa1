import type { KeyValue } from '../generated/ttrpc/ttrpc.js';

/** Request metadata as a caller gives it: one value or several per key. */
export type Metadata = Readonly<Record<string, string | readonly string[]>>;

/** containerd's namespace rides in this metadata key on ttrpc. */
export const CONTAINERD_NAMESPACE_KEY = 'containerd-namespace-ttrpc';

/** Keys are lower-cased, as Go's ttrpc.MD does. */
export function toKeyValues(metadata: Metadata | undefined): KeyValue[] {
  if (!metadata) return [];
  const out: KeyValue[] = [];
  for (const [key, value] of Object.entries(metadata)) {
    const k = key.toLowerCase();
    if (typeof value === 'string') out.push({ key: k, value });
    else for (const v of value) out.push({ key: k, value: v });
  }
  return out;
}

/** The metadata of a received request, keys lower-cased, values in wire order. */
export function fromKeyValues(pairs: readonly KeyValue[]): ReadonlyMap<string, readonly string[]> {
  const map = new Map<string, string[]>();
  for (const { key, value } of pairs) {
    const k = key.toLowerCase();
    const list = map.get(k);
    if (list) list.push(value);
    else map.set(k, [value]);
  }
  return map;
}
