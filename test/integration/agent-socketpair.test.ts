import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TtrpcClient, createTypedClient, type TypedClient } from '#src/protocol/ttrpc/index.js';
import { Spec, type Storage } from '#src/protocol/agent/index.js';
import {
  AGENT_SERVICE_DEF,
  AgentServer,
  HEALTH_SERVICE_DEF,
  type AgentMethods,
} from '#guest/agent/index.js';
import { AllowAllPolicy, DenyListPolicy, type AgentPolicy } from '#guest/policy/index.js';
import { Sandbox } from '#guest/sandbox/index.js';
import { erofsUnavailableReason } from '#test/helpers/busybox-rootfs.js';
import { makeFixture } from '#test/unit/guest/sandbox/sandbox-fixture.js';

const skip = erofsUnavailableReason();
if (skip) console.log(`skipping agent ⇄ crun integration tests: ${skip}`);

interface Rig {
  agent: TypedClient<AgentMethods>;
  health: TypedClient<(typeof HEALTH_SERVICE_DEF)['methods']>;
  client: TtrpcClient;
  server: AgentServer;
  fixture: ReturnType<typeof makeFixture>;
  rootfs(cid: string): Storage;
}

async function startRig(policy: AgentPolicy = new AllowAllPolicy()): Promise<Rig> {
  const fixture = makeFixture();
  const sandbox = new Sandbox(fixture.options);
  const server = new AgentServer({
    sandbox,
    policy,
    log: fixture.options.log,
    agentVersion: 'test',
    sysfs: '/sys',
  });
  const path = join(fixture.dir, 'agent.sock');
  await server.listen(path);
  const socket = connect(path);
  await new Promise<void>((resolve, reject) =>
    socket.once('connect', resolve).once('error', reject),
  );
  const client = new TtrpcClient(socket);
  return {
    agent: createTypedClient(client, AGENT_SERVICE_DEF),
    health: createTypedClient(client, HEALTH_SERVICE_DEF),
    client,
    server,
    fixture,
    rootfs: (cid) => ({
      driver: 'blk',
      driver_options: [],
      source: fixture.device,
      fstype: 'erofs',
      options: [],
      mount_point: `${fixture.storageRoot}/${cid}/rootfs`,
      fs_group: undefined,
    }),
  };
}

async function stopRig(r: Rig): Promise<void> {
  await r.client.close();
  await r.server.close();
  await r.fixture.cleanup();
}

function spec(rootPath: string, args: string[], extra: Partial<Spec> = {}): Spec {
  return Spec.fromPartial({
    Version: '1.0.2',
    Process: {
      Args: args,
      Env: ['PATH=/bin'],
      Cwd: '/',
      User: { UID: 0, GID: 0 },
      NoNewPrivileges: true,
    },
    Root: { Path: rootPath, Readonly: false },
    Hostname: 'pod',
    Mounts: [
      { destination: '/proc', source: 'proc', type: 'proc', options: [] },
      { destination: '/dev', source: 'tmpfs', type: 'tmpfs', options: ['nosuid', 'mode=755'] },
    ],
    Linux: { Namespaces: [{ Type: 'pid' }, { Type: 'mount' }, { Type: 'ipc' }, { Type: 'uts' }] },
    ...extra,
  });
}

async function readAll(r: Rig, cid: string, eid: string): Promise<string> {
  let out = '';
  for (;;) {
    try {
      out += (
        await r.agent.ReadStdout({ container_id: cid, exec_id: eid, len: 1024 })
      ).data.toString();
    } catch (err) {
      if (/eof/.test((err as Error).message)) return out;
      throw err;
    }
  }
}

describe.skipIf(skip !== undefined)(
  'host agent client ⇄ guest agent over a unix socket, real crun',
  () => {
    let r: Rig;
    beforeAll(async () => {
      r = await startRig();
      await r.agent.CreateSandbox({
        hostname: 'pod',
        dns: [],
        storages: [],
        sandbox_pidns: false,
        sandbox_id: 'sb1',
        guest_hook_path: '',
        kernel_modules: [],
        guest_userns: false,
      });
    });
    afterAll(async () => {
      await stopRig(r);
    });

    test('answers grpc.Health Check and Version', async () => {
      expect((await r.health.Check({ service: '' })).status).toBe(1);
      expect((await r.health.Version({ service: '' })).agent_version).toBe('test');
    });

    test('creates, starts, reads, waits for and removes a container', async () => {
      const st = r.rootfs('c1');
      await r.agent.CreateContainer({
        container_id: 'c1',
        exec_id: '',
        string_user: undefined,
        devices: [],
        storages: [st],
        OCI: spec(st.mount_point, ['/bin/sh', '-c', 'echo hello; exit 3']),
        sandbox_pidns: false,
        shared_mounts: [],
        stdin_port: 0,
        stdout_port: 0,
        stderr_port: 0,
      });
      await r.agent.StartContainer({ container_id: 'c1' });
      expect(await readAll(r, 'c1', '')).toBe('hello\n');
      expect((await r.agent.WaitProcess({ container_id: 'c1', exec_id: '' })).status).toBe(3);
      await r.agent.RemoveContainer({ container_id: 'c1', timeout: 0 });
      await expect(r.agent.StartContainer({ container_id: 'c1' })).rejects.toMatchObject({
        kind: 'not_found',
      });
    });

    test('execs a second process, signals it and reports stats', async () => {
      const st = r.rootfs('c2');
      await r.agent.CreateContainer({
        container_id: 'c2',
        exec_id: 'c2',
        string_user: undefined,
        devices: [],
        storages: [st],
        OCI: spec(st.mount_point, ['/bin/sleep', '1000']),
        sandbox_pidns: false,
        shared_mounts: [],
        stdin_port: 0,
        stdout_port: 0,
        stderr_port: 0,
      });
      await r.agent.StartContainer({ container_id: 'c2' });
      const proc = {
        Args: ['/bin/sh', '-c', 'read l; echo got $l'],
        Env: ['PATH=/bin'],
        Cwd: '/',
        Terminal: false,
        ConsoleSize: undefined,
        User: { UID: 0, GID: 0, AdditionalGids: [], Username: '' },
        Capabilities: undefined,
        Rlimits: [],
        NoNewPrivileges: true,
        ApparmorProfile: '',
        OOMScoreAdj: 0,
        SelinuxLabel: '',
      };
      await r.agent.ExecProcess({
        container_id: 'c2',
        exec_id: 'e1',
        string_user: undefined,
        process: proc,
        stdin_port: 0,
        stdout_port: 0,
        stderr_port: 0,
      });
      expect(
        (await r.agent.WriteStdin({ container_id: 'c2', exec_id: 'e1', data: Buffer.from('x\n') }))
          .len,
      ).toBe(2);
      await r.agent.CloseStdin({ container_id: 'c2', exec_id: 'e1' });
      expect(await readAll(r, 'c2', 'e1')).toBe('got x\n');
      expect((await r.agent.WaitProcess({ container_id: 'c2', exec_id: 'e1' })).status).toBe(0);
      await r.agent.ExecProcess({
        container_id: 'c2',
        exec_id: 'e2',
        string_user: undefined,
        process: { ...proc, Args: ['/bin/sleep', '1000'] },
        stdin_port: 0,
        stdout_port: 0,
        stderr_port: 0,
      });
      await r.agent.SignalProcess({ container_id: 'c2', exec_id: 'e2', signal: 15 });
      expect((await r.agent.WaitProcess({ container_id: 'c2', exec_id: 'e2' })).status).toBe(143);
      const stats = await r.agent.StatsContainer({ container_id: 'c2' });
      expect(stats.cgroup_stats?.memory_stats?.usage?.usage).toBeGreaterThan(0);
      await r.agent.PauseContainer({ container_id: 'c2' });
      await r.agent.ResumeContainer({ container_id: 'c2' });
      await r.agent.SignalProcess({ container_id: 'c2', exec_id: 'c2', signal: 9 });
      expect((await r.agent.WaitProcess({ container_id: 'c2', exec_id: '' })).status).toBe(137);
      await expect(
        r.agent.SignalProcess({ container_id: 'c2', exec_id: '', signal: 9 }),
      ).rejects.toMatchObject({ kind: 'not_found' });
      await r.agent.RemoveContainer({ container_id: 'c2', timeout: 0 });
    });

    test('reports an OOM event for a container that exceeds its memory limit', async () => {
      const st = r.rootfs('c3');
      const base = spec(st.mount_point, ['/bin/sh', '-c', 'tail /dev/zero; sleep 1000']);
      const oci = {
        ...base,
        Linux: base.Linux
          ? {
              ...base.Linux,
              Resources: {
                Devices: [],
                HugepageLimits: [],
                Memory: {
                  Limit: 32 << 20,
                  Reservation: 0,
                  Swap: 0,
                  Kernel: 0,
                  KernelTCP: 0,
                  Swappiness: 0,
                  DisableOOMKiller: false,
                },
                CPU: undefined,
                Pids: undefined,
                BlockIO: undefined,
                Network: undefined,
              },
            }
          : undefined,
      };
      const oom = r.agent.GetOOMEvent({});
      await r.agent.CreateContainer({
        container_id: 'c3',
        exec_id: '',
        string_user: undefined,
        devices: [],
        storages: [st],
        OCI: oci,
        sandbox_pidns: false,
        shared_mounts: [],
        stdin_port: 0,
        stdout_port: 0,
        stderr_port: 0,
      });
      await r.agent.StartContainer({ container_id: 'c3' });
      expect((await oom).container_id).toBe('c3');
      await r.agent.RemoveContainer({ container_id: 'c3', timeout: 0 });
    });

    test('answers UNIMPLEMENTED for RPCs it does not serve', async () => {
      await expect(r.agent.MemHotplugByProbe({ memHotplugProbeAddr: [] })).rejects.toMatchObject({
        kind: 'unimplemented',
      });
      await expect(
        r.agent.AddARPNeighbors({ neighbors: { ARPNeighbors: [] } }),
      ).rejects.toMatchObject({ kind: 'unimplemented' });
      // CopyFile is served, but only below /run/kata-containers/shared/containers
      await expect(
        r.agent.CopyFile({
          path: '/x',
          file_size: 0,
          file_mode: 0,
          dir_mode: 0,
          uid: 0,
          gid: 0,
          offset: 0,
          data: Buffer.alloc(0),
        }),
      ).rejects.toMatchObject({ kind: 'invalid_argument' });
    });

    test.each([
      ['a container id with ..', { container_id: '../x', root: '/x' }],
      ['a relative root path', { container_id: 'ok', root: 'rootfs' }],
      ['a non-normalized root path', { container_id: 'ok', root: '/a/../b' }],
    ])('rejects %s with INVALID_ARGUMENT', async (_what, c) => {
      await expect(
        r.agent.CreateContainer({
          container_id: c.container_id,
          exec_id: '',
          string_user: undefined,
          devices: [],
          storages: [],
          OCI: spec(c.root, ['/bin/true']),
          sandbox_pidns: false,
          shared_mounts: [],
          stdin_port: 0,
          stdout_port: 0,
          stderr_port: 0,
        }),
      ).rejects.toMatchObject({ kind: 'invalid_argument' });
    });

    test('rejects huge reads and out-of-range signals with INVALID_ARGUMENT', async () => {
      await expect(
        r.agent.ReadStdout({ container_id: 'c1', exec_id: '', len: 64 << 20 }),
      ).rejects.toMatchObject({ kind: 'invalid_argument' });
      await expect(
        r.agent.SignalProcess({ container_id: '../x', exec_id: '', signal: 9 }),
      ).rejects.toMatchObject({ kind: 'invalid_argument' });
    });
  },
);

describe.skipIf(skip !== undefined)('agent policy', () => {
  test('a denied request fails with PERMISSION_DENIED naming the request', async () => {
    const r = await startRig(new DenyListPolicy(['CreateSandboxRequest']));
    try {
      await expect(
        r.agent.CreateSandbox({
          hostname: '',
          dns: [],
          storages: [],
          sandbox_pidns: false,
          sandbox_id: 'sb',
          guest_hook_path: '',
          kernel_modules: [],
          guest_userns: false,
        }),
      ).rejects.toMatchObject({
        kind: 'permission_denied',
        message: expect.stringContaining('CreateSandboxRequest is blocked by policy') as unknown,
      });
    } finally {
      await stopRig(r);
    }
  });
});
