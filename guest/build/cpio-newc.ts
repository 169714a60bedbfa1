import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { GuestBuildError } from './errors.js';

/** One member of a newc ("070701") cpio archive, the format the kernel unpacks as initramfs. */
export type CpioEntry =
  | { readonly type: 'dir'; readonly path: string; readonly mode: number }
  | {
      readonly type: 'file';
      readonly path: string;
      readonly mode: number;
      readonly data: Uint8Array;
    }
  | { readonly type: 'symlink'; readonly path: string; readonly target: string }
  | {
      readonly type: 'char';
      readonly path: string;
      readonly mode: number;
      readonly major: number;
      readonly minor: number;
    };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;
const TRAILER = 'TRAILER!!!';

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

function member(
  ino: number,
  mode: number,
  name: string,
  data: Uint8Array,
  rdev: readonly [number, number],
): Buffer[] {
  const nameBytes = Buffer.from(name + '\0', 'utf8');
  const header =
    '070701' +
    [ino, mode, 0, 0, 1, 0, data.length, 0, 0, rdev[0], rdev[1], nameBytes.length, 0]
      .map(hex8)
      .join('');
  const head = Buffer.from(header, 'ascii');
  return [
    head,
    nameBytes,
    Buffer.alloc(pad4(head.length + nameBytes.length)),
    Buffer.from(data.buffer, data.byteOffset, data.byteLength),
    Buffer.alloc(pad4(data.length)),
  ];
}

/**
 * Encodes entries as a newc cpio archive, owner root, mtime 0 (reproducible), ending with the
 * TRAILER!!! member. Paths are relative (`init`, `bin/sh`); a leading `/` or `..` is refused.
 */
export function encodeCpioNewc(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  for (const e of entries) {
    if (e.path.startsWith('/') || e.path.split('/').includes('..') || e.path === '') {
      throw new GuestBuildError(
        'invalid_argument',
        'ERR_GUEST_BUILD_INPUT',
        `bad cpio member path ${JSON.stringify(e.path)}`,
      );
    }
    switch (e.type) {
      case 'dir':
        parts.push(
          ...member(ino++, S_IFDIR | (e.mode & 0o7777), e.path, new Uint8Array(0), [0, 0]),
        );
        break;
      case 'file':
        parts.push(...member(ino++, S_IFREG | (e.mode & 0o7777), e.path, e.data, [0, 0]));
        break;
      case 'symlink':
        parts.push(
          ...member(ino++, S_IFLNK | 0o777, e.path, Buffer.from(e.target, 'utf8'), [0, 0]),
        );
        break;
      case 'char':
        parts.push(
          ...member(ino++, S_IFCHR | (e.mode & 0o7777), e.path, new Uint8Array(0), [
            e.major,
            e.minor,
          ]),
        );
        break;
    }
  }
  parts.push(...member(0, 0, TRAILER, new Uint8Array(0), [0, 0]));
  return Buffer.concat(parts);
}

/** The entries of a staged directory tree, parents before children, in a stable (sorted) order. */
export function cpioEntriesOfTree(root: string): CpioEntry[] {
  const out: CpioEntry[] = [];
  const walk = (rel: string): void => {
    const names = readdirSync(rel === '' ? root : join(root, rel)).sort();
    for (const name of names) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const abs = join(root, path);
      const st = lstatSync(abs);
      if (st.isSymbolicLink()) out.push({ type: 'symlink', path, target: readlinkSync(abs) });
      else if (st.isDirectory()) {
        out.push({ type: 'dir', path, mode: st.mode & 0o7777 });
        walk(path);
      } else if (st.isFile())
        out.push({ type: 'file', path, mode: st.mode & 0o7777, data: readFileSync(abs) });
      else
        throw new GuestBuildError(
          'invalid_argument',
          'ERR_GUEST_BUILD_INPUT',
          `unsupported file type in initramfs stage: ${abs}`,
        );
    }
  };
  walk('');
  return out;
}
