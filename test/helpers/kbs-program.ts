import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { KbsClient, signAdminToken } from '#src/protocol/kbs/index.js';
import { PROJECT_ROOT } from './source-files.js';
import { tmpdir } from './tmpdir.js';

/** The real KBS program (`node dist/kbs.mjs serve`) on the host, with a generated admin key. */
export interface KbsProgram {
  /** As printed by the program, e.g. `http://0.0.0.0:41234`. */
  readonly url: string;
  readonly port: number;
  readonly adminPrivateKey: KeyObject;
  putResource(path: string, value: Uint8Array | string): Promise<void>;
  setResourcePolicy(rego: string): Promise<void>;
  /** The program's stderr (JSON log lines) so far. */
  log(): string;
  stop(): Promise<void>;
}

export interface KbsProgramOptions {
  /** Address to bind (default 127.0.0.1; 0.0.0.0 so pod VMs can reach it). */
  readonly host?: string | undefined;
  readonly allowSample?: boolean | undefined;
}

/** Starts `dist/kbs.mjs serve` (run `npm run build` first) and waits for its URL line. */
export async function startKbsProgram(o: KbsProgramOptions = {}): Promise<KbsProgram> {
  const tmp = tmpdir('kata-cc-kbs-prog-');
  const admin = generateKeyPairSync('ed25519');
  const pub = join(tmp.path, 'admin.pub.pem');
  writeFileSync(pub, admin.publicKey.export({ format: 'pem', type: 'spki' }).toString());
  const args = [
    join(PROJECT_ROOT, 'dist', 'kbs.mjs'),
    'serve',
    '--listen',
    `${o.host ?? '127.0.0.1'}:0`,
    '--admin-key',
    pub,
    '--store',
    join(tmp.path, 'store'),
  ];
  if (o.allowSample ?? true) args.push('--allow-sample');
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<void>((r) =>
    child.once('exit', () => {
      r();
    }),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout ?? process.stdin });
    const timer = setTimeout(() => {
      reject(new Error(`kbs did not start: ${stderr}`));
    }, 30_000);
    rl.once('line', (line) => {
      clearTimeout(timer);
      resolve(line.trim());
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`kbs exited before printing its url: ${stderr}`));
    });
  });
  const port = Number(new URL(url).port);
  const client = (): KbsClient => new KbsClient({ url: `http://127.0.0.1:${String(port)}` });
  const token = (): string => signAdminToken(admin.privateKey);
  return {
    url,
    port,
    adminPrivateKey: admin.privateKey,
    putResource: async (path, value) => {
      await client().admin(
        'POST',
        `/resource/${path}`,
        token(),
        typeof value === 'string' ? new Uint8Array(Buffer.from(value)) : value,
      );
    },
    setResourcePolicy: async (rego) => {
      await client().admin(
        'POST',
        '/resource-policy',
        token(),
        JSON.stringify({ policy: Buffer.from(rego).toString('base64url') }),
      );
    },
    log: () => stderr,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      tmp.remove();
    },
  };
}
