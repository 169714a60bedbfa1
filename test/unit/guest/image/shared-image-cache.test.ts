import { describe, expect, test } from 'vitest';
import { SharedImageCache } from '#guest/image/index.js';

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((a, b) => {
    resolve = a;
    reject = b;
  });
  return { promise, resolve, reject };
}

/** A fake puller: each production waits for the test to finish it, and records its signal. */
function fakePuller() {
  const runs: { signal: AbortSignal; done: Deferred<string> }[] = [];
  const discarded: string[] = [];
  const cache = new SharedImageCache<string>({
    discard: (v) => {
      discarded.push(v);
      return Promise.resolve();
    },
  });
  const produce = (signal: AbortSignal): Promise<string> => {
    const done = deferred<string>();
    runs.push({ signal, done });
    return done.promise;
  };
  const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
  return { cache, produce, runs, discarded, tick };
}

describe('SharedImageCache', () => {
  test('concurrent acquires of one key produce once and share the value', async () => {
    const f = fakePuller();
    const a = f.cache.acquire('sha256:1', 'c1', f.produce);
    const b = f.cache.acquire('sha256:1', 'c2', f.produce);
    await f.tick();
    expect(f.runs).toHaveLength(1);
    f.runs[0]?.done.resolve('/store/image-1');
    expect(await a).toEqual({ value: '/store/image-1', shared: false });
    expect(await b).toEqual({ value: '/store/image-1', shared: true });
    expect(await f.cache.acquire('sha256:1', 'c3', f.produce)).toEqual({
      value: '/store/image-1',
      shared: true,
    });
    expect(f.runs).toHaveLength(1);
    expect(f.cache.holders('sha256:1')).toBe(3);
  });

  test('different keys produce separately', async () => {
    const f = fakePuller();
    const a = f.cache.acquire('sha256:1', 'c1', f.produce);
    const b = f.cache.acquire('sha256:2', 'c1', f.produce);
    await f.tick();
    expect(f.runs).toHaveLength(2);
    f.runs[0]?.done.resolve('one');
    f.runs[1]?.done.resolve('two');
    expect([(await a).value, (await b).value]).toEqual(['one', 'two']);
  });

  test('a failed production reaches every waiter and is not cached', async () => {
    const f = fakePuller();
    const a = f.cache.acquire('k', 'c1', f.produce);
    const b = f.cache.acquire('k', 'c2', f.produce);
    await f.tick();
    f.runs[0]?.done.reject(new Error('registry down'));
    await expect(a).rejects.toThrow('registry down');
    await expect(b).rejects.toThrow('registry down');
    expect(f.cache.size).toBe(0);
    const c = f.cache.acquire('k', 'c3', f.produce);
    await f.tick();
    expect(f.runs).toHaveLength(2);
    f.runs[1]?.done.resolve('ok');
    expect(await c).toEqual({ value: 'ok', shared: false });
  });

  test('a waiter that gives up leaves; the production goes on for the others', async () => {
    const f = fakePuller();
    const ac = new AbortController();
    const a = f.cache.acquire('k', 'c1', f.produce, ac.signal);
    const b = f.cache.acquire('k', 'c2', f.produce);
    await f.tick();
    ac.abort(new Error('c1 timed out'));
    await expect(a).rejects.toThrow('c1 timed out');
    expect(f.runs[0]?.signal.aborted).toBe(false);
    f.runs[0]?.done.resolve('v');
    expect(await b).toEqual({ value: 'v', shared: true });
    expect(f.cache.holders('k')).toBe(1); // c1 never became a holder
  });

  test('when every waiter gives up the production is aborted, a late result is freed, and the next caller starts afresh', async () => {
    const f = fakePuller();
    const a1 = new AbortController();
    const a2 = new AbortController();
    const a = f.cache.acquire('k', 'c1', f.produce, a1.signal);
    const b = f.cache.acquire('k', 'c2', f.produce, a2.signal);
    await f.tick();
    a1.abort();
    await expect(a).rejects.toMatchObject({ name: 'AbortError' });
    expect(f.runs[0]?.signal.aborted).toBe(false);
    a2.abort();
    await expect(b).rejects.toMatchObject({ name: 'AbortError' });
    expect(f.runs[0]?.signal.aborted).toBe(true);
    expect(f.cache.size).toBe(0);
    const c = f.cache.acquire('k', 'c3', f.produce);
    await f.tick();
    expect(f.runs).toHaveLength(2);
    // the first production ignored its abort and finished anyway: nobody holds it
    f.runs[0]?.done.resolve('orphan');
    f.runs[1]?.done.resolve('fresh');
    expect(await c).toEqual({ value: 'fresh', shared: false });
    await f.tick();
    expect(f.discarded).toEqual(['orphan']);
  });

  test('an already aborted signal produces nothing', async () => {
    const f = fakePuller();
    await expect(
      f.cache.acquire('k', 'c1', f.produce, AbortSignal.abort(new Error('gone'))),
    ).rejects.toThrow('gone');
    await f.tick();
    expect(f.runs).toHaveLength(0);
  });

  test('a value nobody holds stays for reuse until evictIdle frees it (held ones stay)', async () => {
    const f = fakePuller();
    const a = f.cache.acquire('k', 'c1', f.produce);
    const b = f.cache.acquire('k2', 'c1', f.produce);
    await f.tick();
    f.runs[0]?.done.resolve('v');
    f.runs[1]?.done.resolve('v2');
    await a;
    await b;
    await f.cache.acquire('k', 'c2', f.produce);
    await f.cache.release('k', 'c1');
    await f.cache.release('k', 'c1');
    await f.cache.release('other', 'c2');
    await f.cache.release('k', 'c2');
    expect(f.cache.holders('k')).toBe(0);
    // an init container's image, reused by the next container without a pull
    expect(await f.cache.acquire('k', 'c3', f.produce)).toEqual({ value: 'v', shared: true });
    expect(f.runs).toHaveLength(2);
    await f.cache.release('k', 'c3');
    expect(await f.cache.evictIdle()).toBe(1); // k2 is still held by c1
    expect(f.discarded).toEqual(['v']);
    expect(await f.cache.evictIdle()).toBe(0);
    const again = f.cache.acquire('k', 'c4', f.produce);
    await f.tick();
    expect(f.runs).toHaveLength(3);
    f.runs[2]?.done.resolve('v-again');
    expect(await again).toEqual({ value: 'v-again', shared: false });
  });

  test('evictIdle leaves a production in flight alone', async () => {
    const f = fakePuller();
    const a = f.cache.acquire('k', 'c1', f.produce);
    await f.tick();
    expect(await f.cache.evictIdle()).toBe(0);
    f.runs[0]?.done.resolve('v');
    expect((await a).value).toBe('v');
    expect(f.discarded).toEqual([]);
  });

  test('a producer that throws synchronously fails its waiters without being cached', async () => {
    const f = fakePuller();
    const bad = (): Promise<string> => {
      throw new Error('sync failure');
    };
    await expect(f.cache.acquire('k', 'c1', bad)).rejects.toThrow('sync failure');
    expect(f.cache.size).toBe(0);
  });
});
