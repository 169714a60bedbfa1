/** A container's environment as the policy allows it: literals, ConfigMap/Secret values, placeholders. */
import { isPlainObject, type JsonObject } from '#src/lib/index.js';
import { inputError } from './errors.js';
import { expandVars, lit, ph, type Template } from './template.js';
import type { ValueSources, Workload } from './workloads.js';

function obj(v: unknown): JsonObject {
  return isPlainObject(v) ? v : {};
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

const FIELD_PLACEHOLDERS: Readonly<Record<string, string>> = {
  'metadata.name': 'sandbox-name',
  'metadata.uid': 'pod-uid',
  'spec.nodeName': 'node-name',
  'status.hostIP': 'host-ip',
  'status.hostIPs': 'host-ips',
  'status.podIP': 'pod-ip',
  'status.podIPs': 'pod-ips',
};

function fieldValue(path: string, w: Workload, at: string): Template {
  const placeholder = FIELD_PLACEHOLDERS[path];
  if (placeholder !== undefined) return ph(placeholder);
  if (path === 'metadata.namespace')
    return w.namespace === '' ? ph('sandbox-namespace') : lit(w.namespace);
  if (path === 'spec.serviceAccountName')
    return lit(
      str(w.podSpec['serviceAccountName']) || str(w.podSpec['serviceAccount']) || 'default',
    );
  const m = /^metadata\.(labels|annotations)\['([^']*)'\]$/.exec(path);
  if (m?.[1] !== undefined && m[2] !== undefined) {
    const value = obj(w.podMeta[m[1]])[m[2]];
    if (typeof value === 'string') return lit(value);
    // labels set by controllers at run time
    if (m[2] === 'pod-template-hash' || m[2] === 'controller-revision-hash') return ph(m[2]);
    return lit('');
  }
  throw inputError(at, `fieldRef.fieldPath ${JSON.stringify(path)} is not supported`);
}

function keyRef(
  ref: JsonObject,
  table: ValueSources['configMaps'],
  kind: string,
  at: string,
): Template | undefined {
  const data = table.get(str(ref['name']));
  const value = data?.get(str(ref['key']));
  if (value !== undefined) return lit(value);
  if (ref['optional'] === true) return undefined;
  throw inputError(
    at,
    `${kind} ${JSON.stringify(str(ref['name']))} key ${JSON.stringify(str(ref['key']))} is not in this file (add the ${kind} to the manifest or mark the reference optional)`,
  );
}

function valueFrom(v: JsonObject, w: Workload, s: ValueSources, at: string): Template | undefined {
  if (isPlainObject(v['fieldRef'])) return fieldValue(str(v['fieldRef']['fieldPath']), w, at);
  if (isPlainObject(v['resourceFieldRef'])) return ph('resource-field');
  if (isPlainObject(v['configMapKeyRef']))
    return keyRef(v['configMapKeyRef'], s.configMaps, 'ConfigMap', at);
  if (isPlainObject(v['secretKeyRef'])) return keyRef(v['secretKeyRef'], s.secrets, 'Secret', at);
  throw inputError(
    at,
    'valueFrom: expected fieldRef, resourceFieldRef, configMapKeyRef or secretKeyRef',
  );
}

function envFrom(c: JsonObject, s: ValueSources, at: string, vars: Map<string, Template>): void {
  list(c['envFrom']).forEach((raw, i) => {
    const e = obj(raw);
    const where = `${at}.envFrom[${String(i)}]`;
    const isSecret = isPlainObject(e['secretRef']);
    const ref = obj(isSecret ? e['secretRef'] : e['configMapRef']);
    const data = (isSecret ? s.secrets : s.configMaps).get(str(ref['name']));
    if (data === undefined) {
      if (ref['optional'] === true) return;
      throw inputError(
        where,
        `${isSecret ? 'Secret' : 'ConfigMap'} ${JSON.stringify(str(ref['name']))} is not in this file`,
      );
    }
    for (const [k, v] of data) vars.set(`${str(e['prefix'])}${k}`, lit(v));
  });
}

/** NAME → value of the container's environment in Kubernetes order (envFrom, then env). */
export function containerEnv(
  c: JsonObject,
  w: Workload,
  s: ValueSources,
  at: string,
): Map<string, Template> {
  const vars = new Map<string, Template>();
  envFrom(c, s, at, vars);
  list(c['env']).forEach((raw, i) => {
    const e = obj(raw);
    const where = `${at}.env[${String(i)}]`;
    const name = str(e['name']);
    if (name === '') throw inputError(where, 'name is missing');
    const value = isPlainObject(e['valueFrom'])
      ? valueFrom(e['valueFrom'], w, s, `${where}.valueFrom`)
      : expandVars(str(e['value']), vars);
    if (value === undefined) vars.delete(name);
    else vars.set(name, value);
  });
  return vars;
}
