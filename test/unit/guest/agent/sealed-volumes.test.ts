import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { CcError, NULL_LOGGER } from '#src/lib/index.js';
import { CreateContainerRequest, Spec } from '#src/protocol/agent/index.js';
import { createAgentService } from '#guest/agent/index.js';
import { AllowAllPolicy } from '#guest/policy/index.js';
import { CommandMounter, Sandbox } from '#guest/sandbox/index.js';
import type { ContainerSpec, MountSpec } from '#guest/sandbox/index.js';
import { sealA256Gcm, unsealSecret, type ResourceGetter } from '#guest/cdh/index.js';
import type { SecretUnsealer } from '#guest/agent/sealed-env.js';
import {
  removeUnsealedVolumes,
  unsealVolumes,
  type SealedVolumeOptions,
} from '#guest/agent/sealed-volumes.js';
import { KUBELET_DATA_DIR, makeKubeletVolume } from '#test/helpers/kubelet-volume.js';
import { tmpdir } from '#test/helpers/tmpdir.js';

const b64url = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

/** Upstream's unsigned test form of a vault sealed secret. */
const vault = (uri: string): string =>
  `sealed.fakejwsheader.${b64url({ version: '0.1.0', type: 'vault', name: uri, provider: 'kbs', provider_settings: {}, annotations: {} })}.fakesignature`;

const SEALING_KEY = new Uint8Array(32).fill(7);
function envelope(plaintext: string): string {
  const dataKey = new Uint8Array(32).fill(9);
  const wrapped = sealA256Gcm(SEALING_KEY, dataKey);
  const data = sealA256Gcm(dataKey, new Uint8Array(Buffer.from(plaintext)));
  return `sealed.fakejwsheader.${b64url({
    version: '0.1.0',
    type: 'envelope',
    provider: 'kbs',
    key_id: 'kbs:///default/keys/sealing',
    encrypted_key: b64(wrapped.sealed),
    encrypted_data: b64(data.sealed),
    wrap_type: 'A256GCM',
    iv: b64(data.iv),
    annotations: { iv: b64(wrapped.iv) },
  })}.fakesignature`;
}

/** The fake KBS behind the real CDH unseal code. */
const KBS: Record<string, Uint8Array> = {
  'kbs:///default/creds/password': new Uint8Array(Buffer.from('hunter2')),
  'kbs:///default/keys/sealing': SEALING_KEY,
};
const fetched: string[] = [];
const getResource: ResourceGetter = (uri) => {
  fetched.push(uri);
  const v = KBS[uri];
  return v
    ? Promise.resolve(v)
    : Promise.reject(
        new CcError('permission_denied', 'ERR_KBS_X', `${uri}: denied by the kbs policy`),
      );
};
const cdh: SecretUnsealer = {
  unseal: (text, o) => unsealSecret(text, { getResource, signal: o?.signal }),
};

const dirs: ReturnType<typeof tmpdir>[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.remove();
  fetched.splice(0);
});

function rig(): {
  copyRoot: string;
  unsealedRoot: string;
  opts: (o?: Partial<SealedVolumeOptions>) => SealedVolumeOptions;
} {
  const d = tmpdir('kata-sealed-vol-');
  dirs.push(d);
  const copyRoot = join(d.path, 'shared', 'containers');
  const unsealedRoot = join(d.path, 'sealed-secrets');
  mkdirSync(copyRoot, { recursive: true });
  return {
    copyRoot,
    unsealedRoot,
    opts: (o = {}) => ({ containerId: 'c1', unsealer: cdh, copyRoot, unsealedRoot, ...o }),
  };
}

function spec(mounts: MountSpec[]): ContainerSpec {
  return {
    process: {
      args: ['sh'],
      env: [],
      cwd: '/',
      terminal: false,
      user: { uid: 0, gid: 0, additionalGids: [] },
    },
    rootPath: '/run/kata-containers/c1/rootfs',
    rootReadonly: false,
    mounts,
    annotations: {},
    linux: {},
  } as unknown as ContainerSpec;
}

const bind = (destination: string, source: string): MountSpec => ({
  destination,
  source,
  type: 'bind',
  options: ['rbind', 'ro'],
});

describe('unsealVolumes', () => {
  test('a Secret-style volume with sealed files: the mount gets a guest copy with the plaintext, the host copy stays sealed', async () => {
    const r = rig();
    const sealedPassword = vault('kbs:///default/creds/password');
    const vol = makeKubeletVolume(
      join(r.copyRoot, 'c1-0123456789abcdef-creds'),
      {
        username: 'admin',
        password: `${sealedPassword}\n`,
        'tls/key.pem': envelope('-----BEGIN KEY-----'),
      },
      0o640,
    );
    const out = await unsealVolumes(
      spec([bind('/etc/creds', vol), bind('/etc/hosts', '/x/hosts')]),
      r.opts(),
    );
    const m = out.mounts[0]!;
    expect(m.source).toBe(join(r.unsealedRoot, 'c1', '0-c1-0123456789abcdef-creds'));
    expect(m.destination).toBe('/etc/creds');
    expect(m.options).toEqual(['rbind', 'ro']);
    expect(out.mounts[1]).toEqual(bind('/etc/hosts', '/x/hosts'));
    expect(readFileSync(join(m.source, 'password'), 'utf8')).toBe('hunter2');
    expect(readFileSync(join(m.source, 'username'), 'utf8')).toBe('admin');
    expect(readFileSync(join(m.source, 'tls', 'key.pem'), 'utf8')).toBe('-----BEGIN KEY-----');
    expect(readlinkSync(join(m.source, 'password'))).toBe('..data/password');
    expect(readlinkSync(join(m.source, '..data'))).toBe(KUBELET_DATA_DIR);
    expect(statSync(join(m.source, 'password')).mode & 0o777).toBe(0o640);
    expect(lstatSync(join(m.source, KUBELET_DATA_DIR)).mode & 0o777).toBe(0o755);
    expect(readFileSync(join(vol, 'password'), 'utf8'), 'the host copy').toBe(
      `${sealedPassword}\n`,
    );
    expect(fetched).toEqual(['kbs:///default/creds/password', 'kbs:///default/keys/sealing']);
    await removeUnsealedVolumes('c1', r.unsealedRoot);
    expect(existsSync(join(r.unsealedRoot, 'c1'))).toBe(false);
  });

  test('a volume without sealed files and mounts outside the copy root are left as they are', async () => {
    const r = rig();
    const cm = makeKubeletVolume(join(r.copyRoot, 'c1-0123456789abcdef-cm'), { 'app.conf': 'x=1' });
    const outside = tmpdir('kata-host-');
    dirs.push(outside);
    writeFileSync(join(outside.path, 's'), vault('kbs:///default/creds/password'));
    const input = spec([
      bind('/etc/cm', cm),
      bind('/s', join(outside.path, 's')),
      { destination: '/proc', source: 'proc', type: 'proc', options: [] },
    ]);
    expect(await unsealVolumes(input, r.opts())).toBe(input);
    expect(fetched).toEqual([]);
  });

  test("a single copied file (a subPath mount) is unsealed too; upstream's /sealed prefix is dropped", async () => {
    const r = rig();
    const f = join(r.copyRoot, 'c1-0123456789abcdef-password');
    writeFileSync(f, vault('kbs:///default/creds/password'), { mode: 0o600 });
    const out = await unsealVolumes(spec([bind('/sealed/etc/password', f)]), r.opts());
    expect(out.mounts[0]!.destination).toBe('/etc/password');
    expect(readFileSync(out.mounts[0]!.source, 'utf8')).toBe('hunter2');
    expect(statSync(out.mounts[0]!.source).mode & 0o777).toBe(0o600);
  });

  test('without the guest components a sealed file is refused, naming the mount', async () => {
    const r = rig();
    const vol = makeKubeletVolume(join(r.copyRoot, 'c1-0123456789abcdef-creds'), {
      password: vault('kbs:///default/creds/password'),
    });
    await expect(
      unsealVolumes(spec([bind('/etc/creds', vol)]), r.opts({ unsealer: undefined })),
    ).rejects.toMatchObject({
      kind: 'failed_precondition',
      code: 'ERR_AGENT_SEALED_SECRET',
      message: expect.stringMatching(
        /volume mounted at \/etc\/creds holds sealed secret files, but this agent runs without the guest components/,
      ),
    });
  });

  test('a secret the KBS refuses fails with its kind, naming the mount and file but not the value', async () => {
    const r = rig();
    const vol = makeKubeletVolume(join(r.copyRoot, 'c1-0123456789abcdef-creds'), {
      other: vault('kbs:///default/creds/missing'),
    });
    const err = await unsealVolumes(spec([bind('/etc/creds', vol)]), r.opts()).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ kind: 'permission_denied', code: 'ERR_AGENT_SEALED_SECRET' });
    expect((err as Error).message).toMatch(
      /^cannot unseal the sealed secret file of the volume mounted at \/etc\/creds \(\.\.2026.*\/other\): .*denied by the kbs policy/,
    );
    expect((err as Error).message).not.toContain('fakejwsheader');
  });

  test('a malformed sealed file is invalid_argument', async () => {
    const r = rig();
    const vol = makeKubeletVolume(join(r.copyRoot, 'c1-0123456789abcdef-creds'), {
      bad: 'sealed.not-a-jws',
    });
    await expect(unsealVolumes(spec([bind('/etc/creds', vol)]), r.opts())).rejects.toMatchObject({
      kind: 'invalid_argument',
      code: 'ERR_AGENT_SEALED_SECRET',
    });
  });
});

describe('CreateContainer with a sealed secret volume', () => {
  test('is refused without the guest components, before the sandbox is touched, and leaves no copy', async () => {
    const r = rig();
    const vol = makeKubeletVolume(join(r.copyRoot, 'c1-0123456789abcdef-creds'), {
      password: vault('kbs:///default/creds/password'),
    });
    const base = join(r.copyRoot, '..', '..');
    const svc = createAgentService({
      sandbox: new Sandbox({
        crunBinary: '/usr/bin/crun',
        mounter: new CommandMounter(),
        runDir: join(base, 'run'),
        storageRoot: base,
        pauseBundle: join(base, 'pause'),
        cgroupRoot: '/sys/fs/cgroup',
        cgroupBase: '/kata-cc-unit',
        confidential: false,
        sysfs: '/sys',
        log: NULL_LOGGER,
        startTimeoutMs: 1000,
        deviceTimeoutMs: 100,
        oomPollMs: 1000,
      }),
      policy: new AllowAllPolicy(),
      log: NULL_LOGGER,
      agentVersion: 'test',
      sysfs: '/sys',
      copyFileRoot: r.copyRoot,
      sealedVolumeRoot: r.unsealedRoot,
    });
    const req = CreateContainerRequest.fromPartial({
      container_id: 'c1',
      OCI: Spec.fromPartial({
        Version: '1.0.2',
        Process: { Args: ['sh'], Cwd: '/', User: { UID: 0, GID: 0 } },
        Root: { Path: join(base, 'c1', 'rootfs') },
        Mounts: [
          { destination: '/etc/creds', source: vol, type: 'bind', options: ['rbind', 'ro'] },
        ],
      }),
    });
    await expect(
      svc.CreateContainer!(req, {
        signal: new AbortController().signal,
        metadata: new Map(),
        service: 'grpc.AgentService',
        method: 'CreateContainer',
      }),
    ).rejects.toMatchObject({
      kind: 'failed_precondition',
      code: 'ERR_AGENT_SEALED_SECRET',
      message: expect.stringMatching(/\/etc\/creds holds sealed secret files/),
    });
    expect(existsSync(join(r.unsealedRoot, 'c1'))).toBe(false);
  });
});
