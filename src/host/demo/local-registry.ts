import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { CcError, sleep } from '#src/lib/index.js';

/** A free TCP port on `address` (closed again before returning). */
export function freePort(address = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, address, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => {
        resolve(port);
      });
    });
  });
}

export interface LocalRegistry {
  /** `ADDRESS:PORT` */
  readonly host: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** Debian's docker-registry on `address` (default 127.0.0.1) with a private config and storage under `dir`. */
export async function startLocalRegistry(
  dir: string,
  signal?: AbortSignal,
  address = '127.0.0.1',
): Promise<LocalRegistry> {
  const port = await freePort(address);
  mkdirSync(join(dir, 'storage'), { recursive: true });
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log: { level: error }',
      'storage:',
      `  filesystem: { rootdirectory: ${JSON.stringify(join(dir, 'storage'))} }`,
      '  delete: { enabled: true }',
      'http:',
      `  addr: ${address}:${port}`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn('/usr/bin/docker-registry', ['serve', config], {
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      resolve();
    }),
  );
  child.once('error', () => undefined);
  const host = `${address}:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const r = await fetch(`http://${host}/v2/`, signal ? { signal } : {});
      if (r.status === 200) break;
    } catch {
      /* not up yet */
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new CcError(
        'unavailable',
        'ERR_DEMO_REGISTRY',
        `docker-registry did not answer on ${host}: is docker-registry installed?`,
      );
    }
    await sleep(100, signal);
  }
  return {
    host,
    pid: child.pid ?? -1,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
