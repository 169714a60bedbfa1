/**
 * The Kubernetes side of policy generation: finds the pod template of every workload in a
 * multi-document manifest and the ConfigMaps/Secrets next to it.
 */
import { isPlainObject, type JsonObject } from '#src/lib/index.js';
import { inputError } from './errors.js';

export type WorkloadKind =
  'Pod' | 'Deployment' | 'ReplicaSet' | 'StatefulSet' | 'DaemonSet' | 'Job' | 'CronJob';

export const WORKLOAD_KINDS: readonly WorkloadKind[] = [
  'Pod',
  'Deployment',
  'ReplicaSet',
  'StatefulSet',
  'DaemonSet',
  'Job',
  'CronJob',
];

export interface Workload {
  readonly kind: WorkloadKind;
  /** Index of the YAML document (0-based). */
  readonly doc: number;
  /** `file#N Kind/name` for messages. */
  readonly at: string;
  readonly name: string;
  /** metadata.namespace, '' when the manifest names none (any namespace). */
  readonly namespace: string;
  /** Regex (anchored) of the names Kubernetes gives this workload's pods. */
  readonly podNameRegex: string;
  /** Path of the pod template's metadata inside the document. */
  readonly templatePath: readonly string[];
  readonly podMeta: JsonObject;
  readonly podSpec: JsonObject;
}

/** ConfigMaps and Secrets of the same file, by namespace-less name: key → value. */
export interface ValueSources {
  readonly configMaps: ReadonlyMap<string, ReadonlyMap<string, string>>;
  readonly secrets: ReadonlyMap<string, ReadonlyMap<string, string>>;
}

function obj(v: unknown): JsonObject {
  return isPlainObject(v) ? v : {};
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

export function regexQuote(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$-]/g, '\\$&');
}

function podNameRegex(kind: WorkloadKind, meta: JsonObject): string {
  const name = regexQuote(str(meta['name']));
  switch (kind) {
    case 'Pod':
      return str(meta['name']) === '' && str(meta['generateName']) !== ''
        ? `^${regexQuote(str(meta['generateName']))}[a-z0-9]{5}$`
        : `^${name}$`;
    case 'Deployment':
      return `^${name}-[a-z0-9]{1,10}-[a-z0-9]{5}$`;
    case 'StatefulSet':
      return `^${name}-[0-9]+$`;
    case 'CronJob':
      return `^${name}-[0-9]{1,12}-[a-z0-9]{5}$`;
    case 'ReplicaSet':
    case 'DaemonSet':
    case 'Job':
      return `^${name}-[a-z0-9]{5}$`;
  }
}

function templateOf(kind: WorkloadKind): readonly string[] {
  if (kind === 'Pod') return [];
  if (kind === 'CronJob') return ['spec', 'jobTemplate', 'spec', 'template'];
  return ['spec', 'template'];
}

function at(doc: JsonObject, path: readonly string[]): unknown {
  let cur: unknown = doc;
  for (const k of path) cur = isPlainObject(cur) ? cur[k] : undefined;
  return cur;
}

function dataOf(doc: JsonObject, isSecret: boolean, where: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(obj(doc['data']))) {
    if (typeof v !== 'string') throw inputError(`${where}.data.${k}`, 'expected a string');
    if (!isSecret) out.set(k, v);
    else if (!/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(v))
      throw inputError(`${where}.data.${k}`, 'a Secret value must be base64');
    else out.set(k, Buffer.from(v, 'base64').toString('utf8'));
  }
  for (const [k, v] of Object.entries(obj(doc['stringData']))) out.set(k, str(v));
  for (const [k, v] of Object.entries(obj(doc['binaryData']))) out.set(k, str(v));
  return out;
}

/** Workloads and value sources of parsed YAML documents (`file` names them in messages). */
export function findWorkloads(
  docs: readonly unknown[],
  file: string,
): { workloads: Workload[]; sources: ValueSources } {
  const workloads: Workload[] = [];
  const configMaps = new Map<string, Map<string, string>>();
  const secrets = new Map<string, Map<string, string>>();
  docs.forEach((raw, i) => {
    if (raw === null || raw === undefined) return;
    const where = `${file}#${String(i + 1)}`;
    if (!isPlainObject(raw)) throw inputError(where, 'expected a Kubernetes object');
    const kind = str(raw['kind']);
    const meta = obj(raw['metadata']);
    const name = str(meta['name']);
    if (kind === 'ConfigMap' || kind === 'Secret') {
      const data = dataOf(raw, kind === 'Secret', `${where} ${kind}/${name}`);
      (kind === 'Secret' ? secrets : configMaps).set(name, data);
      return;
    }
    if (!(WORKLOAD_KINDS as readonly string[]).includes(kind)) return;
    const k = kind as WorkloadKind;
    const path = templateOf(k);
    const template = path.length === 0 ? raw : at(raw, path);
    const label = `${where} ${kind}/${name}`;
    if (!isPlainObject(template)) throw inputError(label, `${path.join('.')}: expected an object`);
    const spec = template['spec'];
    if (!isPlainObject(spec))
      throw inputError(label, `${[...path, 'spec'].join('.')}: expected an object`);
    if (name === '' && !(k === 'Pod' && str(meta['generateName']) !== ''))
      throw inputError(label, 'metadata.name is missing');
    workloads.push({
      kind: k,
      doc: i,
      at: label,
      name,
      namespace: str(meta['namespace']),
      podNameRegex: podNameRegex(k, meta),
      templatePath: [...path, 'metadata'],
      podMeta: obj(template['metadata']),
      podSpec: spec,
    });
  });
  return { workloads, sources: { configMaps, secrets } };
}
