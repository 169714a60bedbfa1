import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CcError, type Env } from '#src/lib/index.js';
import { KbsClient, signAdminToken } from '#src/protocol/kbs/index.js';

export interface DemoKbsOptions {
  readonly projectRoot: string;
  /** Store, admin key and log live below this folder. */
  readonly dir: string;
  /** Address to bind: the pod network's gateway, so pods (and only the host) reach it. */
  readonly host: string;
  readonly env: Env;
  readonly signal?: AbortSignal | undefined;
}

export interface DemoKbs {
  /** e.g. `http://10.254.77.1:41234` */
  readonly url: string;
  readonly pid: number;
  readonly logPath: string;
  /** `POST /resource/<path>` with the generated admin key. */
  putResource(path: string, value: Uint8Array | string): Promise<void>;
  /** `POST /resource-policy` with the Rego text. */
  setResourcePolicy(rego: string): Promise<void>;
  /** `POST /reference-value` (name → accepted values). */
  setReferenceValue(name: string, values: readonly string[]): Promise<void>;
  /** SIGTERM, then SIGKILL after 10 s; resolves when the process is gone. */
  stop(): Promise<void>;
}

function logTail(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').slice(-10).join('\n') : '';
}

/**
 * Our KBS (`node dist/kbs.mjs serve`, a program of its own: src/host never imports attestation/)
 * with a fresh store, a generated Ed25519 admin key and the sample TEE accepted (coco-dev has no
 * TEE: its evidence proves nothing). Its JSON log goes to `<dir>/kbs.log`.
 */
export async function startDemoKbs(o: DemoKbsOptions): Promise<DemoKbs> {
  const bundle = join(o.projectRoot, 'dist', 'kbs.mjs');
  if (!existsSync(bundle))
    throw new CcError(
      'failed_precondition',
      'ERR_DEMO_KBS',
      `${bundle} is missing: run npm run build`,
    );
  mkdirSync(o.dir, { recursive: true });
  const admin = generateKeyPairSync('ed25519');
  const pub = join(o.dir, 'admin.pub.pem');
  writeFileSync(pub, admin.publicKey.export({ format: 'pem', type: 'spki' }).toString());
  const logPath = join(o.dir, 'kbs.log');
  const logFd = openSync(logPath, 'a');
  const args = [bundle, 'serve', '--listen', `${o.host}:0`, '--admin-key', pub];
  args.push('--store', join(o.dir, 'store'), '--allow-sample');
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', logFd], env: o.env });
  closeSync(logFd);
  child.once('error', () => undefined);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      resolve();
    }),
  );
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  const stdout = child.stdout;
  if (stdout === null) throw new CcError('internal', 'ERR_DEMO_KBS', 'the KBS has no stdout pipe');
  let url: string;
  try {
    url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error('no URL within 60 s'));
      }, 60_000);
      createInterface({ input: stdout }).once('line', (line) => {
        clearTimeout(timer);
        resolve(line.trim());
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`exited with ${String(child.exitCode ?? child.signalCode)}`));
      });
    });
  } catch (err) {
    await stop();
    throw new CcError(
      'unavailable',
      'ERR_DEMO_KBS',
      `the KBS (${bundle} serve) did not start: ${err instanceof Error ? err.message : String(err)}; log ${logPath}:\n${logTail(logPath)}`,
    );
  }
  const client = new KbsClient({ url });
  const admin_ = (path: string, body: Uint8Array | string): Promise<Buffer> =>
    client.admin('POST', path, signAdminToken(admin.privateKey), body, { signal: o.signal });
  return {
    url,
    pid: child.pid ?? -1,
    logPath,
    putResource: async (path, value) => {
      await admin_(`/resource/${path}`, typeof value === 'string' ? Buffer.from(value) : value);
    },
    setResourcePolicy: async (rego) => {
      await admin_(
        '/resource-policy',
        JSON.stringify({ policy: Buffer.from(rego).toString('base64url') }),
      );
    },
    setReferenceValue: async (name, values) => {
      await admin_('/reference-value', JSON.stringify({ name, values }));
    },
    stop,
  };
}

/** The resources the KBS logged as released (`"msg":"resource released"`), in order, once each. */
export function releasedResources(logPath: string): string[] {
  const out: string[] = [];
  const text = existsSync(logPath) ? readFileSync(logPath, 'utf8') : '';
  for (const line of text.split('\n')) {
    if (!line.includes('"resource released"')) continue;
    try {
      const r = (JSON.parse(line) as { resource?: unknown }).resource;
      if (typeof r === 'string' && !out.includes(r)) out.push(r);
    } catch {
      // not a JSON line
    }
  }
  return out;
}
