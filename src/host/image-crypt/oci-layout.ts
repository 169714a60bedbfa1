import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isPlainObject, wrapError } from '#src/lib/index.js';
import {
  DigestVerifier,
  MEDIA_TYPES,
  digestOf,
  parseDigest,
  parseManifestDocument,
  type Descriptor,
  type ImageManifest,
} from '#src/oci/index.js';
import { ImageCryptError } from './errors.js';

/** `oci:DIR:TAG` of skopeo/umoci (TAG defaults to `latest`). */
export interface LayoutRef {
  readonly dir: string;
  readonly tag: string;
}

const REF_NAME = 'org.opencontainers.image.ref.name';
const MAX_DOC = 4 << 20;

export function parseLayoutRef(raw: string, what: string): LayoutRef {
  const m = /^oci:([^:]+)(?::([A-Za-z0-9_][A-Za-z0-9._-]{0,127}))?$/.exec(raw);
  if (!m?.[1])
    throw new ImageCryptError(
      'invalid_argument',
      'ERR_IMAGE_ENCRYPT',
      `${what} ${JSON.stringify(raw)}: expected oci:DIR[:TAG] (an OCI image layout)`,
    );
  return { dir: m[1], tag: m[2] ?? 'latest' };
}

function bad(ref: LayoutRef, why: string, cause?: unknown): ImageCryptError {
  return new ImageCryptError(
    'invalid_argument',
    'ERR_IMAGE_ENCRYPT',
    `oci:${ref.dir}:${ref.tag}: ${why}`,
    cause === undefined ? undefined : { cause },
  );
}

export function blobPath(dir: string, digest: string): string {
  const d = parseDigest(digest);
  return join(dir, 'blobs', d.algorithm, d.hex);
}

async function readBlob(ref: LayoutRef, desc: Descriptor): Promise<Buffer> {
  if (desc.size > MAX_DOC) throw bad(ref, `${desc.digest} is larger than ${String(MAX_DOC)} bytes`);
  let bytes: Buffer;
  try {
    bytes = await readFile(blobPath(ref.dir, desc.digest));
  } catch (err) {
    throw wrapError(
      err,
      `oci:${ref.dir}:${ref.tag}: cannot read blob ${desc.digest}`,
      'ERR_IMAGE_ENCRYPT',
    );
  }
  if (
    digestOf(bytes, parseDigest(desc.digest).algorithm) !== desc.digest ||
    bytes.length !== desc.size
  )
    throw bad(ref, `blob ${desc.digest} does not match its digest or size`);
  return bytes;
}

/** The tagged image manifest of a layout: its parsed form and raw JSON object. */
export async function readLayoutManifest(
  ref: LayoutRef,
): Promise<{ manifest: ImageManifest; raw: Record<string, unknown> }> {
  let index: unknown;
  try {
    index = JSON.parse(await readFile(join(ref.dir, 'index.json'), 'utf8'));
  } catch (err) {
    throw bad(ref, 'no readable index.json (is it an OCI image layout?)', err);
  }
  const manifests = isPlainObject(index) ? index['manifests'] : undefined;
  if (!Array.isArray(manifests)) throw bad(ref, 'index.json has no manifests');
  const entry: unknown = manifests.find(
    (m) =>
      isPlainObject(m) && isPlainObject(m['annotations']) && m['annotations'][REF_NAME] === ref.tag,
  );
  if (entry === undefined) throw bad(ref, `no manifest tagged ${JSON.stringify(ref.tag)}`);
  const doc = parseManifestDocument(
    new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, manifests: [entry] })),
    MEDIA_TYPES.ociIndex,
    'index.json',
  );
  const desc = doc.kind === 'index' ? doc.manifests[0] : undefined;
  if (desc?.mediaType !== MEDIA_TYPES.ociManifest)
    throw bad(
      ref,
      `the tag names ${desc?.mediaType ?? 'nothing'}, not one OCI image manifest (copy a single platform first)`,
    );
  const bytes = await readBlob(ref, desc);
  const manifest = parseManifestDocument(bytes, desc.mediaType);
  if (manifest.kind !== 'manifest') throw bad(ref, 'the tag does not name an image manifest');
  return { manifest, raw: JSON.parse(bytes.toString('utf8')) as Record<string, unknown> };
}

/** Copies a blob from one layout to another (digest-checked). */
export async function copyBlob(
  from: LayoutRef,
  to: string,
  desc: Descriptor,
  signal?: AbortSignal,
): Promise<void> {
  await writeStreamedBlob(to, openBlob(from, desc), signal);
}

/** The blob as a stream that fails when its digest or size differs from the descriptor. */
export function openBlob(from: LayoutRef, desc: Descriptor): Readable {
  const src = createReadStream(blobPath(from.dir, desc.digest));
  const check = new DigestVerifier({
    digest: desc.digest,
    size: desc.size,
    what: `oci:${from.dir} blob ${desc.digest}`,
  });
  src.on('error', (e) =>
    check.destroy(
      wrapError(e, `oci:${from.dir}: cannot read blob ${desc.digest}`, 'ERR_IMAGE_ENCRYPT'),
    ),
  );
  return src.pipe(check);
}

/** Writes a stream as a sha256 blob of the layout in `dir`; returns its digest and size. */
export async function writeStreamedBlob(
  dir: string,
  source: Readable,
  signal?: AbortSignal,
  ...through: Transform[]
): Promise<{ digest: string; size: number }> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  const tmp = join(
    dir,
    'blobs',
    `.tmp-${process.pid.toString()}-${Math.random().toString(36).slice(2)}`,
  );
  const hash = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _e, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  try {
    await pipeline([source, ...through, tap, createWriteStream(tmp)], { signal });
    const digest = `sha256:${hash.digest('hex')}`;
    await rename(tmp, blobPath(dir, digest));
    return { digest, size };
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Writes `bytes` as a blob, returning its descriptor fields. */
export async function writeBlob(
  dir: string,
  bytes: Uint8Array,
): Promise<{ digest: string; size: number }> {
  const digest = digestOf(bytes);
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(blobPath(dir, digest), bytes);
  return { digest, size: bytes.length };
}

/** Writes `oci-layout` and an `index.json` naming one manifest under `tag`. */
export async function writeLayoutIndex(
  dir: string,
  manifest: { digest: string; size: number },
  tag: string,
): Promise<void> {
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const index = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociIndex,
    manifests: [
      { mediaType: MEDIA_TYPES.ociManifest, ...manifest, annotations: { [REF_NAME]: tag } },
    ],
  };
  await writeFile(join(dir, 'index.json'), JSON.stringify(index));
}
