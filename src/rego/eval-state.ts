import type { RuleGroup, DataNode } from './compile.js';
import { RegoObject, type RegoValue } from './value.js';

/** `with data.a.b as v` overrides, as a path trie. */
export interface Override {
  value: RegoValue | undefined;
  readonly children: Map<string, Override>;
}

export type Mock =
  | { readonly kind: 'value'; readonly value: RegoValue }
  | { readonly kind: 'group'; readonly group: RuleGroup }
  | { readonly kind: 'builtin'; readonly name: string };

export const UNDEF = Symbol('undefined');
export const BUSY = Symbol('busy');

/** Per-evaluation state; `with` makes a copy with a fresh rule cache. */
export interface EvalState {
  readonly input: RegoValue | undefined;
  readonly data: RegoValue;
  readonly overrides: Override | undefined;
  readonly mocks: ReadonlyMap<string, Mock>;
  readonly cache: Map<RuleGroup, RegoValue | typeof UNDEF | typeof BUSY>;
}

export function findNode(root: DataNode, path: readonly string[]): DataNode | undefined {
  let n: DataNode | undefined = root;
  for (const p of path) {
    n = n.children.get(p);
    if (!n) return undefined;
  }
  return n;
}

export function addOverride(
  root: Override | undefined,
  path: readonly string[],
  value: RegoValue,
): Override {
  const top: Override = root ? cloneOverride(root) : { value: undefined, children: new Map() };
  let n = top;
  for (const p of path) {
    let c = n.children.get(p);
    c = c ? cloneOverride(c) : { value: undefined, children: new Map() };
    n.children.set(p, c);
    n = c;
  }
  n.value = value;
  n.children.clear();
  return top;
}

function cloneOverride(o: Override): Override {
  return { value: o.value, children: new Map(o.children) };
}

/** Applies the overrides below a node to a base value. */
export function applyOverrides(v: RegoValue | undefined, ov: Override): RegoValue {
  if (ov.value !== undefined) return ov.value;
  const obj = v instanceof RegoObject ? v.clone() : new RegoObject();
  for (const [k, c] of ov.children) obj.set(k, applyOverrides(obj.get(k), c));
  return obj;
}

/** Sets `v` at `path` inside `base` (creating objects), returning a new value. */
export function setPath(
  base: RegoValue | undefined,
  path: readonly RegoValue[],
  v: RegoValue,
): RegoValue {
  if (path.length === 0) return v;
  const [head, ...rest] = path as [RegoValue, ...RegoValue[]];
  const obj = base instanceof RegoObject ? base.clone() : new RegoObject();
  obj.set(head, setPath(obj.get(head), rest, v));
  return obj;
}
