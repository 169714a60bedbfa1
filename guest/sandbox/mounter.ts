import { spawn } from 'node:child_process';
import { ByteRing } from '#src/lib/index.js';
import { exitCode } from './crun.js';
import { SandboxError } from './errors.js';

/** mount(2)/umount(2) for the sandbox layer. */
export interface Mounter {
  mount(source: string, target: string, fstype: string, options: readonly string[]): Promise<void>;
  unmount(target: string): Promise<void>;
}

/**
 * Mounts through the `mount`/`umount` programs (busybox or util-linux): Node has no mount(2) and
 * the native addon is optional. Arguments go as an argv array, never through a shell.
 */
export class CommandMounter implements Mounter {
  readonly #mount: string;
  readonly #umount: string;

  constructor(mountBinary = '/bin/mount', umountBinary = '/bin/umount') {
    this.#mount = mountBinary;
    this.#umount = umountBinary;
  }

  async mount(
    source: string,
    target: string,
    fstype: string,
    options: readonly string[],
  ): Promise<void> {
    const args = [
      '-t',
      fstype,
      ...(options.length > 0 ? ['-o', options.join(',')] : []),
      source,
      target,
    ];
    await run(this.#mount, args, `mount ${fstype} ${source} on ${target}`);
  }

  async unmount(target: string): Promise<void> {
    await run(this.#umount, [target], `unmount ${target}`);
  }
}

async function run(binary: string, args: readonly string[], what: string): Promise<void> {
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const err = new ByteRing(2048);
  child.stderr.on('data', (c: Buffer) => {
    err.push(c);
  });
  const status = await exitCode(child);
  if (status !== 0) {
    throw new SandboxError(
      'internal',
      'ERR_SANDBOX_STORAGE',
      `cannot ${what}: ${binary} exited with ${status}: ${err.text().trim() || 'no output'}`,
    );
  }
}
