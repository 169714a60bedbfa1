/**
 * `kata-cc policy generate`: a manifest in, per workload a policy (our rules + policy_data), and
 * the manifest back with each pod template annotated (initdata with policy.rego, or the legacy
 * base64 policy annotation).
 */
import { isPlainObject, type JsonObject } from '#src/lib/index.js';
import { encodeInitDataAnnotation, INITDATA_ANNOTATION } from '#src/tee/index.js';
import { stringify as stringifyToml } from 'smol-toml';
import { isMap, parseAllDocuments, type Document } from 'yaml';
import { needsPasswd, pauseContainer, workloadContainer } from './container-policy.js';
import { inputError } from './errors.js';
import type { ImageSource } from './image-source.js';
import type { PolicySettings } from './settings.js';
import { findWorkloads, type ValueSources, type Workload } from './workloads.js';

export const LEGACY_POLICY_ANNOTATION = 'io.katacontainers.config.agent.policy';

export interface GenerateOptions {
  /** policies/agent/rules.rego */
  readonly rules: string;
  readonly settings: PolicySettings;
  readonly images: ImageSource;
  /** Allow ReadStdout/ReadStderr (container logs); default off. */
  readonly allowLogs?: boolean | undefined;
  /** Allow WriteStdin/CloseStdin. */
  readonly allowStdin?: boolean | undefined;
  /** Extra commands any container may exec (`kubectl exec`), each an argv. */
  readonly execCommands?: readonly (readonly string[])[] | undefined;
  /** Write `io.katacontainers.config.agent.policy` (base64 policy) instead of initdata. */
  readonly legacyAnnotation?: boolean | undefined;
  readonly signal?: AbortSignal | undefined;
}

export interface GeneratedPolicy {
  readonly workload: Workload;
  readonly policyData: JsonObject;
  /** rules + `policy_data := {…}` */
  readonly policy: string;
  /** The annotation value written into the pod template. */
  readonly annotation: { readonly key: string; readonly value: string };
}

export interface GenerateResult {
  readonly policies: readonly GeneratedPolicy[];
  /** The manifest with every pod template annotated. */
  readonly yaml: string;
}

function containersOf(w: Workload): { c: JsonObject; at: string }[] {
  const out: { c: JsonObject; at: string }[] = [];
  for (const key of ['initContainers', 'containers']) {
    const list = w.podSpec[key];
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw inputError(w.at, `spec.${key}: expected a list`);
    list.forEach((c, i) => {
      const at = `${w.at} spec.${key}[${String(i)}]`;
      if (!isPlainObject(c)) throw inputError(at, 'expected an object');
      if (typeof c['name'] !== 'string' || c['name'] === '')
        throw inputError(at, 'name is missing');
      if (typeof c['image'] !== 'string' || c['image'] === '')
        throw inputError(at, 'image is missing');
      out.push({ c, at });
    });
  }
  if (!out.some((x) => x.at.includes('spec.containers')))
    throw inputError(w.at, 'spec.containers is empty');
  return out;
}

/** `$(name)` of the `common` strings replaced (a few rounds: sfprefix holds $(cpath)). */
function expandCommon(s: string, common: JsonObject): string {
  let out = s;
  for (let round = 0; round < 3 && out.includes('$('); round++)
    out = out.replace(/\$\(([\w-]+)\)/g, (all, name: string) => {
      const v = common[name];
      return typeof v === 'string' ? v : all;
    });
  return out;
}

function requestDefaults(o: GenerateOptions): JsonObject {
  const d = structuredClone(o.settings.request_defaults) as Record<string, unknown>;
  // the env regexes hold only common placeholders: expand them once here, not per request
  const cc = d['CreateContainerRequest'];
  if (isPlainObject(cc) && Array.isArray(cc['allow_env_regex']))
    d['CreateContainerRequest'] = {
      ...cc,
      allow_env_regex: cc['allow_env_regex'].map((re: unknown) =>
        typeof re === 'string' ? expandCommon(re, o.settings.common) : re,
      ),
    };
  if (o.allowLogs === true) d['ReadStreamRequest'] = true;
  if (o.allowStdin === true) {
    d['WriteStreamRequest'] = true;
    d['CloseStdinRequest'] = true;
  }
  if (o.execCommands !== undefined && o.execCommands.length > 0) {
    const exec = isPlainObject(d['ExecProcessRequest']) ? { ...d['ExecProcessRequest'] } : {};
    const prev: unknown[] = Array.isArray(exec['allowed_commands']) ? exec['allowed_commands'] : [];
    exec['allowed_commands'] = [...prev, ...o.execCommands];
    d['ExecProcessRequest'] = exec;
  }
  return d;
}

async function policyDataOf(
  w: Workload,
  src: ValueSources,
  o: GenerateOptions,
): Promise<JsonObject> {
  const containers: JsonObject[] = [pauseContainer(o.settings, w)];
  for (const { c, at } of containersOf(w)) {
    let facts = await o.images.facts(String(c['image']), o.signal);
    if (o.images.passwd && facts.passwd === undefined && needsPasswd(facts, c, w))
      facts = { ...facts, passwd: await o.images.passwd(String(c['image']), o.signal) };
    containers.push(workloadContainer(o.settings, w, c, facts, src, at));
  }
  return {
    containers,
    common: o.settings.common,
    sandbox: o.settings.sandbox,
    request_defaults: requestDefaults(o),
  };
}

/** The policy text: our rules, then the data as one Rego object literal (JSON is valid Rego). */
export function policyText(rules: string, policyData: JsonObject): string {
  return `${rules.trimEnd()}\n\npolicy_data := ${JSON.stringify(policyData, null, 2)}\n`;
}

/** The initdata TOML holding policy.rego, as the pod annotation carries it (base64 of gzip). */
export function initDataToml(policy: string, algorithm = 'sha256'): string {
  return stringifyToml({ version: '0.1.0', algorithm, data: { 'policy.rego': policy } });
}

function annotate(doc: Document, w: Workload, key: string, value: string): void {
  const path = [...w.templatePath, 'annotations'];
  if (!isMap(doc.getIn(path, true))) doc.setIn(path, doc.createNode({}));
  doc.setIn([...path, key], value);
}

/** Generates a policy per workload of `yamlText` and returns the annotated manifest. */
export async function generatePolicies(
  yamlText: string,
  file: string,
  o: GenerateOptions,
): Promise<GenerateResult> {
  const docs = parseAllDocuments(yamlText);
  if (!Array.isArray(docs)) throw inputError(file, 'not a YAML stream');
  for (const [i, d] of docs.entries()) {
    const first = d.errors[0];
    if (first !== undefined) throw inputError(`${file}#${String(i + 1)}`, first.message);
  }
  const { workloads, sources } = findWorkloads(
    docs.map((d) => d.toJS() as unknown),
    file,
  );
  if (workloads.length === 0)
    throw inputError(
      file,
      'no Pod, Deployment, ReplicaSet, StatefulSet, DaemonSet, Job or CronJob',
    );
  const policies: GeneratedPolicy[] = [];
  for (const w of workloads) {
    const policyData = await policyDataOf(w, sources, o);
    const policy = policyText(o.rules, policyData);
    const annotation = o.legacyAnnotation
      ? { key: LEGACY_POLICY_ANNOTATION, value: Buffer.from(policy).toString('base64') }
      : {
          key: INITDATA_ANNOTATION,
          value: encodeInitDataAnnotation(new TextEncoder().encode(initDataToml(policy))),
        };
    const doc = docs[w.doc];
    if (doc !== undefined) annotate(doc, w, annotation.key, annotation.value);
    policies.push({ workload: w, policyData, policy, annotation });
  }
  const yaml = docs
    .map((d, i) => {
      const text = d.toString();
      return i === 0 || text.startsWith('---') ? text : `---\n${text}`;
    })
    .join('');
  return { policies, yaml };
}
