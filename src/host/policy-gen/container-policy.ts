/**
 * One `policy_data.containers` entry: what the shim will send in CreateContainerRequest for a
 * container of the manifest, as containerd builds the OCI spec (image config + pod spec).
 */
import { isPlainObject, type JsonObject } from '#src/lib/index.js';
import { containerEnv } from './env.js';
import { inputError } from './errors.js';
import type { ImageFacts } from './image-source.js';
import type { PolicyMount, PolicySettings } from './settings.js';
import { expandVars, lit, renderTemplate, type Template } from './template.js';
import type { ValueSources, Workload } from './workloads.js';

const NAME_KEY = 'io.kubernetes.cri.container-name';
const TYPE_KEY = 'io.kubernetes.cri.container-type';
const IMAGE_KEY = 'io.kubernetes.cri.image-name';
const BUNDLE_KEY = 'io.katacontainers.pkg.oci.bundle_path';
const KATA_TYPE_KEY = 'io.katacontainers.pkg.oci.container_type';
const BUNDLE_PATH = '/run/containerd/io.containerd.runtime.v2.task/k8s.io/$(bundle-id)';
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

function obj(v: unknown): JsonObject {
  return isPlainObject(v) ? v : {};
}

function strs(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

function int(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) ? v : undefined;
}

function sandboxAnnotations(w: Workload): Record<string, string> {
  return {
    'io.kubernetes.cri.sandbox-name': w.podNameRegex,
    'io.kubernetes.cri.sandbox-namespace': w.namespace,
    'io.kubernetes.cri.sandbox-id': '^[a-z0-9]{64}$',
    [BUNDLE_KEY]: BUNDLE_PATH,
  };
}

function linux(s: PolicySettings, w: Workload, privileged: boolean): JsonObject {
  const sysctls: Record<string, string> = { ...s.sysctls };
  for (const raw of Array.isArray(obj(w.podSpec['securityContext'])['sysctls'])
    ? (obj(w.podSpec['securityContext'])['sysctls'] as unknown[])
    : []) {
    const o = obj(raw);
    if (typeof o['name'] === 'string')
      sysctls[o['name']] =
        typeof o['value'] === 'string' ? o['value'] : JSON.stringify(o['value'] ?? '');
  }
  return {
    Namespaces: s.namespaces.map((t) => ({ Type: t, Path: '' })),
    MaskedPaths: privileged ? [] : s.masked_paths,
    ReadonlyPaths: privileged ? [] : s.readonly_paths,
    Devices: [],
    Sysctl: sysctls,
  };
}

function mounts(list: readonly PolicyMount[], privileged: boolean): PolicyMount[] {
  return list.map((m) => ({
    ...m,
    options: m.options.map((o) => (o === '$(ro)' ? (privileged ? 'rw' : 'ro') : o)),
  }));
}

/** The pause container of every pod. */
export function pauseContainer(s: PolicySettings, w: Workload): JsonObject {
  const p = s.pause_container;
  return {
    OCI: {
      Version: '1.1.0',
      Process: {
        Terminal: false,
        User: { UID: p.UID, GID: p.GID, AdditionalGids: [p.GID], Username: '' },
        Args: p.Args,
        Env: p.Env,
        Cwd: p.Cwd,
        Capabilities: caps(['$(default_caps)']),
        NoNewPrivileges: true,
      },
      Root: { Path: '$(root_path)', Readonly: true },
      Mounts: mounts([...s.mounts, ...s.sandbox_mounts], false),
      Annotations: {
        ...sandboxAnnotations(w),
        [KATA_TYPE_KEY]: 'pod_sandbox',
        [TYPE_KEY]: 'sandbox',
        'io.kubernetes.cri.sandbox-log-directory': `^/var/log/pods/$(sandbox-namespace)_$(sandbox-name)_${UUID}$`,
      },
      Linux: linux(s, w, false),
    },
    storages: s.rootfs_storages,
    devices: [],
    sandbox_pidns: w.podSpec['shareProcessNamespace'] === true,
    exec_commands: [],
  };
}

function caps(list: readonly string[]): JsonObject {
  return { Ambient: [], Bounding: list, Effective: list, Inheritable: [], Permitted: list };
}

function capName(c: string): string {
  const u = c.toUpperCase();
  return u.startsWith('CAP_') ? u : `CAP_${u}`;
}

function capabilities(s: PolicySettings, sc: JsonObject, privileged: boolean): JsonObject {
  if (privileged) return caps(['$(privileged_caps)']);
  const c = obj(sc['capabilities']);
  const add = strs(c['add']).map(capName);
  const drop = strs(c['drop']).map(capName);
  if (add.length === 0 && drop.length === 0) return caps(['$(default_caps)']);
  const all = strs(s.common['privileged_caps']);
  let set = new Set(drop.includes('CAP_ALL') ? [] : strs(s.common['default_caps']));
  for (const d of drop) set.delete(d);
  if (add.includes('CAP_ALL')) set = new Set(all);
  for (const a of add) if (a !== 'CAP_ALL') set.add(a);
  return caps([...set]);
}

function numeric(x: string | undefined): number | undefined {
  return x !== undefined && /^[0-9]+$/.test(x) ? Number(x) : undefined;
}

/** The /etc/passwd line of a user name or uid: [uid, gid]. */
function passwdEntry(passwd: string | undefined, user: string): [number, number] | undefined {
  for (const line of (passwd ?? '').split('\n')) {
    const f = line.split(':');
    const uid = numeric(f[2]);
    const gid = numeric(f[3]);
    if (uid !== undefined && gid !== undefined && (f[0] === user || String(uid) === user))
      return [uid, gid];
  }
  return undefined;
}

/** Does the user need the image's /etc/passwd (a user name, or a uid without a group)? */
export function needsPasswd(img: ImageFacts, c: JsonObject, w: Workload): boolean {
  const sc = obj(c['securityContext']);
  const podSc = obj(w.podSpec['securityContext']);
  const [u, g] = img.user.split(':');
  const uidSet = int(sc['runAsUser']) ?? int(podSc['runAsUser']);
  const gidSet = int(sc['runAsGroup']) ?? int(podSc['runAsGroup']) ?? numeric(g);
  return (
    (uidSet === undefined && u !== '' && u !== undefined && numeric(u) === undefined) ||
    gidSet === undefined
  );
}

/** uid/gid of the process: securityContext (container over pod), else the image's USER (via /etc/passwd for names). */
function user(img: ImageFacts, sc: JsonObject, podSc: JsonObject, at: string): [number, number] {
  const [u, g] = img.user.split(':');
  const named = u !== undefined && u !== '' && numeric(u) === undefined;
  const fromPasswd = named ? passwdEntry(img.passwd, u) : undefined;
  const uid =
    int(sc['runAsUser']) ??
    int(podSc['runAsUser']) ??
    (u === '' || u === undefined ? 0 : (numeric(u) ?? fromPasswd?.[0]));
  if (uid === undefined)
    throw inputError(
      at,
      `the image runs as user ${JSON.stringify(img.user)}, which its /etc/passwd does not list: set securityContext.runAsUser`,
    );
  if (
    g !== undefined &&
    numeric(g) === undefined &&
    int(sc['runAsGroup']) === undefined &&
    int(podSc['runAsGroup']) === undefined
  )
    throw inputError(
      at,
      `the image's group ${JSON.stringify(g)} is a name: set securityContext.runAsGroup`,
    );
  const gid =
    int(sc['runAsGroup']) ??
    int(podSc['runAsGroup']) ??
    numeric(g) ??
    passwdEntry(img.passwd, String(uid))?.[1] ??
    0;
  return [uid, gid];
}

function probeCommands(c: JsonObject): string[][] {
  const out: string[][] = [];
  for (const k of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
    const cmd = strs(obj(obj(c[k])['exec'])['command']);
    if (cmd.length > 0) out.push(cmd);
  }
  for (const k of ['postStart', 'preStop']) {
    const cmd = strs(obj(obj(obj(c['lifecycle'])[k])['exec'])['command']);
    if (cmd.length > 0) out.push(cmd);
  }
  return out;
}

function volumeMounts(c: JsonObject): PolicyMount[] {
  return (Array.isArray(c['volumeMounts']) ? c['volumeMounts'] : []).map((raw) => {
    const m = obj(raw);
    return {
      destination: typeof m['mountPath'] === 'string' ? m['mountPath'] : '',
      source: '$(sfprefix)[^/]*$',
      type_: 'bind',
      options: ['rbind', 'rprivate', m['readOnly'] === true ? 'ro' : 'rw'],
    };
  });
}

function env(c: JsonObject, w: Workload, src: ValueSources, img: ImageFacts, at: string) {
  const vars = containerEnv(c, w, src, at);
  const out: string[] = [];
  for (const e of img.env) {
    const name = e.split('=')[0] ?? '';
    if (!vars.has(name)) out.push(renderTemplate(lit(e)));
  }
  for (const [name, value] of vars) out.push(renderTemplate([{ lit: `${name}=` }, ...value]));
  return { vars, list: out };
}

/** Kubernetes command semantics: command replaces the entrypoint, args replace Cmd. */
function argsOf(c: JsonObject, img: ImageFacts, vars: ReadonlyMap<string, Template>, at: string) {
  const command = strs(c['command']);
  const args = strs(c['args']);
  const argv =
    command.length > 0
      ? [...command, ...args]
      : [...img.entrypoint, ...(Array.isArray(c['args']) ? args : img.cmd)];
  if (argv.length === 0) throw inputError(at, 'neither the container nor its image sets a command');
  return argv.map((a) => renderTemplate(expandVars(a, vars)));
}

/** A workload (or init) container. */
export function workloadContainer(
  s: PolicySettings,
  w: Workload,
  c: JsonObject,
  img: ImageFacts,
  src: ValueSources,
  at: string,
): JsonObject {
  const sc = obj(c['securityContext']);
  const podSc = obj(w.podSpec['securityContext']);
  const privileged = sc['privileged'] === true;
  const [uid, gid] = user(img, sc, podSc, at);
  const supplemental: unknown[] = Array.isArray(podSc['supplementalGroups'])
    ? podSc['supplementalGroups']
    : [];
  const groups = [gid, ...supplemental.map(int).filter((g): g is number => g !== undefined)];
  const fsGroup = int(podSc['fsGroup']);
  if (fsGroup !== undefined) groups.push(fsGroup);
  const e = env(c, w, src, img, at);
  const saMount =
    w.podSpec['automountServiceAccountToken'] === false ? [] : [s.service_account_mount];
  return {
    OCI: {
      Version: '1.1.0',
      Process: {
        Terminal: c['tty'] === true,
        User: { UID: uid, GID: gid, AdditionalGids: [...new Set(groups)], Username: '' },
        Args: argsOf(c, img, e.vars, at),
        Env: e.list,
        Cwd: typeof c['workingDir'] === 'string' ? c['workingDir'] : img.workingDir || '/',
        Capabilities: capabilities(s, sc, privileged),
        NoNewPrivileges: sc['allowPrivilegeEscalation'] === false && !privileged,
      },
      Root: { Path: '$(root_path)', Readonly: sc['readOnlyRootFilesystem'] === true },
      Mounts: mounts(
        [...s.mounts, ...s.container_mounts, ...saMount, ...volumeMounts(c)],
        privileged,
      ),
      Annotations: {
        ...sandboxAnnotations(w),
        [KATA_TYPE_KEY]: 'pod_container',
        [NAME_KEY]: String(c['name']),
        [TYPE_KEY]: 'container',
        [IMAGE_KEY]: String(c['image']),
      },
      Linux: linux(s, w, privileged),
    },
    storages: s.rootfs_storages,
    devices: [],
    sandbox_pidns: w.podSpec['shareProcessNamespace'] === true,
    exec_commands: probeCommands(c),
    image_digests: img.digests,
  };
}
