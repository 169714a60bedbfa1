import { deferred } from '#src/lib/index.js';
import type { Deferred } from '#src/lib/index.js';

/**
 * A bounded single-consumer queue exposed as an async iterable: the receive buffer of one stream.
 * `push` returns false when the bound is reached; the owner then fails the stream (ttrpc has no flow
 * control, so overflow fails that stream only, like Go's ErrStreamFull).
 * @internal
 */
export class MessageQueue<T> implements AsyncIterable<T> {
  readonly #limit: number;
  #items: T[] = [];
  #head = 0;
  #ended = false;
  #error: Error | undefined;
  #waiter: Deferred<undefined> | undefined;
  #iterating = false;

  constructor(limit: number) {
    this.#limit = limit;
  }

  get size(): number {
    return this.#items.length - this.#head;
  }

  get isEnded(): boolean {
    return this.#ended;
  }

  push(item: T): boolean {
    if (this.#ended) return true;
    if (this.size >= this.#limit) return false;
    this.#items.push(item);
    this.#wake();
    return true;
  }

  /** No more items; the iterator finishes after the buffered ones. */
  end(): void {
    this.#ended = true;
    this.#wake();
  }

  /** The iterator throws `err` after the buffered items. Later calls keep the first error. */
  fail(err: Error): void {
    if (this.#ended) return;
    this.#error = err;
    this.#ended = true;
    this.#wake();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.#iterating) throw new Error('a stream can be iterated only once');
    this.#iterating = true;
    for (;;) {
      if (this.size > 0) {
        const item = this.#items[this.#head] as T;
        this.#head++;
        if (this.#head > 64 && this.#head * 2 > this.#items.length) {
          this.#items = this.#items.slice(this.#head);
          this.#head = 0;
        }
        yield item;
        continue;
      }
      if (this.#ended) {
        if (this.#error) throw this.#error;
        return;
      }
      this.#waiter = deferred<undefined>();
      await this.#waiter.promise;
    }
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.resolve(undefined);
  }
}
