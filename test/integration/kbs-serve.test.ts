import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, test } from 'vitest';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';
import { tmpdir } from '#test/helpers/tmpdir.js';

const KBS = join(PROJECT_ROOT, 'dist', 'kbs.mjs');
const CLI = join(PROJECT_ROOT, 'dist', 'kata-cc.mjs');
const hasBundles = existsSync(KBS) && existsSync(CLI);
if (!hasBundles)
  console.log(`skipping kbs serve tests: ${KBS} or ${CLI} missing (run npm run build)`);

let child: ChildProcess | undefined;
let dir: { path: string; remove(): void } | undefined;
afterEach(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child?.once('close', r));
    child.kill('SIGTERM');
    await exited;
  }
  dir?.remove();
  child = undefined;
});

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    p.once('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

describe('kbs serve', () => {
  test.skipIf(!hasBundles)(
    'prints its URL first and serves kata-cc kbs-client end to end',
    async () => {
      dir = tmpdir('kata-cc-kbs-serve-');
      const admin = generateKeyPairSync('ed25519');
      const pub = join(dir.path, 'admin.pub');
      const priv = join(dir.path, 'admin.key');
      writeFileSync(pub, admin.publicKey.export({ format: 'pem', type: 'spki' }));
      writeFileSync(priv, admin.privateKey.export({ format: 'pem', type: 'pkcs8' }));
      writeFileSync(join(dir.path, 'secret'), 'hello from the kbs');
      child = spawn(
        process.execPath,
        [
          KBS,
          'serve',
          '--listen',
          '127.0.0.1:0',
          '--store',
          join(dir.path, 'store'),
          '--admin-key',
          pub,
          '--allow-sample',
        ],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      const stdout = child.stdout;
      if (!stdout) throw new Error('no stdout');
      const url = await new Promise<string>((resolve, reject) => {
        createInterface({ input: stdout }).once('line', resolve);
        child?.once('close', (code) => {
          reject(new Error(`kbs exited with ${String(code)}`));
        });
      });
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const base = ['kbs-client', '--url', url];
      const policy = join(PROJECT_ROOT, 'policies', 'kbs', 'allow-affirming.rego');
      expect(
        (await run([...base, 'set-resource-policy', '--file', policy, '--admin-key', priv])).code,
      ).toBe(0);
      expect(
        (await run([...base, 'set-reference-value', 'sample.svn', '1', '--admin-key', priv])).code,
      ).toBe(0);
      expect(
        (
          await run([
            ...base,
            'set-resource',
            'default/key/1',
            '--file',
            join(dir.path, 'secret'),
            '--admin-key',
            priv,
          ])
        ).code,
      ).toBe(0);
      const got = await run([...base, 'get-resource', 'default/key/1']);
      expect(got.stderr).toBe('');
      expect(got.stdout).toBe('hello from the kbs');
      const denied = await run([...base, 'set-resource-policy', '--file', policy]);
      expect(denied.code).toBe(2);
      const missing = await run([...base, 'get-resource', 'default/key/2']);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/404.*ResourceNotFound/);
    },
    60_000,
  );
});
