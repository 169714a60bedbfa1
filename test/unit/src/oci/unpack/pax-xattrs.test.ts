import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { pack } from 'tar-stream';
import { describe, expect, test } from 'vitest';
import { parsePaxRecords, PaxXattrTap } from '#src/oci/unpack/pax-xattrs.js';

function record(key: string, value: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  // the length counts its own digits
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len++;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

describe('parsePaxRecords', () => {
  test('keeps binary xattr values byte for byte and reads size', () => {
    const bin = new Uint8Array([0x01, 0x00, 0x00, 0x02, 0x80, 0xff, 0x0a, 0x3d, 0x20]);
    const r = parsePaxRecords(
      Buffer.concat([
        record('path', Buffer.from('a/b')),
        record('SCHILY.xattr.security.capability', bin),
        record('SCHILY.xattr.user.t', Buffer.from('héllo')),
        record('size', Buffer.from('12')),
      ]),
    );
    expect(r?.size).toBe(12);
    expect([...(r?.xattrs.keys() ?? [])]).toEqual(['security.capability', 'user.t']);
    expect([...(r?.xattrs.get('security.capability') ?? [])]).toEqual([...bin]);
    expect(Buffer.from(r?.xattrs.get('user.t') ?? []).toString()).toBe('héllo');
  });

  test('accepts an empty body and NUL padding', () => {
    expect(parsePaxRecords(new Uint8Array(0))?.xattrs.size).toBe(0);
    const padded = Buffer.concat([
      record('SCHILY.xattr.user.a', Buffer.from('1')),
      Buffer.alloc(7),
    ]);
    expect(parsePaxRecords(padded)?.xattrs.size).toBe(1);
  });

  test.each([
    ['a length past the end', '99 SCHILY.xattr.user.a=1\n'],
    ['a length that cuts the record', '10 SCHILY.xattr.user.a=1\n'],
    ['no length', ' SCHILY.xattr.user.a=1\n'],
    ['a zero length', '0 x=1\n'],
    ['a leading zero', '09 a=1234\n'],
    ['a non-decimal length', '1x a=1\n'],
    ['a huge length', '999999999999 a=1\n'],
    ['no space', '26SCHILY.xattr.user.a=1\n'],
    ['no =', '8 abcde\n'],
    ['an empty key', '6 =abc\n'],
    ['no final newline', '7 a=123x'],
    ['a truncated record', '25 SCHILY.xattr.user.a=1'],
  ])('refuses %s', (_what, text) => {
    expect(parsePaxRecords(Buffer.from(text))).toBeUndefined();
  });

  test('never throws on arbitrary bytes, and round-trips well-formed records', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        parsePaxRecords(bytes);
      }),
    );
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.stringMatching(/^[a-z.]{1,20}$/),
        (v, n) => {
          const r = parsePaxRecords(record(`SCHILY.xattr.user.${n}`, v));
          expect([...(r?.xattrs.get(`user.${n}`) ?? [0xdead])]).toEqual([...v]);
        },
      ),
    );
  });
});

describe('PaxXattrTap', () => {
  test('queues one slot per emitted entry, in order, and passes bytes unchanged', async () => {
    const p = pack();
    p.entry({ name: 'a', pax: { 'SCHILY.xattr.user.x': 'one' } }, 'aaaa');
    p.entry({ name: 'b' }, 'b'.repeat(600));
    p.entry({ name: 'c', type: 'directory', pax: { 'SCHILY.xattr.user.y': '2' } });
    p.finalize();
    const chunks: Buffer[] = [];
    for await (const c of p as AsyncIterable<Buffer>) chunks.push(c);
    const tar = Buffer.concat(chunks);
    const tap = new PaxXattrTap();
    const out: Buffer[] = [];
    // feed in odd-sized pieces to cross every block boundary
    const pieces = [];
    for (let i = 0; i < tar.length; i += 37) pieces.push(tar.subarray(i, i + 37));
    await pipeline(Readable.from(pieces), tap, async (src: AsyncIterable<Buffer>) => {
      for await (const c of src) out.push(c);
    });
    expect(Buffer.concat(out).equals(tar)).toBe(true);
    expect(Buffer.from(tap.next()?.get('user.x') ?? []).toString()).toBe('one');
    expect(tap.next()).toBeUndefined();
    expect(Buffer.from(tap.next()?.get('user.y') ?? []).toString()).toBe('2');
  });

  test('a malformed PAX header makes next() throw, not the stream', async () => {
    const p = pack();
    p.entry({ name: 'a', pax: { 'SCHILY.xattr.user.x': 'QQ' } }, 'x');
    p.finalize();
    const chunks: Buffer[] = [];
    for await (const c of p as AsyncIterable<Buffer>) chunks.push(c);
    const tar = Buffer.concat(chunks);
    const at = tar.indexOf('SCHILY.xattr.user.x=QQ');
    tar.write('99', at - 3, 'latin1'); // the record's length now runs past the body
    const tap = new PaxXattrTap();
    await pipeline(Readable.from([tar]), tap, async (src: AsyncIterable<Buffer>) => {
      let n = 0;
      for await (const c of src) n += c.length;
      expect(n).toBe(tar.length);
    });
    expect(() => tap.next()).toThrow(/malformed/);
  });
});
