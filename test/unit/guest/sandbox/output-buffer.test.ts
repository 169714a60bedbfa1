import { PassThrough } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { OutputBuffer } from '#guest/sandbox/index.js';

describe('OutputBuffer', () => {
  test('returns what is available up to len, then waits for more', async () => {
    const src = new PassThrough();
    const b = new OutputBuffer(1024);
    b.attach(src);
    src.write('hello world');
    await new Promise((r) => setImmediate(r));
    expect((await b.read(5)).toString()).toBe('hello');
    expect((await b.read(100)).toString()).toBe(' world');
    const pending = b.read(100);
    src.write('late');
    expect((await pending).toString()).toBe('late');
  });

  test('drains buffered data before reporting EOF', async () => {
    const src = new PassThrough();
    const b = new OutputBuffer(1024);
    b.attach(src);
    src.end('tail');
    await new Promise((r) => setImmediate(r));
    expect((await b.read(100)).toString()).toBe('tail');
    await expect(b.read(100)).rejects.toMatchObject({ code: 'ERR_SANDBOX_EOF', message: 'eof' });
    await expect(b.read(100)).rejects.toMatchObject({ code: 'ERR_SANDBOX_EOF' });
  });

  test('pauses the source at capacity and resumes once read', async () => {
    const src = new PassThrough();
    const b = new OutputBuffer(8);
    b.attach(src);
    src.write(Buffer.alloc(8, 1));
    await new Promise((r) => setImmediate(r));
    expect(src.isPaused()).toBe(true);
    expect(b.buffered).toBe(8);
    expect((await b.read(4)).length).toBe(4);
    expect(src.isPaused()).toBe(false);
  });

  test('serves concurrent readers in order without losing bytes', async () => {
    const src = new PassThrough();
    const b = new OutputBuffer(1024);
    b.attach(src);
    const reads = [b.read(3), b.read(3), b.read(3)];
    src.write('abcdefghi');
    expect((await Promise.all(reads)).map((x) => x.toString())).toEqual(['abc', 'def', 'ghi']);
  });

  test('a read can be cancelled by its signal', async () => {
    const b = new OutputBuffer(16);
    b.attach(new PassThrough());
    await expect(b.read(1, AbortSignal.timeout(10))).rejects.toMatchObject({
      kind: 'deadline_exceeded',
    });
  });
});
