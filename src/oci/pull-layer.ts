import { PassThrough, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CcError, isSystemError, wrapError } from '#src/lib/index.js';
import { createDecompressor } from './decompress.js';
import { DigestVerifier } from './digest-stream.js';
import { OciError } from './errors.js';
import type { Descriptor } from './manifest.js';
import { layerFormatOf } from './media-types.js';
import { LayerDecipher, resolveLayerCipher } from './ocicrypt/index.js';
import { ProgressMeter } from './progress.js';
import type { PullImageOptions } from './pull-image.js';
import type { ImageReference } from './reference.js';
import type { RegistryClient } from './registry-client.js';
import { unpackLayer } from './unpack/index.js';

async function layerStages(
  desc: Descriptor,
  diffId: string | undefined,
  opts: PullImageOptions,
): Promise<Transform[]> {
  const format = layerFormatOf(desc.mediaType);
  if (!format)
    throw new OciError(
      'invalid_argument',
      'ERR_OCI_MEDIA_TYPE',
      `layer ${desc.digest} has unsupported media type ${JSON.stringify(desc.mediaType)}`,
    );
  const stages: Transform[] = [
    new DigestVerifier({ digest: desc.digest, size: desc.size, what: `layer ${desc.digest}` }),
  ];
  if (format.encrypted) {
    const params = await resolveLayerCipher(desc, {
      decryptionKeys: opts.decryptionKeys,
      keyUnwrapper: opts.keyUnwrapper,
      signal: opts.signal,
    });
    stages.push(new LayerDecipher(params, desc.digest));
    if (params.plainDigest !== undefined)
      stages.push(
        new DigestVerifier({ digest: params.plainDigest, what: `decrypted layer ${desc.digest}` }),
      );
  }
  stages.push(createDecompressor(format.compression));
  if (diffId !== undefined)
    stages.push(
      new DigestVerifier({ digest: diffId, what: `uncompressed layer ${desc.digest} (diff_id)` }),
    );
  return stages;
}

/** One layer: fetched, verified, decrypted, decompressed and unpacked into `rootfs`. */
export async function pullLayer(
  client: RegistryClient,
  ref: ImageReference,
  desc: Descriptor,
  index: number,
  diffId: string | undefined,
  rootfs: string,
  opts: PullImageOptions,
): Promise<number> {
  const started = Date.now();
  const emit = opts.onProgress ?? ((): void => undefined);
  emit({ type: 'layer-start', index, digest: desc.digest, size: desc.size });
  const stages = await layerStages(desc, diffId, opts);
  const meter = new ProgressMeter((bytes) => {
    emit({ type: 'layer-progress', index, digest: desc.digest, bytes, size: desc.size });
  });
  const tail = new PassThrough({ highWaterMark: 256 << 10 });
  const chain = pipeline(
    [client.openBlob(ref, desc, opts.signal), meter, ...stages, tail],
    opts.signal ? { signal: opts.signal } : {},
  );
  const unpack = unpackLayer(tail, rootfs, {
    layer: desc.digest,
    preserveOwnership: opts.preserveOwnership,
    setXattr: opts.setXattr,
    signal: opts.signal,
    log: opts.log,
  });
  const [c, u] = await Promise.allSettled([chain, unpack]);
  if (c.status === 'rejected' || u.status === 'rejected') {
    throw layerFailure(
      c.status === 'rejected' ? c.reason : undefined,
      u.status === 'rejected' ? u.reason : undefined,
      desc,
    );
  }
  emit({
    type: 'layer-done',
    index,
    digest: desc.digest,
    bytes: meter.bytes,
    ms: Date.now() - started,
  });
  return meter.bytes;
}

/**
 * The error that explains a failed layer: the stream chain's own error (digest, HMAC, network,
 * corrupt compression) wins; a bare "premature close" there only echoes the unpacker's failure
 * (e.g. ENOSPC), which then wins.
 */
function layerFailure(chainErr: unknown, unpackErr: unknown, desc: Descriptor): Error {
  if (chainErr instanceof CcError) return chainErr;
  if (isSystemError(chainErr) && chainErr.code.startsWith('Z_')) {
    return new OciError(
      'invalid_argument',
      'ERR_OCI_UNPACK',
      `layer ${desc.digest}: corrupt gzip data (${chainErr.message})`,
      { cause: chainErr },
    );
  }
  if (unpackErr instanceof Error) return unpackErr;
  if (chainErr instanceof Error && chainErr.name === 'AbortError') {
    return new OciError(
      'cancelled',
      'ERR_OCI_UNPACK',
      `pull of layer ${desc.digest} was cancelled`,
      { cause: chainErr },
    );
  }
  return wrapError(chainErr, `layer ${desc.digest}`, 'ERR_OCI_UNPACK');
}
