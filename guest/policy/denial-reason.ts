/**
 * A short, human reason for a denial. For CreateContainerRequest under a genpolicy policy it
 * compares the request with the policy's `policy_data.containers` (the container of the same name,
 * else the first with the same image) on the fields hosts most often change: image, command, env,
 * privileged-ness, capabilities and mounts. A policy with `violations.<Request>` rules (kata-cc's
 * rules.rego) gives its own messages. Otherwise it quotes the last print() lines.
 */
import { isPlainObject } from '#src/lib/index.js';
import { describeDenial, type JsonValue } from '#src/rego/index.js';

const MAX_SHOWN = 160;
const NAME_KEY = 'io.kubernetes.cri.container-name';
const IMAGE_KEY = 'io.kubernetes.cri.image-name';

type Obj = Record<string, JsonValue>;

function show(v: unknown): string {
  const s = v === undefined ? 'undefined' : JSON.stringify(v);
  return s.length > MAX_SHOWN ? `${s.slice(0, MAX_SHOWN)}…` : s;
}

function get(o: unknown, ...path: string[]): unknown {
  let cur = o;
  for (const k of path) cur = isPlainObject(cur) ? cur[k] : undefined;
  return cur;
}

/** genpolicy placeholders `$(name)` match any text; everything else literally. */
function matches(pattern: string, actual: string): boolean {
  if (!pattern.includes('$(')) return pattern === actual;
  const parts = pattern.split(/\$\([^)]*\)/).map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('[\\s\\S]*')}$`).test(actual);
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

function pickCandidate(containers: readonly Obj[], input: unknown): Obj | undefined {
  const name = get(input, 'OCI', 'Annotations', NAME_KEY);
  const image = get(input, 'OCI', 'Annotations', IMAGE_KEY);
  return (
    containers.find((c) => get(c, 'OCI', 'Annotations', NAME_KEY) === name) ??
    containers.find((c) => get(c, 'OCI', 'Annotations', IMAGE_KEY) === image) ??
    (containers.length === 1 ? containers[0] : undefined)
  );
}

function compareCaps(p: Obj, input: unknown): string | undefined {
  const pCaps = get(p, 'OCI', 'Process', 'Capabilities');
  const iCaps = get(input, 'OCI', 'Process', 'Capabilities');
  for (const set of ['Bounding', 'Effective', 'Permitted', 'Inheritable', 'Ambient']) {
    const allowed = strings(get(pCaps, set));
    if (allowed.some((c) => c.startsWith('$('))) continue;
    const extra = strings(get(iCaps, set)).filter((c) => !allowed.includes(c));
    if (extra.length > 0)
      return `OCI.Process.Capabilities.${set}: ${show(extra)} not allowed (expected a subset of ${show(allowed)})`;
  }
  return undefined;
}

function compareContainer(p: Obj, input: unknown): string | undefined {
  const pImage = get(p, 'OCI', 'Annotations', IMAGE_KEY);
  const iImage = get(input, 'OCI', 'Annotations', IMAGE_KEY);
  if (typeof pImage === 'string' && typeof iImage === 'string' && !matches(pImage, iImage))
    return `image: expected ${show(pImage)}, got ${show(iImage)}`;
  const pArgs = strings(get(p, 'OCI', 'Process', 'Args'));
  const iArgs = strings(get(input, 'OCI', 'Process', 'Args'));
  if (pArgs.length !== iArgs.length || pArgs.some((a, i) => !matches(a, iArgs[i] ?? '')))
    return `OCI.Process.Args: expected ${show(pArgs)}, got ${show(iArgs)}`;
  const pEnv = strings(get(p, 'OCI', 'Process', 'Env'));
  const badEnv = strings(get(input, 'OCI', 'Process', 'Env')).filter(
    (e) => !pEnv.some((pe) => matches(pe, e)),
  );
  if (badEnv.length > 0) return `OCI.Process.Env: ${show(badEnv)} not allowed by the policy`;
  const pPriv = get(p, 'OCI', 'Process', 'Capabilities', 'Bounding');
  const isPrivPolicy = strings(pPriv).includes('$(privileged_caps)');
  const caps = compareCaps(p, input);
  if (caps !== undefined) return isPrivPolicy ? caps : `${caps} (container is not privileged)`;
  const pMounts = new Set(
    (Array.isArray(get(p, 'OCI', 'Mounts')) ? (get(p, 'OCI', 'Mounts') as unknown[]) : []).map(
      (m) => get(m, 'destination'),
    ),
  );
  const iMounts = Array.isArray(get(input, 'OCI', 'Mounts'))
    ? (get(input, 'OCI', 'Mounts') as unknown[])
    : [];
  const extraMount = iMounts.find((m) => !pMounts.has(get(m, 'destination')));
  if (extraMount !== undefined && pMounts.size > 0)
    return `OCI.Mounts: mount of ${show(get(extraMount, 'source'))} at ${show(get(extraMount, 'destination'))} not in the policy`;
  return undefined;
}

export interface ReasonContext {
  readonly request: string;
  readonly input: unknown;
  readonly prints: readonly string[];
  readonly isUndefined: boolean;
  /** `policy_data` of the policy (genpolicy), when it has one. */
  readonly policyData: JsonValue | undefined;
  /** The policy's own `violations.<Request>` messages (kata-cc rules), when it has them. */
  readonly violations?: readonly string[] | undefined;
}

/** The reason text (without the "<Request> is blocked by policy: " prefix). */
export function denialReason(c: ReasonContext): string {
  if (c.isUndefined || c.request !== 'CreateContainerRequest') return describeDenial(c);
  if (c.violations !== undefined && c.violations.length > 0) return describeDenial(c);
  const containers = get(c.policyData, 'containers');
  if (!Array.isArray(containers)) return describeDenial(c);
  const cand = pickCandidate(
    containers.filter((x): x is Obj => isPlainObject(x)),
    c.input,
  );
  if (cand === undefined) return 'no container of the policy has this name or image';
  return compareContainer(cand, c.input) ?? describeDenial(c);
}
