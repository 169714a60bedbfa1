import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, test } from 'vitest';
import {
  DigestVerifier,
  MAX_MANIFEST_BYTES,
  parseImageReference,
  parseRegistriesConf,
  pullSourcesOf,
  RegistryClient,
  type Descriptor,
} from '#src/oci/index.js';
import { Secret } from '#src/lib/index.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
const servers: Server[] = [];

async function serve(handler: Handler): Promise<string> {
  const s = createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const a = s.address();
  return `127.0.0.1:${String(typeof a === 'object' && a !== null ? a.port : 0)}`;
}

afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise((r) => {
          s.closeAllConnections();
          s.close(r);
        }),
    ),
  );
});

const fast = { attempts: 4, initialDelayMs: 1, maxDelayMs: 2 };
const blob = Buffer.from('x'.repeat(100_000));
const desc: Descriptor = {
  mediaType: 'application/octet-stream',
  digest: `sha256:${createHash('sha256').update(blob).digest('hex')}`,
  size: blob.length,
  annotations: {},
};

async function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function client(host: string): { c: RegistryClient; ref: ReturnType<typeof parseImageReference> } {
  return {
    c: new RegistryClient({ insecureRegistries: [host], retry: fast }),
    ref: parseImageReference(`${host}/a/b:t`),
  };
}

describe('RegistryClient', () => {
  test('retries 5xx answers with back-off, then succeeds', async () => {
    let calls = 0;
    const host = await serve((_req, res) => {
      calls++;
      if (calls < 3) res.writeHead(503).end();
      else
        res
          .writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' })
          .end('{}');
    });
    const { c, ref } = client(host);
    const m = await c.getManifest(ref, 't', MAX_MANIFEST_BYTES);
    expect(m.bytes.toString()).toBe('{}');
    expect(calls).toBe(3);
  });

  test('gives up after the configured attempts with ERR_OCI_REGISTRY', async () => {
    const host = await serve((_req, res) => res.writeHead(502).end());
    const { c, ref } = client(host);
    await expect(c.getManifest(ref, 't', MAX_MANIFEST_BYTES)).rejects.toMatchObject({
      code: 'ERR_OCI_REGISTRY',
      kind: 'unavailable',
    });
  });

  test('refuses a manifest larger than the limit before reading it', async () => {
    const host = await serve((_req, res) =>
      res.writeHead(200, { 'content-length': String(MAX_MANIFEST_BYTES + 1) }).end(),
    );
    const { c, ref } = client(host);
    await expect(c.getManifest(ref, 't', MAX_MANIFEST_BYTES)).rejects.toMatchObject({
      code: 'ERR_OCI_TOO_LARGE',
    });
  });

  test('refuses a chunked manifest that grows past the limit', async () => {
    const host = await serve((_req, res) => {
      res.writeHead(200);
      res.write(Buffer.alloc(1000, 32));
      res.end(Buffer.alloc(2000, 32));
    });
    const { c, ref } = client(host);
    await expect(c.getManifest(ref, 't', 1500)).rejects.toMatchObject({
      code: 'ERR_OCI_TOO_LARGE',
    });
  });

  test('checks the digest of a manifest fetched by digest', async () => {
    const host = await serve((_req, res) => res.writeHead(200).end('{"tampered":true}'));
    const { c, ref } = client(host);
    await expect(
      c.getManifest(ref, `sha256:${'1'.repeat(64)}`, MAX_MANIFEST_BYTES),
    ).rejects.toMatchObject({ code: 'ERR_OCI_DIGEST_MISMATCH' });
  });

  test('resumes a dropped blob when the server honours Range', async () => {
    const ranges: (string | undefined)[] = [];
    const host = await serve((req, res) => {
      ranges.push(req.headers.range);
      const start = Number(/bytes=(\d+)-/.exec(req.headers.range ?? '')?.[1] ?? 0);
      if (start === 0) {
        res.writeHead(200, { 'content-length': String(blob.length) });
        res.write(blob.subarray(0, 30_000), () => res.socket?.destroy());
        return;
      }
      res
        .writeHead(206, {
          'content-range': `bytes ${String(start)}-${String(blob.length - 1)}/${String(blob.length)}`,
        })
        .end(blob.subarray(start));
    });
    const { c, ref } = client(host);
    const got = await readAll(
      c
        .openBlob(ref, desc)
        .pipe(new DigestVerifier({ digest: desc.digest, size: desc.size, what: 'blob' })),
    );
    expect(got.equals(blob)).toBe(true);
    expect(ranges[0]).toBeUndefined();
    expect(ranges[1]).toMatch(/^bytes=\d+-$/);
  });

  test('resumes correctly when the server ignores Range and resends from byte 0', async () => {
    let n = 0;
    const host = await serve((_req, res) => {
      n++;
      res.writeHead(200, { 'content-length': String(blob.length) });
      if (n === 1) res.write(blob.subarray(0, 40_000), () => res.socket?.destroy());
      else res.end(blob);
    });
    const { c, ref } = client(host);
    const got = await readAll(c.openBlob(ref, desc));
    expect(got.equals(blob)).toBe(true);
  });

  test('answers a Basic challenge and does not leak credentials to a redirect target host', async () => {
    let leaked: string | undefined = 'unset';
    const storage = await serve((req, res) => {
      leaked = req.headers.authorization;
      res.writeHead(200).end(blob);
    });
    const host = await serve((req, res) => {
      if (req.headers.authorization === undefined)
        res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end();
      else res.writeHead(307, { location: `http://${storage}/data` }).end();
    });
    const { Secret } = await import('#src/lib/index.js');
    const c = new RegistryClient({
      insecureRegistries: [host],
      retry: fast,
      credentials: () => ({ username: 'u', password: new Secret('p') }),
    });
    const got = await readAll(c.openBlob(parseImageReference(`${host}/a:t`), desc));
    expect(got.equals(blob)).toBe(true);
    expect(leaked).toBeUndefined();
  });

  test('a 401 without credentials is Not authorized', async () => {
    const host = await serve((_req, res) =>
      res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end(),
    );
    const { c, ref } = client(host);
    await expect(c.getManifest(ref, 't', MAX_MANIFEST_BYTES)).rejects.toThrow(/^Not authorized: /);
  });

  test("a mirror never gets the origin's credentials, and one refusing access is passed over", async () => {
    const manifest = Buffer.from('{"schemaVersion":2}');
    const seenByMirror: (string | undefined)[] = [];
    const mirror = await serve((req, res) => {
      seenByMirror.push(req.headers.authorization);
      res.writeHead(401, { 'www-authenticate': 'Basic realm="mirror"' }).end();
    });
    const origin = await serve((req, res) => {
      if (req.headers.authorization !== `Basic ${Buffer.from('u:origin-pw').toString('base64')}`) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="origin"' }).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
      res.end(manifest);
    });
    const conf = parseRegistriesConf(
      `[[registry]]\nlocation = "${origin}"\ninsecure = true\n[[registry.mirror]]\nlocation = "${mirror}/cache"\ninsecure = true\n`,
    );
    const c = new RegistryClient({
      sources: (r) => pullSourcesOf(conf, r),
      credentials: (h) =>
        h === origin ? { username: 'u', password: new Secret('origin-pw') } : undefined,
      retry: fast,
    });
    const got = await c.getManifest(
      parseImageReference(`${origin}/a/b:t`),
      't',
      MAX_MANIFEST_BYTES,
    );
    expect(got.bytes).toEqual(manifest);
    expect(seenByMirror.length).toBeGreaterThan(0);
    expect(seenByMirror.every((h) => h === undefined)).toBe(true);
  });
});
