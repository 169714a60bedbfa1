/**
 * A private Debian `docker-registry` (distribution 2.8) for tests: its own config.yml, storage in a
 * tmpdir, 127.0.0.1 on a free port, optional htpasswd basic auth, bearer-token auth (with a token
 * server in this process) and TLS (self-signed certificate for 127.0.0.1).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, createPrivateKey, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, get as httpGet, type Server } from 'node:http';
import { get as httpsGet } from 'node:https';
import { connect, createServer as createNetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';

export const REGISTRY_BINARY = '/usr/bin/docker-registry';
export const TEST_USER = 'kata';
export const TEST_PASSWORD = 'cc-secret-pw';

export interface StartRegistryOptions {
  readonly auth?: 'none' | 'basic' | 'token';
  readonly tls?: boolean;
  /** Address to listen on (default 127.0.0.1; e.g. the pod gateway so guests reach it). */
  readonly listen?: string;
}

export interface TestRegistry {
  /** `127.0.0.1:PORT` */
  readonly host: string;
  /** `http(s)://127.0.0.1:PORT` */
  readonly url: string;
  /** PEM of the self-signed certificate when tls is on. */
  readonly caPem: string | undefined;
  /** `user:password` for skopeo --dest-creds when auth is on. */
  readonly creds: string | undefined;
  readonly dataDir: string;
  stop(): Promise<void>;
}

/** Why registry tests cannot run, or undefined. */
export function registryUnavailableReason(): string | undefined {
  if (!existsSync(REGISTRY_BINARY))
    return `${REGISTRY_BINARY} is missing (apt-get install docker-registry)`;
  if (spawnSync('skopeo', ['--version']).error) return 'skopeo is missing (apt-get install skopeo)';
  if (spawnSync('umoci', ['--version']).error) return 'umoci is missing (apt-get install umoci)';
  return undefined;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => {
        resolve(port);
      });
    });
  });
}

function makeCert(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const r = spawnSync('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '2',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ]);
  if (r.status !== 0) throw new Error(`openssl req failed: ${r.stderr.toString()}`);
  return { cert, key };
}

function htpasswd(dir: string): string {
  const path = join(dir, 'htpasswd');
  const r = spawnSync('htpasswd', ['-Bbn', TEST_USER, TEST_PASSWORD]);
  if (r.status !== 0)
    throw new Error(`htpasswd failed (apt-get install apache2-utils): ${r.stderr.toString()}`);
  writeFileSync(path, r.stdout);
  return path;
}

/** A token server (distribution's "token" auth): Basic creds in, ES256 JWT with an x5c header out. */
async function startTokenServer(
  dir: string,
): Promise<{ server: Server; realm: string; bundle: string }> {
  const { cert, key } = makeCert(dir);
  const certDer = Buffer.from(
    readFileSync(cert, 'utf8').replace(/-----[^-]+-----|\s/g, ''),
    'base64',
  );
  const signingKey = createPrivateKey(readFileSync(key, 'utf8'));
  const port = await freePort();
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const expected = `Basic ${Buffer.from(`${TEST_USER}:${TEST_PASSWORD}`).toString('base64')}`;
      if (req.headers.authorization !== expected) {
        res.writeHead(401).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
        return;
      }
      const access = url.searchParams.getAll('scope').map((s) => {
        const [type, name, actions] = s.split(':');
        return { type, name, actions: (actions ?? '').split(',') };
      });
      const token = await new SignJWT({ access })
        .setProtectedHeader({ alg: 'ES256', typ: 'JWT', x5c: [certDer.toString('base64')] })
        .setIssuer('kata-test-issuer')
        .setSubject(TEST_USER)
        .setAudience('kata-test-registry')
        .setIssuedAt()
        .setNotBefore('-10s')
        .setExpirationTime('5m')
        .setJti(randomUUID())
        .sign(signingKey);
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ token, expires_in: 300 }));
    })();
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { server, realm: `http://127.0.0.1:${String(port)}/token`, bundle: cert };
}

function probeV2(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = (url.startsWith('https') ? httpsGet : httpGet)(
      url,
      { rejectUnauthorized: false, timeout: 1000 },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', () => {
      resolve(0);
    });
    req.on('timeout', () => req.destroy());
  });
}

async function waitForV2(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`docker-registry exited (${String(child.exitCode)}): ${log()}`);
    const status = await probeV2(`${url}/v2/`);
    if (status === 200 || status === 401) return;
    if (Date.now() > deadline)
      throw new Error(`docker-registry did not answer /v2/ within 15 s: ${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startRegistry(options: StartRegistryOptions = {}): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'kata-cc-registry-'));
  const port = await freePort();
  const host = `${options.listen ?? '127.0.0.1'}:${String(port)}`;
  const tls = options.tls === true;
  const auth = options.auth ?? 'none';
  let tlsBlock = '';
  let caPem: string | undefined;
  if (tls) {
    const { cert, key } = makeCert(dir);
    caPem = readFileSync(cert, 'utf8');
    tlsBlock = `  tls:\n    certificate: ${cert}\n    key: ${key}\n`;
  }
  let authBlock = '';
  let tokenServer: Server | undefined;
  if (auth === 'basic')
    authBlock = `auth:\n  htpasswd:\n    realm: kata-test\n    path: ${htpasswd(dir)}\n`;
  if (auth === 'token') {
    const t = await startTokenServer(join(dir));
    tokenServer = t.server;
    authBlock = `auth:\n  token:\n    realm: ${t.realm}\n    service: kata-test-registry\n    issuer: kata-test-issuer\n    rootcertbundle: ${t.bundle}\n`;
  }
  const config = `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\n  delete:\n    enabled: true\nhttp:\n  addr: ${host}\n  secret: ${randomUUID()}\n${tlsBlock}${authBlock}`;
  writeFileSync(join(dir, 'config.yml'), config);
  const child = spawn(REGISTRY_BINARY, ['serve', join(dir, 'config.yml')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    if (tokenServer) await new Promise((r) => tokenServer.close(r));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForV2(`${tls ? 'https' : 'http'}://${host}`, child, () => stderr);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    host,
    url: `${tls ? 'https' : 'http'}://${host}`,
    caPem,
    creds: auth === 'none' ? undefined : `${TEST_USER}:${TEST_PASSWORD}`,
    dataDir: join(dir, 'data'),
    stop,
  };
}

async function registryFetch(
  reg: TestRegistry,
  path: string,
  init: RequestInit = {},
): Promise<Response> {
  const headers = new Headers(init.headers);
  if (reg.creds) headers.set('authorization', `Basic ${Buffer.from(reg.creds).toString('base64')}`);
  return fetch(`${reg.url}${path}`, { ...init, headers });
}

/** Uploads a blob (monolithic POST + PUT); returns its digest. Plain-HTTP or basic-auth registries. */
export async function uploadBlob(
  reg: TestRegistry,
  repo: string,
  bytes: Uint8Array,
): Promise<string> {
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const start = await registryFetch(reg, `/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  const location = start.headers.get('location');
  if (start.status !== 202 || location === null)
    throw new Error(`blob upload start: ${String(start.status)}`);
  const url = new URL(location, reg.url);
  url.searchParams.set('digest', digest);
  const put = await registryFetch(reg, `${url.pathname}${url.search}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream' },
    body: bytes,
  });
  if (put.status !== 201) throw new Error(`blob upload: ${String(put.status)} ${await put.text()}`);
  return digest;
}

/** PUTs a manifest under a tag; returns its digest. */
export async function putManifest(
  reg: TestRegistry,
  repo: string,
  tag: string,
  bytes: Uint8Array,
  mediaType: string,
): Promise<string> {
  const res = await registryFetch(reg, `/v2/${repo}/manifests/${tag}`, {
    method: 'PUT',
    headers: { 'content-type': mediaType },
    body: bytes,
  });
  if (res.status !== 201)
    throw new Error(`manifest put: ${String(res.status)} ${await res.text()}`);
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** GETs a manifest (OCI or Docker) and returns its bytes, digest and content type. */
export async function getManifest(
  reg: TestRegistry,
  repo: string,
  ref: string,
): Promise<{ bytes: Buffer; digest: string; mediaType: string }> {
  const res = await registryFetch(reg, `/v2/${repo}/manifests/${ref}`, {
    headers: {
      accept:
        'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json',
    },
  });
  if (res.status !== 200) throw new Error(`manifest get: ${String(res.status)}`);
  const bytes = Buffer.from(await res.arrayBuffer());
  return {
    bytes,
    digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
    mediaType: res.headers.get('content-type') ?? '',
  };
}

/** The file the filesystem storage driver keeps a blob in (to tamper with it). */
export function blobPath(reg: TestRegistry, digest: string): string {
  const hex = digest.replace(/^sha256:/, '');
  return join(
    reg.dataDir,
    'docker',
    'registry',
    'v2',
    'blobs',
    'sha256',
    hex.slice(0, 2),
    hex,
    'data',
  );
}

export interface CuttingProxy {
  readonly host: string;
  /** Connections cut so far. */
  readonly cuts: number;
  /** Whether a client sent a `Range:` request header through the proxy. */
  readonly sawRange: boolean;
  close(): Promise<void>;
}

/**
 * A TCP proxy in front of `upstream` that kills the first connection after `cutAfter` response
 * bytes (the middle of the first large blob), then forwards faithfully.
 */
export async function startCuttingProxy(
  upstream: string,
  cutAfter: number,
  maxCuts = 1,
): Promise<CuttingProxy> {
  const [uh, up] = upstream.split(':');
  const state = { cuts: 0, sawRange: false };
  const sockets = new Set<Socket>();
  const server = createNetServer((client) => {
    sockets.add(client);
    const server2 = connect(Number(up), uh ?? '127.0.0.1');
    sockets.add(server2);
    let sent = 0;
    client.on('data', (d: Buffer) => {
      if (/\r\nrange: bytes=/i.test(d.toString('latin1'))) state.sawRange = true;
      server2.write(d);
    });
    server2.on('data', (d: Buffer) => {
      sent += d.length;
      if (state.cuts < maxCuts && sent > cutAfter) {
        state.cuts++;
        client.write(d.subarray(0, Math.max(0, d.length - (sent - cutAfter))));
        client.destroy();
        server2.destroy();
        return;
      }
      client.write(d);
    });
    const end = (): void => {
      client.destroy();
      server2.destroy();
      sockets.delete(client);
      sockets.delete(server2);
    };
    client.on('close', end);
    server2.on('close', end);
    client.on('error', end);
    server2.on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  const port = typeof a === 'object' && a !== null ? a.port : 0;
  return {
    host: `127.0.0.1:${String(port)}`,
    get cuts() {
      return state.cuts;
    },
    get sawRange() {
      return state.sawRange;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => {
          r();
        });
      }),
  };
}
