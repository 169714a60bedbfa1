import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pack, type Pack } from 'tar-stream';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { unpackLayer } from '#src/oci/index.js';
import { tmpdir } from '#test/helpers/tmpdir.js';

type Entry = Parameters<Pack['entry']>[0] & { body?: string };

function tarOf(entries: readonly Entry[]): Readable {
  const p = pack();
  for (const { body, ...h } of entries) p.entry(h, body ?? '');
  p.finalize();
  return Readable.from(p);
}

let dir: { path: string; remove(): void };
let rootfs: string;
let outside: string;

beforeEach(() => {
  dir = tmpdir('kata-cc-unpack-');
  rootfs = join(dir.path, 'rootfs');
  outside = join(dir.path, 'outside');
  mkdirSync(rootfs);
  mkdirSync(outside);
  writeFileSync(join(outside, 'sentinel'), 'untouched');
});
afterEach(() => {
  dir.remove();
});

function outsideUntouched(): void {
  expect(readdirSync(dir.path).sort()).toEqual(['outside', 'rootfs']);
  expect(readdirSync(outside)).toEqual(['sentinel']);
  expect(readFileSync(join(outside, 'sentinel'), 'utf8')).toBe('untouched');
}

describe('unpackLayer — the malicious-layer corpus never writes outside the rootfs', () => {
  const corpus: [string, () => Entry[], 'refused' | 'contained'][] = [
    ['a ../ path', () => [{ name: '../outside/pwned', body: 'x' }], 'refused'],
    ['a deep ../ path', () => [{ name: 'a/b/../../../outside/pwned', body: 'x' }], 'refused'],
    ['a ../ directory', () => [{ name: '../evil/', type: 'directory' }], 'refused'],
    [
      'a write through an absolute symlink',
      () => [
        { name: 'l', type: 'symlink', linkname: outside },
        { name: 'l/pwned', body: 'x' },
      ],
      'refused',
    ],
    [
      'a write through a relative symlink',
      () => [
        { name: 'l', type: 'symlink', linkname: '../outside' },
        { name: 'l/pwned', body: 'x' },
      ],
      'refused',
    ],
    [
      'a write through a symlink to /',
      () => [
        { name: 'l', type: 'symlink', linkname: '/' },
        { name: 'l/tmp/pwned', body: 'x' },
      ],
      'refused',
    ],
    [
      'a symlink chain',
      () => [
        { name: 'a', type: 'symlink', linkname: '.' },
        { name: 'b', type: 'symlink', linkname: 'a/../../outside' },
        { name: 'b/pwned', body: 'x' },
      ],
      'refused',
    ],
    [
      'a directory replaced by a symlink, then written through',
      () => [
        { name: 'd/', type: 'directory' },
        { name: 'd', type: 'symlink', linkname: outside },
        { name: 'd/pwned', body: 'x' },
      ],
      'refused',
    ],
    [
      'a hard link with ../',
      () => [{ name: 'h', type: 'link', linkname: '../outside/sentinel' }],
      'refused',
    ],
    [
      'a hard link to a host absolute path',
      () => [{ name: 'h', type: 'link', linkname: join(outside, 'sentinel') }],
      'refused',
    ],
    [
      'a hard link through a symlink',
      () => [
        { name: 'l', type: 'symlink', linkname: outside },
        { name: 'h', type: 'link', linkname: 'l/sentinel' },
      ],
      'refused',
    ],
    [
      'a hard link to a directory',
      () => [
        { name: 'd/', type: 'directory' },
        { name: 'h', type: 'link', linkname: 'd' },
      ],
      'refused',
    ],
    ['a whiteout with ../', () => [{ name: '../outside/.wh.sentinel', body: '' }], 'refused'],
    [
      'a whiteout through a symlink',
      () => [
        { name: 'l', type: 'symlink', linkname: outside },
        { name: 'l/.wh.sentinel', body: '' },
      ],
      'refused',
    ],
    [
      'an opaque whiteout through a symlink',
      () => [
        { name: 'l', type: 'symlink', linkname: outside },
        { name: 'l/.wh..wh..opq', body: '' },
      ],
      'refused',
    ],
    [
      'an overwrite of a symlink to a host file',
      () => [
        { name: 'l', type: 'symlink', linkname: join(outside, 'sentinel') },
        { name: 'l', body: 'overwritten' },
      ],
      'contained',
    ],
    [
      'a directory entry over a symlink to a host directory',
      () => [
        { name: 'l', type: 'symlink', linkname: outside },
        { name: 'l/', type: 'directory', mode: 0o777 },
      ],
      'contained',
    ],
    [
      'a hard link to a symlink to a host file',
      () => [
        { name: 'l', type: 'symlink', linkname: join(outside, 'sentinel') },
        { name: 'h', type: 'link', linkname: 'l' },
      ],
      'contained',
    ],
    ['an absolute entry name', () => [{ name: '/etc/rooted', body: 'inside' }], 'contained'],
    ['a whiteout of "."', () => [{ name: '.wh..', body: '' }], 'refused'],
    ['a whiteout of ".."', () => [{ name: 'a/.wh...', body: '' }], 'refused'],
  ];

  test.each(corpus)('%s', async (_what, entries, outcome) => {
    const run = unpackLayer(tarOf(entries()), rootfs, { layer: 'sha256:test' });
    if (outcome === 'refused') {
      await expect(run).rejects.toMatchObject({
        code: 'ERR_OCI_UNSAFE_ENTRY',
        kind: 'permission_denied',
      });
    } else {
      await run;
    }
    outsideUntouched();
  });

  test('an absolute entry name lands inside the rootfs', async () => {
    await unpackLayer(tarOf([{ name: '/etc/rooted', body: 'inside' }]), rootfs);
    expect(readFileSync(join(rootfs, 'etc/rooted'), 'utf8')).toBe('inside');
  });

  test('an overwritten symlink becomes a regular file inside the rootfs', async () => {
    await unpackLayer(
      tarOf([
        { name: 'l', type: 'symlink', linkname: join(outside, 'sentinel') },
        { name: 'l', body: 'new' },
      ]),
      rootfs,
    );
    expect(lstatSync(join(rootfs, 'l')).isFile()).toBe(true);
    expect(readFileSync(join(rootfs, 'l'), 'utf8')).toBe('new');
  });

  test('device nodes are skipped by default and refused when asked', async () => {
    const dev: Entry = { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3 };
    const r = await unpackLayer(tarOf([dev, { name: 'f', body: 'x' }]), rootfs);
    expect(r.skipped).toEqual(['dev/null']);
    expect(existsSync(join(rootfs, 'dev/null'))).toBe(false);
    await expect(unpackLayer(tarOf([dev]), rootfs, { devices: 'reject' })).rejects.toMatchObject({
      code: 'ERR_OCI_UNSAFE_ENTRY',
    });
  });

  test('refuses a truncated archive with a clear error', async () => {
    const chunks: Buffer[] = [];
    for await (const c of tarOf([{ name: 'f', body: 'x'.repeat(5000) }])) chunks.push(c as Buffer);
    const cut = Buffer.concat(chunks).subarray(0, 1500);
    await expect(
      unpackLayer(Readable.from([cut]), rootfs, { layer: 'sha256:cut' }),
    ).rejects.toThrow(/sha256:cut|unexpected end|premature/i);
  });
});

describe('unpackLayer — layer semantics', () => {
  test('applies modes, owners, symlinks, hard links and mtimes', async () => {
    const mtime = new Date('2020-01-02T03:04:05Z');
    await unpackLayer(
      tarOf([
        { name: 'bin/', type: 'directory', mode: 0o755, mtime },
        { name: 'bin/tool', body: 'elf', mode: 0o4755, uid: 1234, gid: 5678, mtime },
        { name: 'bin/alias', type: 'link', linkname: 'bin/tool' },
        { name: 'bin/sh', type: 'symlink', linkname: 'tool', mtime },
        { name: 'secret', body: 's', mode: 0o600 },
      ]),
      rootfs,
      { preserveOwnership: process.getuid?.() === 0 },
    );
    const tool = lstatSync(join(rootfs, 'bin/tool'));
    expect(tool.mode & 0o7777).toBe(0o4755);
    if (process.getuid?.() === 0) expect([tool.uid, tool.gid]).toEqual([1234, 5678]);
    expect(tool.mtime.getTime()).toBe(mtime.getTime());
    expect(lstatSync(join(rootfs, 'bin/alias')).ino).toBe(tool.ino);
    expect(readlinkSync(join(rootfs, 'bin/sh'))).toBe('tool');
    expect(lstatSync(join(rootfs, 'bin')).mtime.getTime()).toBe(mtime.getTime());
    expect(lstatSync(join(rootfs, 'secret')).mode & 0o777).toBe(0o600);
  });

  test('a whiteout removes the lower file and an opaque marker empties the lower directory', async () => {
    await unpackLayer(
      tarOf([
        { name: 'etc/a', body: 'a' },
        { name: 'etc/b', body: 'b' },
        { name: 'opt/x/1', body: '1' },
        { name: 'opt/x/sub/2', body: '2' },
      ]),
      rootfs,
    );
    await unpackLayer(
      tarOf([
        { name: 'etc/.wh.a', body: '' },
        { name: 'opt/x/new', body: 'n' },
        { name: 'opt/x/.wh..wh..opq', body: '' },
      ]),
      rootfs,
    );
    expect(readdirSync(join(rootfs, 'etc'))).toEqual(['b']);
    expect(readdirSync(join(rootfs, 'opt/x'))).toEqual(['new']);
  });

  test('records PAX xattrs it cannot apply', async () => {
    const r = await unpackLayer(
      tarOf([{ name: 'f', body: 'x', pax: { 'SCHILY.xattr.user.test': 'v' } }]),
      rootfs,
    );
    expect(r.xattrs).toEqual([
      { path: 'f', name: 'user.test', reason: 'no setxattr in this unpacker' },
    ]);
    expect(r.xattrsApplied).toBe(0);
  });

  test('a file replaces a lower directory and a directory replaces a lower file', async () => {
    await unpackLayer(
      tarOf([
        { name: 'p/q', body: '1' },
        { name: 'f', body: 'file' },
      ]),
      rootfs,
    );
    await unpackLayer(
      tarOf([
        { name: 'p', body: 'now a file' },
        { name: 'f/', type: 'directory' },
      ]),
      rootfs,
    );
    expect(readFileSync(join(rootfs, 'p'), 'utf8')).toBe('now a file');
    expect(lstatSync(join(rootfs, 'f')).isDirectory()).toBe(true);
  });
});
