/**
 * Guest-pull throughput: `kata-cc image pull` (digest check + ocicrypt decrypt + gunzip + safe
 * unpack) of a 256 MiB encrypted image from a local docker-registry, next to `skopeo copy
 * --decryption-key` + `umoci unpack` and to `gzip -dc | tar -x` of the same layers, in one run;
 * plus the peak RSS (VmHWM) of the pull above the idle RSS of the same program.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import {
  buildImage,
  makeKeyPair,
  pushImage,
  sh,
  tempDir,
  type FileSpec,
} from '../helpers/images.js';
import { startRegistry } from '../helpers/registry.js';
import type { BenchContext, Benchmark, BenchResult } from './benchmark.js';

const FILE_MIB = 32;
const FILES_PER_LAYER = 4;
const LAYERS = 2;
const RSS_LIMIT_MIB = 64;

function recipe(): { layers: FileSpec[][] } {
  const layers: FileSpec[][] = [];
  for (let l = 0; l < LAYERS; l++) {
    const files: FileSpec[] = [];
    for (let f = 0; f < FILES_PER_LAYER; f++)
      files.push({
        kind: 'blob',
        path: `data/l${String(l)}/f${String(f)}.txt`,
        size: FILE_MIB << 20,
        seed: `bench-${String(l)}-${String(f)}`,
      });
    if (l === 0) files.push({ kind: 'busybox', path: 'bin/busybox' });
    layers.push(files);
  }
  return { layers };
}

function vmHwmKiB(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${String(pid)}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Runs argv, sampling VmHWM every 20 ms; returns wall ms and the last (= peak) VmHWM seen. */
function runSampled(
  argv: readonly string[],
  killWhen?: Promise<void>,
): Promise<{ ms: number; hwmKiB: number; code: number | null; stderr: string }> {
  const [cmd, ...args] = argv;
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd ?? 'false', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    let hwm = 0;
    const timer = setInterval(() => {
      if (child.pid !== undefined) hwm = Math.max(hwm, vmHwmKiB(child.pid) ?? 0);
    }, 20);
    let killer: NodeJS.Timeout | undefined;
    // once the idle program is fully loaded (it connected), sample a little longer, then stop it
    void killWhen?.then(() => {
      killer = setTimeout(() => child.kill('SIGTERM'), 500);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(timer);
      if (killer) clearTimeout(killer);
      resolve({ ms: performance.now() - t0, hwmKiB: hwm, code, stderr });
    });
  });
}

async function gunzipTar(layout: string, into: string): Promise<number> {
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as {
    manifests: { digest: string }[];
  };
  const blob = (d: string): string => join(layout, 'blobs', ...d.split(':'));
  const manifest = JSON.parse(await readFile(blob(index.manifests[0]?.digest ?? ''), 'utf8')) as {
    layers: { digest: string }[];
  };
  await mkdir(into, { recursive: true });
  const t0 = performance.now();
  for (const layer of manifest.layers) {
    await new Promise<void>((resolve, reject) => {
      const gz = spawn('gzip', ['-dc', blob(layer.digest)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const tar = spawn('tar', ['-x', '-C', into], { stdio: ['pipe', 'inherit', 'inherit'] });
      gz.stdout.pipe(tar.stdin);
      tar.on('close', (code) => {
        if (code === 0) resolve();
        else reject(new Error(`tar -x exited ${String(code)}`));
      });
    });
  }
  return performance.now() - t0;
}

/** A TCP server that accepts and never answers: the pull process idles fully loaded. */
async function silentServer(): Promise<{
  host: string;
  connected: Promise<void>;
  close: () => Promise<void>;
}> {
  const sockets: Socket[] = [];
  let onConnect = (): void => undefined;
  const connected = new Promise<void>((r) => (onConnect = r));
  const s = createServer((c) => {
    sockets.push(c);
    onConnect();
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const a = s.address();
  const port = typeof a === 'object' && a !== null ? a.port : 0;
  return {
    host: `127.0.0.1:${String(port)}`,
    connected,
    close: () =>
      new Promise<void>((r) => {
        for (const c of sockets) c.destroy();
        s.close(() => {
          r();
        });
      }),
  };
}

async function measure(ctx: BenchContext): Promise<BenchResult> {
  const cache = join(ctx.projectRoot, '.cache', 'test-images');
  ctx.progress(
    `building the ${String(FILE_MIB * FILES_PER_LAYER * LAYERS)} MiB image (cached under ${cache})`,
  );
  const image = await buildImage(recipe(), cache);
  const reg = await startRegistry();
  const work = await tempDir('kata-cc-bench-pull-');
  const bundle = join(ctx.projectRoot, 'dist', 'kata-cc.mjs');
  try {
    const keys = await makeKeyPair(work, 'rsa');
    ctx.progress('pushing it encrypted (skopeo --encryption-key jwe:)');
    await pushImage(image, reg.host, 'bench:enc', { encryptionKey: keys.pub });
    const ref = `${reg.host}/bench:enc`;
    const mib = FILE_MIB * FILES_PER_LAYER * LAYERS;

    const idleServer = await silentServer();
    const idle = await runSampled(
      [
        process.execPath,
        bundle,
        'image',
        'pull',
        `${idleServer.host}/idle:1`,
        join(work, 'idle'),
        '--insecure-registry',
        idleServer.host,
      ],
      idleServer.connected,
    );
    await idleServer.close();

    ctx.progress('ours: kata-cc image pull');
    const ours = await runSampled([
      process.execPath,
      bundle,
      'image',
      'pull',
      ref,
      join(work, 'ours'),
      '--decryption-key',
      keys.priv,
      '--insecure-registry',
      reg.host,
      '--json',
    ]);
    if (ours.code !== 0) throw new Error(`kata-cc image pull failed: ${ours.stderr}`);

    ctx.progress('peer: skopeo copy --decryption-key + umoci unpack');
    const t0 = performance.now();
    await sh([
      'skopeo',
      'copy',
      '--src-tls-verify=false',
      '--decryption-key',
      keys.priv,
      `docker://${ref}`,
      `oci:${join(work, 'skopeo')}:t`,
    ]);
    await sh(['umoci', 'unpack', '--image', `${join(work, 'skopeo')}:t`, join(work, 'umoci')]);
    const peerMs = performance.now() - t0;

    ctx.progress('floor: gzip -dc | tar -x of the plain layers');
    const tarMs = await gunzipTar(image.dir, join(work, 'tar'));

    const deltaMiB = (ours.hwmKiB - idle.hwmKiB) / 1024;
    return {
      figures: [
        { label: 'image size (uncompressed)', value: mib, unit: 'MiB' },
        {
          label: 'kata-cc image pull (fetch+verify+decrypt+unpack)',
          value: mib / (ours.ms / 1000),
          unit: 'MiB/s',
        },
        {
          label: 'skopeo copy --decryption-key + umoci unpack',
          value: mib / (peerMs / 1000),
          unit: 'MiB/s',
        },
        {
          label: 'gzip -dc | tar -x (local, no network/crypto)',
          value: mib / (tarMs / 1000),
          unit: 'MiB/s',
        },
        { label: 'kata-cc image pull peak RSS (VmHWM)', value: ours.hwmKiB / 1024, unit: 'MiB' },
        { label: 'same program idle RSS (VmHWM)', value: idle.hwmKiB / 1024, unit: 'MiB' },
        { label: 'pull RSS above idle', value: deltaMiB, unit: 'MiB' },
      ],
      ratios: [
        { label: 'ours / skopeo+umoci throughput', value: peerMs / ours.ms },
        { label: 'ours / gzip|tar throughput', value: tarMs / ours.ms },
        {
          label: `pull RSS above idle / ${String(RSS_LIMIT_MIB)} MiB limit (< 1 ok)`,
          value: deltaMiB / RSS_LIMIT_MIB,
        },
      ],
      notes: [
        deltaMiB < RSS_LIMIT_MIB ? 'RSS within the 64 MiB budget' : 'RSS OVER the 64 MiB budget',
      ],
    };
  } finally {
    await reg.stop();
    await rm(work, { recursive: true, force: true });
  }
}

export const pullBenchmark: Benchmark = {
  name: 'pull',
  summary: 'guest-pull throughput (encrypted 256 MiB image) vs skopeo+umoci and gzip|tar; peak RSS',
  run: measure,
};
