import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { deferred, NULL_LOGGER, type Deferred } from '#src/lib/index.js';
import { StateStore } from '#src/host/persist/index.js';
import { INITDATA_ANNOTATION, encodeInitDataAnnotation } from '#src/tee/index.js';
import { PodRuntime } from '#src/host/runtime/pod-runtime.js';
import type {
  BackendContainer,
  BackendProcessIo,
  CreateTaskSpec,
  RuntimeEvent,
  SandboxBackend,
  SandboxStartSpec,
} from '#src/host/runtime/index.js';
import { tmpdir } from '#test/helpers/tmpdir.js';

const NO_STDIO = { stdin: '', stdout: '', stderr: '', terminal: false } as const;

/** A backend standing in for the VM: records calls; processes exit when the test says so. */
class FakeBackend implements SandboxBackend {
  readonly vmPid = 4242;
  readonly calls: string[] = [];
  readonly #exited: Deferred<void> = deferred();
  readonly exits = new Map<string, Deferred<number>>();
  readonly exited = this.#exited.promise;
  #nextPid = 100;

  #exitOf(containerId: string, execId: string): Deferred<number> {
    const key = `${containerId}/${execId}`;
    let d = this.exits.get(key);
    if (d === undefined) {
      d = deferred();
      this.exits.set(key, d);
    }
    return d;
  }

  exit(containerId: string, execId: string, status: number): void {
    this.#exitOf(containerId, execId).resolve(status);
  }

  die(): void {
    this.#exited.resolve();
  }

  createContainer(c: BackendContainer): Promise<void> {
    this.calls.push(`create ${c.containerId}`);
    return Promise.resolve();
  }
  startContainer(containerId: string): Promise<number> {
    this.calls.push(`start ${containerId}`);
    return Promise.resolve(this.#nextPid++);
  }
  execProcess(containerId: string, execId: string, process: unknown): Promise<number> {
    this.calls.push(`exec ${containerId}/${execId} ${JSON.stringify(process)}`);
    return Promise.resolve(this.#nextPid++);
  }
  io(containerId: string, execId: string): BackendProcessIo {
    // output ends (EOF) when the process exits or the VM dies
    const eof = Promise.race([this.#exitOf(containerId, execId).promise, this.exited]).then(
      () => undefined,
    );
    return {
      readStdout: () => eof,
      readStderr: () => eof,
      writeStdin: () => Promise.resolve(),
      closeStdin: () => Promise.resolve(),
      resize: () => Promise.resolve(),
    };
  }
  waitProcess(containerId: string, execId: string): Promise<number> {
    return this.#exitOf(containerId, execId).promise;
  }
  signalProcess(containerId: string, execId: string, sig: number): Promise<void> {
    this.calls.push(`signal ${containerId}/${execId} ${String(sig)}`);
    return Promise.resolve();
  }
  removeContainer(containerId: string): Promise<void> {
    this.calls.push(`remove ${containerId}`);
    return Promise.resolve();
  }
  pauseContainer(): Promise<void> {
    return Promise.resolve();
  }
  resumeContainer(): Promise<void> {
    return Promise.resolve();
  }
  updateContainer(): Promise<void> {
    return Promise.resolve();
  }
  stats(): never {
    throw new Error('not used');
  }
  pids(): Promise<number[]> {
    return Promise.resolve([1]);
  }
  nextOom(signal: AbortSignal): Promise<string> {
    return new Promise((_, reject) => {
      signal.addEventListener('abort', () => {
        reject(new Error('aborted'));
      });
    });
  }
  stop(): Promise<void> {
    this.calls.push('stop');
    return Promise.resolve();
  }
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function setup(startError?: Error, o: { hostRootfs?: boolean } = {}) {
  const dir = tmpdir('kata-pod-runtime-');
  cleanups.push(() => {
    dir.remove();
  });
  const store = new StateStore(join(dir.path, 'state'));
  const backend = new FakeBackend();
  const starts: SandboxStartSpec[] = [];
  const events: RuntimeEvent[] = [];
  const runtime = new PodRuntime({
    namespace: 'default',
    store,
    backends: {
      ...(o.hostRootfs === undefined ? {} : { hostRootfs: o.hostRootfs }),
      start: (spec) => {
        starts.push(spec);
        return startError ? Promise.reject(startError) : Promise.resolve(backend);
      },
    },
    events: { publish: (e) => events.push(e) },
    logger: NULL_LOGGER,
    shimPid: process.pid,
    socketPath: join(dir.path, 'shim.sock'),
  });
  cleanups.push(() => runtime.close());
  const bundle = (id: string, annotations: Record<string, string> = {}): string => {
    const path = join(dir.path, 'bundles', id);
    mkdirSync(join(path, 'rootfs'), { recursive: true });
    writeFileSync(
      join(path, 'config.json'),
      JSON.stringify({ process: { args: ['/bin/true'] }, root: { path: 'rootfs' }, annotations }),
    );
    return path;
  };
  const create = (
    id: string,
    annotations?: Record<string, string>,
    rootfs: CreateTaskSpec['rootfs'] = [],
  ) =>
    runtime.create({
      containerId: id,
      bundle: bundle(id, annotations),
      rootfs,
      stdio: NO_STDIO,
    });
  return { runtime, backend, store, starts, events, create };
}

describe('PodRuntime', () => {
  // a mount that cannot succeed: mounting it at all fails Create
  const UNMOUNTABLE = [
    {
      type: 'overlay',
      source: 'overlay',
      target: '',
      options: ['lowerdir=/nonexistent-kata-cc-lower'],
    },
  ];

  test("a guest-pull pod never mounts containerd's rootfs on the host nor hands it to the guest", async () => {
    const { starts, backend, store, create } = setup(undefined, { hostRootfs: false });
    await create('gp-pod', {}, UNMOUNTABLE);
    await create('gp-c1', { 'io.kubernetes.cri.sandbox-id': 'gp-pod' }, UNMOUNTABLE);
    expect(starts.map((s) => s.first.containerId)).toEqual(['gp-pod']);
    expect(backend.calls).toEqual(['create gp-c1']);
    expect(store.load('gp-pod')?.containers.map((c) => c.mounts)).toEqual([[], []]);
  });

  test("a pod taking host rootfs mounts containerd's rootfs (the same spec fails to mount)", async () => {
    const { starts, create } = setup();
    await expect(create('host-pod', {}, UNMOUNTABLE)).rejects.toMatchObject({
      code: 'ERR_RESOURCE_MOUNT',
    });
    expect(starts).toEqual([]);
  });

  test('runs a one-container pod: create boots the sandbox, exit is reported, delete stops it', async () => {
    const { runtime, backend, store, starts, events, create } = setup();
    await create('pod1');
    expect(starts.map((s) => [s.sandboxId, s.first.containerId, s.first.isSandbox])).toEqual([
      ['pod1', 'pod1', true],
    ]);
    expect(store.load('pod1')?.vmPid).toBe(4242);
    expect(runtime.vmPid).toBe(4242);
    const pid = await runtime.start('pod1', '');
    expect(runtime.state('pod1', '').status).toBe('running');
    backend.exit('pod1', '', 3);
    const exit = await runtime.wait('pod1', '');
    expect([exit.pid, exit.exitStatus]).toEqual([pid, 3]);
    const info = await runtime.delete('pod1', '');
    expect(info.exitStatus).toBe(3);
    expect(backend.calls).toEqual(['start pod1', 'stop']);
    expect(store.load('pod1')).toBeUndefined();
    expect(runtime.vmPid).toBe(0);
    expect(events.map((e) => e.type)).toEqual([
      'task-create',
      'task-start',
      'task-exit',
      'task-delete',
    ]);
  });

  test('refuses a first container that belongs to another sandbox, leaving no record', async () => {
    const { runtime, starts, store, create } = setup();
    await expect(create('c1', { 'io.kubernetes.cri.sandbox-id': 'other' })).rejects.toMatchObject({
      code: 'ERR_RUNTIME_SANDBOX',
      kind: 'failed_precondition',
    });
    expect(starts).toEqual([]);
    expect(store.load('other')).toBeUndefined();
    expect(runtime.containerCount).toBe(0);
  });

  test('a failing sandbox start removes the persisted record', async () => {
    const { runtime, store, create } = setup(new Error('qemu said no'));
    await expect(create('pod2')).rejects.toThrow('qemu said no');
    expect(store.load('pod2')).toBeUndefined();
    expect(existsSync(store.dirOf('pod2'))).toBe(false);
    await expect(runtime.start('pod2', '')).rejects.toMatchObject({
      code: 'ERR_RUNTIME_NOT_FOUND',
    });
  });

  test('execs: duplicate ids are refused, the OCI process reaches the backend once', async () => {
    const { runtime, backend, events, create } = setup();
    await create('pod3');
    expect(() => {
      runtime.exec({ containerId: 'pod3', execId: 'e1', stdio: NO_STDIO, process: {} });
    }).toThrow(expect.objectContaining({ code: 'ERR_RUNTIME_STATE' }));
    await runtime.start('pod3', '');
    runtime.exec({ containerId: 'pod3', execId: 'e1', stdio: NO_STDIO, process: { args: ['x'] } });
    expect(() => {
      runtime.exec({ containerId: 'pod3', execId: 'e1', stdio: NO_STDIO, process: {} });
    }).toThrow(expect.objectContaining({ code: 'ERR_RUNTIME_EXISTS' }));
    expect(() => {
      runtime.exec({ containerId: 'nope', execId: 'e2', stdio: NO_STDIO, process: {} });
    }).toThrow(expect.objectContaining({ code: 'ERR_RUNTIME_NOT_FOUND' }));
    await runtime.start('pod3', 'e1');
    await expect(runtime.start('pod3', 'e1')).rejects.toMatchObject({ code: 'ERR_RUNTIME_STATE' });
    expect(backend.calls.filter((c) => c.startsWith('exec'))).toEqual([
      'exec pod3/e1 {"args":["x"]}',
    ]);
    expect(events.map((e) => e.type)).toContain('exec-started');
  });

  test('a second container is created in the running sandbox and removed on delete', async () => {
    const { runtime, backend, store, create } = setup();
    await create('pod4');
    await create('app', { 'io.kubernetes.cri.sandbox-id': 'pod4' });
    expect(store.load('pod4')?.containers.map((c) => c.containerId)).toEqual(['pod4', 'app']);
    await runtime.delete('app', '');
    expect(backend.calls).toEqual(['create app', 'remove app']);
    expect(store.load('pod4')?.containers.map((c) => c.containerId)).toEqual(['pod4']);
    expect(runtime.containerCount).toBe(1);
  });

  test('a workload container carrying a different initdata is refused, not recorded', async () => {
    const { runtime, backend, store, starts, create } = setup();
    const initdata = (alg: string): string =>
      encodeInitDataAnnotation(
        new TextEncoder().encode(`version = "0.1.0"\nalgorithm = "${alg}"\n[data]\n`),
      );
    await create('pod7', { [INITDATA_ANNOTATION]: initdata('sha256') });
    // the backend launches with it; the spec the guest gets does not carry it (as in Kata)
    expect(starts[0]?.annotations[INITDATA_ANNOTATION]).toBe(initdata('sha256'));
    expect(starts[0]?.first.ociSpec['annotations']).toEqual({});
    const app = { 'io.kubernetes.cri.sandbox-id': 'pod7' };
    await create('same', { ...app, [INITDATA_ANNOTATION]: initdata('sha256') });
    await expect(
      create('other', { ...app, [INITDATA_ANNOTATION]: initdata('sha512') }),
    ).rejects.toMatchObject({ kind: 'failed_precondition', code: 'ERR_RUNTIME_INITDATA' });
    expect(backend.calls).toEqual(['create same']);
    expect(store.load('pod7')?.containers.map((c) => c.containerId)).toEqual(['pod7', 'same']);
    expect(runtime.containerCount).toBe(2);
  });

  test('when the VM dies, running processes exit 137', async () => {
    const { runtime, backend, create } = setup();
    await create('pod5');
    await runtime.start('pod5', '');
    backend.die();
    expect((await runtime.wait('pod5', '')).exitStatus).toBe(137);
  });

  test('kill before start ends the process without asking the backend', async () => {
    const { runtime, backend, create } = setup();
    await create('pod6');
    await runtime.kill('pod6', '', 9, false);
    expect((await runtime.wait('pod6', '')).exitStatus).toBe(137);
    await expect(runtime.kill('pod6', '', 9, false)).rejects.toMatchObject({
      code: 'ERR_RUNTIME_NOT_FOUND',
    });
    expect(backend.calls.some((c) => c.startsWith('signal'))).toBe(false);
  });
});
