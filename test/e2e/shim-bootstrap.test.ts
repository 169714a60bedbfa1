/**
 * The `start` handshake of every containerd generation, with containerd's own inputs as fixtures
 * (containerd 2.x is not installable here): 2.3+ BootstrapParams on stdin → BootstrapResult;
 * 1.7–2.2 `MAX_SHIM_VERSION=2` → JSON; 1.6 runtime options on stdin → the plain address.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { makeBusyboxBundle } from '#test/helpers/test-images.js';
import { socketAddress } from '#src/host/shim/index.js';
import {
  Any,
  BootstrapLogLevel,
  BootstrapParams,
  BootstrapResult,
  ConnectRequest,
  ConnectResponse,
  RuntimeInfo,
  RuntimeOptions,
  ShutdownRequest,
  TASK_SERVICE_V2,
  TASK_SERVICE_V3,
} from '#src/protocol/shim/index.js';
import { run } from '#test/helpers/containerd.js';
import { connectTask, SHIM_BUNDLE, shimAction } from './setup/shim-driver.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const NS = 'boot';

function harness(): { dir: string; env: Record<string, string>; containerd: string } {
  const dir = mkdtempSync(join(tmpdir(), 'shim-boot-'));
  const configPath = join(dir, 'config.toml');
  writeFileSync(configPath, `[runtime]\nstate_dir = ${JSON.stringify(join(dir, 'state'))}\n`);
  cleanups.push(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir,
    env: { KATA_CC_CONFIG: configPath, KATA_CC_SHIM_LOG_DIR: join(dir, 'logs') },
    containerd: join(dir, 'containerd.sock'),
  };
}

/** Calls Connect on the server behind `address` with task API `service`; shuts it down after. */
async function connectVersion(address: string, id: string, service: string): Promise<string> {
  const c = await connectTask(address, NS, service);
  cleanups.push(async () => {
    await c
      .call('Shutdown', ShutdownRequest.encode({ id, now: true }).finish())
      .catch(() => undefined);
    await c.close();
  });
  const r = ConnectResponse.decode(await c.call('Connect', ConnectRequest.encode({ id }).finish()));
  expect(r.shim_pid).toBeGreaterThan(0);
  return r.version;
}

describe('shim start handshake per containerd generation', () => {
  test('containerd ≥ 2.3: BootstrapParams on stdin gets a BootstrapResult for task API v3 in socket_dir', async () => {
    const h = harness();
    const id = 'boot-23';
    const bundle = await makeBusyboxBundle(join(h.dir, 'b23'), ['true']);
    const socketDir = join(h.dir, 's');
    const params = BootstrapParams.encode({
      instance_id: id,
      namespace: NS,
      log_level: BootstrapLogLevel.LOG_LEVEL_INFO,
      containerd_version: '2.3.0',
      containerd_ttrpc_address: `${h.containerd}.ttrpc`,
      containerd_grpc_address: h.containerd,
      containerd_binary: '/usr/bin/containerd',
      extensions: [],
      socket_dir: socketDir,
    }).finish();
    const r = await shimAction(
      'start',
      { namespace: NS, address: h.containerd, id },
      bundle,
      { ...h.env, MAX_SHIM_VERSION: '2' },
      params,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr, 'containerd reads stdout and stderr together').toBe('');
    const result = BootstrapResult.decode(r.stdoutBytes);
    expect(result).toMatchObject({ version: 3, protocol: 'ttrpc' });
    expect(result.address).toBe(socketAddress(h.containerd, NS, id, socketDir));
    expect(await connectVersion(result.address, id, TASK_SERVICE_V3)).toBe('3');
  });

  test('containerd 1.7–2.2: MAX_SHIM_VERSION=2 with runtime options on stdin gets the JSON answer', async () => {
    const h = harness();
    const id = 'boot-20';
    const bundle = await makeBusyboxBundle(join(h.dir, 'b20'), ['true']);
    const options = Any.encode({
      type_url: 'runtimeoptions.v1.Options',
      value: Buffer.from(
        RuntimeOptions.encode({
          type_url: '',
          config_path: '/etc/kata-cc/x.toml',
          config_body: Buffer.alloc(0),
        }).finish(),
      ),
    }).finish();
    const r = await shimAction(
      'start',
      { namespace: NS, address: h.containerd, id },
      bundle,
      { ...h.env, MAX_SHIM_VERSION: '2' },
      options,
    );
    expect(r.code, r.stderr).toBe(0);
    const answer = JSON.parse(r.stdout) as { version: number; address: string; protocol: string };
    expect(answer).toEqual({
      version: 2,
      address: socketAddress(h.containerd, NS, id),
      protocol: 'ttrpc',
    });
    expect(await connectVersion(answer.address, id, TASK_SERVICE_V2)).toBe('2');
  });

  test('containerd 1.6: no MAX_SHIM_VERSION gets the plain address', async () => {
    const h = harness();
    const id = 'boot-16';
    const bundle = await makeBusyboxBundle(join(h.dir, 'b16'), ['true']);
    const r = await shimAction(
      'start',
      { namespace: NS, address: h.containerd, id },
      bundle,
      h.env,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(socketAddress(h.containerd, NS, id));
    await connectVersion(r.stdout, id, TASK_SERVICE_V2);
  });

  test('a socket_dir too long for a unix socket is refused with the field named', async () => {
    const h = harness();
    const id = 'boot-long';
    const bundle = await makeBusyboxBundle(join(h.dir, 'blong'), ['true']);
    const params = BootstrapParams.encode(
      BootstrapParams.fromPartial({
        instance_id: id,
        namespace: NS,
        socket_dir: `/run/${'x'.repeat(60)}`,
      }),
    ).finish();
    const r = await shimAction(
      'start',
      { namespace: NS, address: h.containerd, id },
      bundle,
      h.env,
      params,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('BootstrapParams.socket_dir');
  });

  test('containerd 2.x -info: a RuntimeInfo protobuf on stdout, nothing on stderr', async () => {
    const options = Any.encode({
      type_url: 'runtimeoptions.v1.Options',
      value: Buffer.alloc(0),
    }).finish();
    const r = await run([process.execPath, SHIM_BUNDLE, '-info'], {
      input: options,
      timeoutMs: 30_000,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const info = RuntimeInfo.decode(r.stdoutBytes);
    expect(info.name).toBe('io.containerd.kata-cc.v2');
    expect(info.version?.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(info.options?.type_url).toBe('runtimeoptions.v1.Options');
  });
});
