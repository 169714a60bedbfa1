import { describe, expect, test } from 'vitest';
import {
  layerFormatOf,
  MAX_MANIFEST_BYTES,
  parseImageConfig,
  parseManifestDocument,
  selectPlatform,
} from '#src/oci/index.js';

const d = (c: string): string => `sha256:${c.repeat(64)}`;
const enc = (o: unknown): Buffer => Buffer.from(JSON.stringify(o));

describe('manifests', () => {
  test('reads an OCI manifest and a Docker schema 2 manifest', () => {
    for (const mediaType of [
      'application/vnd.oci.image.manifest.v1+json',
      'application/vnd.docker.distribution.manifest.v2+json',
    ]) {
      const m = parseManifestDocument(
        enc({
          schemaVersion: 2,
          mediaType,
          config: { mediaType: 'x', digest: d('a'), size: 1 },
          layers: [{ mediaType: 'l', digest: d('b'), size: 2 }],
        }),
        undefined,
      );
      expect(m.kind).toBe('manifest');
    }
  });

  test('uses the Content-Type when the document has no mediaType', () => {
    const m = parseManifestDocument(
      enc({ schemaVersion: 2, manifests: [] }),
      'application/vnd.docker.distribution.manifest.list.v2+json; charset=utf-8',
    );
    expect(m.kind).toBe('index');
  });

  test('picks linux/amd64 (or the requested platform) from an index', () => {
    const index = parseManifestDocument(
      enc({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          {
            mediaType: 'm',
            digest: d('1'),
            size: 1,
            platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
          },
          {
            mediaType: 'm',
            digest: d('2'),
            size: 1,
            platform: { os: 'linux', architecture: 'amd64' },
          },
          {
            mediaType: 'm',
            digest: d('3'),
            size: 1,
            platform: { os: 'windows', architecture: 'amd64' },
          },
        ],
      }),
      undefined,
    );
    if (index.kind !== 'index') throw new Error('not an index');
    expect(selectPlatform(index).digest).toBe(d('2'));
    expect(
      selectPlatform(index, { os: 'linux', architecture: 'arm64', variant: 'v8' }).digest,
    ).toBe(d('1'));
    expect(() => selectPlatform(index, { os: 'linux', architecture: 's390x' })).toThrow(
      /no manifest for linux\/s390x \(offered: linux\/arm64\/v8, linux\/amd64, windows\/amd64\)/,
    );
  });

  test.each([
    [Buffer.from('nope'), /not valid JSON/],
    [enc({ schemaVersion: 1 }), /schemaVersion must be 2/],
    [
      enc({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'x', digest: 'md5:00', size: 1 },
        layers: [],
      }),
      /digest/,
    ],
    [
      enc({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'x', digest: d('a'), size: -1 },
        layers: [],
      }),
      /size/,
    ],
    [enc({ schemaVersion: 2, mediaType: 'text/html' }), /unsupported manifest media type/],
    [Buffer.alloc(MAX_MANIFEST_BYTES + 1, 32), /more than the/],
  ])('refuses malformed or huge documents (%#)', (bytes, why) => {
    expect(() => parseManifestDocument(bytes, undefined)).toThrow(why);
  });

  test('reads diff_ids from a config and refuses malformed ones', () => {
    expect(
      parseImageConfig(
        enc({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [d('c')] } }),
      ).diffIds,
    ).toEqual([d('c')]);
    expect(() => parseImageConfig(enc({ rootfs: { diff_ids: ['sha256:short'] } }))).toThrow(
      /digest/,
    );
  });

  test.each([
    ['application/vnd.oci.image.layer.v1.tar+gzip', { compression: 'gzip', encrypted: false }],
    [
      'application/vnd.oci.image.layer.v1.tar+zstd+encrypted',
      { compression: 'zstd', encrypted: true },
    ],
    ['application/vnd.oci.image.layer.v1.tar+encrypted', { compression: 'none', encrypted: true }],
    [
      'application/vnd.docker.image.rootfs.diff.tar.gzip',
      { compression: 'gzip', encrypted: false },
    ],
    ['application/vnd.oci.image.layer.v1.tar+bzip2', undefined],
  ])('knows the layer media type %s', (mt, want) => {
    expect(layerFormatOf(mt)).toEqual(want);
  });
});
