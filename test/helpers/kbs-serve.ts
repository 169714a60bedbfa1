import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { signAdminToken } from '#src/protocol/kbs/index.js';
import { PROJECT_ROOT } from './source-files.js';
import { tmpdir } from './tmpdir.js';

export const KATA_CC_CLI = join(PROJECT_ROOT, 'dist', 'kata-cc.mjs');
export const KBS_BUNDLE = join(PROJECT_ROOT, 'dist', 'kbs.mjs');

/** Why `kata-cc kbs serve` cannot run here, or undefined when it can. */
export function kbsServeMissing(): string | undefined {
  return existsSync(KATA_CC_CLI) && existsSync(KBS_BUNDLE)
    ? undefined
    : `${KATA_CC_CLI} or ${KBS_BUNDLE} missing (run npm run build)`;
}

export interface ServedKbs {
  readonly url: string;
  readonly dir: string;
  readonly child: ChildProcess;
  /** A fresh admin JWT signed by the generated admin key. */
  adminToken(): string;
  /** SIGTERM, wait for exit, remove the directory. */
  stop(): Promise<void>;
}

/**
 * Runs `kata-cc kbs serve --listen 127.0.0.1:0` as a child process with a fresh store, a generated
 * Ed25519 admin key and the sample TEE allowed; resolves with the URL it prints first.
 */
export async function serveKbs(extraArgs: readonly string[] = []): Promise<ServedKbs> {
  const tmp = tmpdir('kata-cc-kbs-serve-');
  const admin = generateKeyPairSync('ed25519');
  const pub = join(tmp.path, 'admin.pub');
  writeFileSync(pub, admin.publicKey.export({ format: 'pem', type: 'spki' }));
  const child = spawn(
    process.execPath,
    [
      KATA_CC_CLI,
      'kbs',
      'serve',
      '--listen',
      '127.0.0.1:0',
      '--store',
      join(tmp.path, 'store'),
      '--admin-key',
      pub,
      '--allow-sample',
      ...extraArgs,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-4000);
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('close', r));
      child.kill('SIGTERM');
      await exited;
    }
    tmp.remove();
  };
  const stdout = child.stdout;
  try {
    const url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: stdout }).once('line', resolve);
      child.once('close', (code) => {
        reject(new Error(`kata-cc kbs serve exited with ${String(code)}: ${stderr}`));
      });
    });
    return {
      url,
      dir: tmp.path,
      child,
      adminToken: () => signAdminToken(admin.privateKey),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
