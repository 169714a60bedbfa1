/**
 * The Go ttrpc peer (test/fixtures/ttrpc-go/main.go, containerd/ttrpc from Debian's
 * golang-github-containerd-ttrpc-dev): built offline in GOPATH mode, cached under
 * .cache/go-ttrpc/<hash of source + go version>/, started as a server or run as a client.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire';
import { processEnv } from '#src/lib/index.js';
import { defineService } from '#src/protocol/ttrpc/index.js';

const GOCODE = '/usr/share/gocode';

export type GoPeerBuild = { readonly binary: string } | { readonly skipReason: string };

function run(
  cmd: string,
  args: string[],
  env: Record<string, string | undefined>,
  cwd?: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env, cwd, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

/** Builds (or reuses) the Go peer; a machine without Go or the ttrpc package gets a skip reason. */
export async function buildGoTtrpcPeer(projectRoot: string): Promise<GoPeerBuild> {
  if (!existsSync(join(GOCODE, 'src/github.com/containerd/ttrpc'))) {
    return { skipReason: 'golang-github-containerd-ttrpc-dev is not installed' };
  }
  const source = join(projectRoot, 'test/fixtures/ttrpc-go/main.go');
  const env = { ...processEnv() };
  let goVersion: string;
  try {
    goVersion = await run('go', ['version'], env);
  } catch {
    return { skipReason: 'go is not installed (golang-go)' };
  }
  const hash = createHash('sha256')
    .update(readFileSync(source))
    .update(goVersion)
    .digest('hex')
    .slice(0, 16);
  const cache = join(projectRoot, '.cache/go-ttrpc');
  const binary = join(cache, hash, 'ttrpc-peer');
  if (existsSync(binary)) return { binary };
  mkdirSync(join(cache, hash), { recursive: true });
  mkdirSync(join(cache, 'gopath/src'), { recursive: true });
  const tmp = `${binary}.${process.pid}.tmp`;
  await run(
    'go',
    ['build', '-o', tmp, source],
    {
      ...env,
      GO111MODULE: 'off',
      GOPATH: `${join(cache, 'gopath')}:${GOCODE}`,
      GOPROXY: 'off',
      GOFLAGS: '',
      GOCACHE: join(cache, 'gocache'),
    },
    join(cache, 'gopath'),
  );
  renameSync(tmp, binary);
  return { binary };
}

export interface GoServer {
  readonly socket: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `ttrpc-peer server <socket>` and waits for its READY line. */
export function startGoServer(binary: string, socket: string): Promise<GoServer> {
  const child = spawn(binary, ['server', socket], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      resolve();
    }),
  );
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`go ttrpc server did not start: ${stderr}`));
    }, 10_000);
    child.stdout.on('data', (c: Buffer) => {
      if (c.toString().includes('READY')) {
        clearTimeout(timer);
        resolve({ socket, process: child, stop });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`go ttrpc server exited with ${code}: ${stderr}`));
    });
  });
}

/** Runs the peer in client or bench mode and returns its JSON output lines. */
export async function runGoPeer(
  binary: string,
  args: string[],
): Promise<Record<string, unknown>[]> {
  const out = await run(binary, args, { ...processEnv() });
  return out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** kata.test.Msg { string text = 1; int32 code = 2; int64 number = 3; bytes blob = 4; } */
export interface InteropMsg {
  text: string;
  code: number;
  number: number;
  blob: Uint8Array;
}

export const InteropMsg = {
  encode(m: InteropMsg): BinaryWriter {
    const w = new BinaryWriter();
    if (m.text !== '') w.uint32(10).string(m.text);
    if (m.code !== 0) w.uint32(16).int32(m.code);
    if (m.number !== 0) w.uint32(24).int64(m.number);
    if (m.blob.length > 0) w.uint32(34).bytes(m.blob);
    return w;
  },
  decode(input: Uint8Array): InteropMsg {
    const r = new BinaryReader(input);
    const m: InteropMsg = { text: '', code: 0, number: 0, blob: new Uint8Array() };
    while (r.pos < r.len) {
      const tag = r.uint32();
      switch (tag >>> 3) {
        case 1:
          m.text = r.string();
          break;
        case 2:
          m.code = r.int32();
          break;
        case 3:
          m.number = Number(r.int64());
          break;
        case 4:
          m.blob = r.bytes();
          break;
        default:
          // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- wire type bits
          r.skip(tag & 7);
      }
    }
    return m;
  },
};

export function msg(partial: Partial<InteropMsg>): InteropMsg {
  return { text: '', code: 0, number: 0, blob: new Uint8Array(), ...partial };
}

/** The Go peer's service, for our typed client and server. */
export const INTEROP_SERVICE = defineService('kata.test.Interop', {
  Echo: { requestType: InteropMsg, responseType: InteropMsg },
  Fail: { requestType: InteropMsg, responseType: InteropMsg },
  Deadline: { requestType: InteropMsg, responseType: InteropMsg },
});
