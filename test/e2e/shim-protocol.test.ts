import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { makeBusyboxBundle } from '#test/helpers/test-images.js';
import { socketAddress } from '#src/host/shim/index.js';
import {
  ConnectRequest,
  ConnectResponse,
  CreateTaskRequest,
  DeleteResponse,
  ShutdownRequest,
  StateRequest,
} from '#src/protocol/shim/index.js';
import { connectTask, shimAction } from './setup/shim-driver.js';
import { podVmEnv, qemuPids } from './setup/pod-vm-env.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Harness {
  readonly dir: string;
  readonly stateDir: string;
  readonly env: Record<string, string>;
  readonly args: (id: string) => { namespace: string; address: string; id: string };
}

function harness(config: string[] = []): Harness {
  const dir = mkdtempSync(join(tmpdir(), 'shim-proto-'));
  const stateDir = join(dir, 'state');
  const configPath = join(dir, 'config.toml');
  writeFileSync(
    configPath,
    [...config, '[runtime]', `state_dir = ${JSON.stringify(stateDir)}`, ''].join('\n'),
  );
  cleanups.push(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir,
    stateDir,
    env: { KATA_CC_CONFIG: configPath, KATA_CC_SHIM_LOG_DIR: join(dir, 'logs') },
    args: (id) => ({ namespace: 'proto', address: join(dir, 'containerd.sock'), id }),
  };
}

async function startShim(
  h: Harness,
  id: string,
  annotations: Record<string, string> = {},
): Promise<{ address: string; bundle: string }> {
  const bundle = await makeBusyboxBundle(
    join(h.dir, `bundle-${id}`),
    ['sh', '-c', 'echo hi'],
    annotations,
  );
  const r = await shimAction('start', h.args(id), bundle, h.env);
  expect(r.code, r.stderr).toBe(0);
  const address = r.stdout.trim();
  cleanups.push(async () => {
    const c = await connectTask(address, 'proto').catch(() => undefined);
    await c
      ?.call('Shutdown', ShutdownRequest.encode({ id, now: true }).finish())
      .catch(() => undefined);
    await c?.close();
  });
  return { address, bundle };
}

describe('shim v2 process protocol', () => {
  test('start forks one server per pod and prints its address; Shutdown ends it', async () => {
    const h = harness();
    const { address, bundle } = await startShim(h, 'sb-proto-1');
    expect(address).toBe(socketAddress(h.args('x').address, 'proto', 'sb-proto-1'));
    expect(readFileSync(join(bundle, 'address'), 'utf8')).toBe(address);
    const member = await makeBusyboxBundle(join(h.dir, 'member'), ['true'], {
      'io.kubernetes.cri.sandbox-id': 'sb-proto-1',
    });
    const again = await shimAction('start', h.args('member-1'), member, h.env);
    expect(again.stdout.trim(), 'a container of the pod gets the sandbox shim').toBe(address);
    const c = await connectTask(address, 'proto');
    const info = ConnectResponse.decode(
      await c.call('Connect', ConnectRequest.encode({ id: 'sb-proto-1' }).finish()),
    );
    expect(info.shim_pid).toBeGreaterThan(0);
    await c.call('Shutdown', ShutdownRequest.encode({ id: 'sb-proto-1', now: false }).finish());
    await c.close();
    for (let i = 0; i < 50 && existsSync(address.slice(7)); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(address.slice(7)), 'socket removed after shutdown').toBe(false);
  });

  test('maps errors to ttrpc status codes: bad bundle, unknown task, unimplemented method', async () => {
    const h = harness();
    const { address } = await startShim(h, 'sb-proto-2');
    const c = await connectTask(address, 'proto');
    try {
      const broken = join(h.dir, 'broken');
      await makeBusyboxBundle(broken, ['true']);
      writeFileSync(join(broken, 'config.json'), '{"process": 5}');
      const create = CreateTaskRequest.fromPartial({ id: 'sb-proto-2', bundle: broken });
      await expect(
        c.call('Create', CreateTaskRequest.encode(create).finish()),
      ).rejects.toMatchObject({
        kind: 'invalid_argument',
        message: expect.stringContaining('config.json has no process'),
      });
      await expect(
        c.call('State', StateRequest.encode({ id: 'nope', exec_id: '' }).finish()),
      ).rejects.toMatchObject({ kind: 'not_found' });
      await expect(c.call('Checkpoint', new Uint8Array(0))).rejects.toMatchObject({
        kind: 'unimplemented',
      });
    } finally {
      await c.close();
    }
  });

  test('start fails with the config key when the TEE kind is unknown', async () => {
    const h = harness(['[runtime]', 'tee = "sgx"']);
    const bundle = await makeBusyboxBundle(join(h.dir, 'b'), ['true']);
    // the two [runtime] tables are invalid TOML too; write a clean file instead
    writeFileSync(
      h.env['KATA_CC_CONFIG']!,
      ['[runtime]', 'tee = "sgx"', `state_dir = ${JSON.stringify(h.stateDir)}`, ''].join('\n'),
    );
    const r = await shimAction('start', h.args('sb-proto-3'), bundle, h.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('runtime.tee');
  });

  const realImage = (): Record<string, unknown> => {
    try {
      return JSON.parse(readFileSync(podVmEnv().manifest, 'utf8')) as Record<string, unknown>;
    } catch {
      return { kernel: '/nonexistent/vmlinuz', initrd: '/nonexistent/initrd' };
    }
  };
  const fixtureImage = {
    version: 1,
    kernel: '/nonexistent/vmlinuz',
    initrd: '/nonexistent/initrd',
    rootfs: '/nonexistent/root.erofs',
    verityRootHash: '0'.repeat(64),
    kernelRelease: '6.1.0-test',
    kernelParams: [],
    inputsHash: 'fixture',
  };
  test.each([
    {
      what: 'the missing kernel',
      manifest: (): unknown => fixtureImage,
      named: '/nonexistent/vmlinuz',
    },
    {
      what: 'the missing guest root image',
      manifest: (): unknown => ({
        ...fixtureImage,
        kernel: realImage()['kernel'],
        initrd: realImage()['initrd'],
      }),
      named: '/nonexistent/root.erofs',
    },
    {
      what: 'the missing guest image manifest',
      manifest: (): unknown => undefined,
      named: 'manifest.json',
    },
  ])('Create names $what and leaves no QEMU or state behind', async ({ manifest, named }) => {
    const h = harness();
    const manifestPath = join(h.dir, 'manifest.json');
    const content = manifest();
    if (content !== undefined) writeFileSync(manifestPath, JSON.stringify(content));
    writeFileSync(
      h.env['KATA_CC_CONFIG']!,
      [
        '[guest]',
        `manifest = ${JSON.stringify(manifestPath)}`,
        '[hypervisor]',
        'accel = "tcg"',
        '[runtime]',
        `state_dir = ${JSON.stringify(h.stateDir)}`,
        '',
      ].join('\n'),
    );
    const id = 'sb-proto-4';
    const { address, bundle } = await startShim(h, id);
    const c = await connectTask(address, 'proto');
    try {
      const create = CreateTaskRequest.fromPartial({ id, bundle });
      await expect(
        c.call('Create', CreateTaskRequest.encode(create).finish()),
      ).rejects.toMatchObject({ message: expect.stringContaining(named) });
      expect(qemuPids(id)).toEqual([]);
      expect(existsSync(join(h.stateDir, id))).toBe(false);
    } finally {
      await c.close();
    }
  });

  test('Create of a bundle without config.json names the file and leaves nothing', async () => {
    const h = harness();
    const id = 'sb-proto-6';
    const { address, bundle } = await startShim(h, id);
    rmSync(join(bundle, 'config.json'));
    const c = await connectTask(address, 'proto');
    try {
      const create = CreateTaskRequest.fromPartial({ id, bundle });
      await expect(
        c.call('Create', CreateTaskRequest.encode(create).finish()),
      ).rejects.toMatchObject({
        kind: 'invalid_argument',
        message: expect.stringContaining('config.json'),
      });
      expect(qemuPids(id)).toEqual([]);
      expect(existsSync(join(h.stateDir, id))).toBe(false);
    } finally {
      await c.close();
    }
  });

  test('delete after a lost shim kills the recorded VM process, removes state and prints DeleteResponse', async () => {
    const h = harness();
    const id = 'sb-proto-5';
    const bundle = await makeBusyboxBundle(join(h.dir, 'b5'), ['true']);
    // a stand-in for the pod VM: a process whose command line names the sandbox
    const vm = spawn('sh', ['-c', `sleep 300; : ${id}`], { stdio: 'ignore' });
    cleanups.push(() => {
      vm.kill('SIGKILL');
    });
    const gone = new Promise<void>((r) =>
      vm.once('exit', () => {
        r();
      }),
    );
    const record = {
      version: 1,
      sandboxId: id,
      namespace: 'proto',
      shimPid: 0,
      vmPid: vm.pid,
      vmStateDir: '',
      socketPath: join(h.dir, 'gone.sock'),
      containers: [],
    };
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(h.stateDir, id), { recursive: true });
    writeFileSync(join(h.stateDir, id, 'state.json'), JSON.stringify(record));
    const r = await shimAction('delete', h.args(id), bundle, h.env);
    expect(r.code, r.stderr).toBe(0);
    const resp = DeleteResponse.decode(r.stdoutBytes);
    expect(resp.exit_status).toBe(137);
    await gone;
    expect(existsSync(join(h.stateDir, id))).toBe(false);
  });
});
