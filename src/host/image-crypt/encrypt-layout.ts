import { createPublicKey, type KeyObject } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FlattenedEncrypt, GeneralEncrypt } from 'jose';
import { wrapError } from '#src/lib/index.js';
import {
  ANNOTATION_JWE,
  ANNOTATION_PROVIDER_PREFIX,
  ANNOTATION_PUBOPTS,
  LayerEncipher,
  encodePrivateOptions,
  encodePublicOptions,
  layerFormatOf,
  newLayerKey,
  type Descriptor,
} from '#src/oci/index.js';
import { ImageCryptError } from './errors.js';
import { wrapWithKeyProvider, type KeyProviderConfig } from './ocicrypt-config.js';
import {
  copyBlob,
  openBlob,
  readLayoutManifest,
  writeBlob,
  writeLayoutIndex,
  writeStreamedBlob,
  type LayoutRef,
} from './oci-layout.js';

/** One `--encryption-key`, as skopeo spells it: `provider:NAME[:PARAMS]` or `jwe:PUBLIC.pem`. */
export type EncryptionRecipient =
  | { readonly kind: 'provider'; readonly name: string; readonly params: string }
  | { readonly kind: 'jwe'; readonly publicKeyFile: string };

export function parseEncryptionKey(raw: string): EncryptionRecipient {
  const m = /^(provider|jwe):(.+)$/.exec(raw);
  if (m?.[1] === 'jwe' && m[2]) return { kind: 'jwe', publicKeyFile: m[2] };
  if (m?.[1] === 'provider' && m[2]) {
    const i = m[2].indexOf(':');
    // ocicrypt: `provider:NAME` alone means parameters "Enabled"
    if (i < 0) return { kind: 'provider', name: m[2], params: 'Enabled' };
    if (i > 0) return { kind: 'provider', name: m[2].slice(0, i), params: m[2].slice(i + 1) };
  }
  throw new ImageCryptError(
    'invalid_argument',
    'ERR_IMAGE_ENCRYPT',
    `--encryption-key ${JSON.stringify(raw.slice(0, 100))}: expected provider:NAME:PARAMS or jwe:PUBLIC-KEY.pem`,
  );
}

export interface EncryptLayoutOptions {
  readonly source: LayoutRef;
  readonly destination: LayoutRef;
  readonly recipients: readonly EncryptionRecipient[];
  /** From `OCICRYPT_KEYPROVIDER_CONFIG`; needed for provider recipients. */
  readonly keyProviders: KeyProviderConfig | undefined;
  readonly signal?: AbortSignal | undefined;
}

export interface EncryptLayoutResult {
  readonly manifestDigest: string;
  readonly layers: number;
}

interface Wrappers {
  readonly providers: ReadonlyMap<string, Uint8Array[]>;
  readonly jweKeys: readonly KeyObject[];
}

async function loadWrappers(o: EncryptLayoutOptions): Promise<Wrappers> {
  if (o.recipients.length === 0)
    throw new ImageCryptError('invalid_argument', 'ERR_IMAGE_ENCRYPT', 'no --encryption-key given');
  const providers = new Map<string, Uint8Array[]>();
  const jweKeys: KeyObject[] = [];
  for (const r of o.recipients) {
    if (r.kind === 'provider') {
      if (!o.keyProviders)
        throw new ImageCryptError(
          'failed_precondition',
          'ERR_KEYPROVIDER_CONFIG',
          `--encryption-key provider:${r.name}:… needs OCICRYPT_KEYPROVIDER_CONFIG naming an ocicrypt keyprovider config`,
        );
      providers.set(r.name, [...(providers.get(r.name) ?? []), Buffer.from(r.params)]);
      continue;
    }
    try {
      jweKeys.push(createPublicKey(await readFile(r.publicKeyFile)));
    } catch (err) {
      throw wrapError(
        err,
        `jwe:${r.publicKeyFile} is not a readable public key (PEM)`,
        'ERR_IMAGE_ENCRYPT',
      );
    }
  }
  return { providers, jweKeys };
}

/** ocicrypt's JWE key wrap: RSA-OAEP (RSA) or ECDH-ES+A256KW (EC), A256GCM, JSON serialization. */
async function wrapJwe(keys: readonly KeyObject[], optsData: Uint8Array): Promise<string> {
  const alg = (k: KeyObject): string =>
    k.asymmetricKeyType === 'rsa' ? 'RSA-OAEP' : 'ECDH-ES+A256KW';
  const first = keys[0];
  let jwe: unknown;
  if (keys.length === 1 && first)
    jwe = await new FlattenedEncrypt(optsData)
      .setProtectedHeader({ enc: 'A256GCM' })
      .setUnprotectedHeader({ alg: alg(first) })
      .encrypt(first);
  else {
    const g = new GeneralEncrypt(optsData).setProtectedHeader({ enc: 'A256GCM' });
    for (const k of keys) g.addRecipient(k).setUnprotectedHeader({ alg: alg(k) });
    jwe = await g.encrypt();
  }
  return Buffer.from(JSON.stringify(jwe)).toString('base64');
}

async function encryptLayer(
  o: EncryptLayoutOptions,
  work: string,
  desc: Descriptor,
  w: Wrappers,
): Promise<Descriptor> {
  const format = layerFormatOf(desc.mediaType);
  if (format === undefined || format.encrypted || desc.mediaType.includes('docker'))
    throw new ImageCryptError(
      'invalid_argument',
      'ERR_IMAGE_ENCRYPT',
      `layer ${desc.digest} has media type ${desc.mediaType}: only unencrypted OCI layers (tar, tar+gzip, tar+zstd) can be encrypted`,
    );
  const { key, nonce } = newLayerKey();
  const cipher = new LayerEncipher(key, nonce);
  const out = await writeStreamedBlob(work, openBlob(o.source, desc), o.signal, cipher);
  const optsData = encodePrivateOptions({ key, nonce, plainDigest: desc.digest });
  const annotations: Record<string, string> = { ...desc.annotations };
  for (const [name, params] of w.providers) {
    const wrapped = await wrapWithKeyProvider(
      o.keyProviders ?? new Map(),
      name,
      optsData,
      { [name]: params },
      o.signal,
    );
    annotations[`${ANNOTATION_PROVIDER_PREFIX}${name}`] = Buffer.from(wrapped).toString('base64');
  }
  if (w.jweKeys.length > 0) annotations[ANNOTATION_JWE] = await wrapJwe(w.jweKeys, optsData);
  annotations[ANNOTATION_PUBOPTS] = encodePublicOptions(cipher.hmac());
  key.fill(0);
  return {
    mediaType: `${desc.mediaType}+encrypted`,
    digest: out.digest,
    size: out.size,
    annotations,
  };
}

async function prepareDestination(dst: LayoutRef): Promise<string> {
  const existing = await readdir(dst.dir).catch(() => undefined);
  if (existing !== undefined && existing.length > 0)
    throw new ImageCryptError(
      'already_exists',
      'ERR_IMAGE_ENCRYPT',
      `destination ${dst.dir} exists and is not empty: give a new directory`,
    );
  await mkdir(dirname(dst.dir), { recursive: true });
  return mkdtemp(join(dirname(dst.dir), `.${basename(dst.dir)}.partial-`));
}

/**
 * Encrypts every layer of an OCI layout image into a new layout, as `skopeo copy
 * --encryption-key` does with ocicrypt: AES_256_CTR_HMAC_SHA256 per layer with a fresh key, the
 * private options wrapped by each recipient (keyprovider `cmd` programs over the ocicrypt
 * keyprovider protocol, or JWE to public keys), `+encrypted` media types. The new layout appears
 * only when complete; nothing is left on failure.
 */
export async function encryptLayout(o: EncryptLayoutOptions): Promise<EncryptLayoutResult> {
  const wrappers = await loadWrappers(o);
  const { manifest, raw } = await readLayoutManifest(o.source);
  const work = await prepareDestination(o.destination);
  try {
    const layers: Descriptor[] = [];
    for (const layer of manifest.layers) layers.push(await encryptLayer(o, work, layer, wrappers));
    await copyBlob(o.source, work, manifest.config, o.signal);
    const doc = { ...raw, layers: layers.map(descriptorJson) };
    const written = await writeBlob(work, Buffer.from(JSON.stringify(doc)));
    await writeLayoutIndex(work, written, o.destination.tag);
    await rm(o.destination.dir, { recursive: true, force: true });
    await rename(work, o.destination.dir);
    return { manifestDigest: written.digest, layers: layers.length };
  } catch (err) {
    await rm(work, { recursive: true, force: true });
    throw err;
  }
}

function descriptorJson(d: Descriptor): Record<string, unknown> {
  return { mediaType: d.mediaType, digest: d.digest, size: d.size, annotations: d.annotations };
}
