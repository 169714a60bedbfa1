import { spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { describeError, sleep, type Logger } from '#src/lib/index.js';
import type { EventSink, RuntimeEvent } from '#src/host/runtime/index.js';
import { Any, EVENTS_SERVICE, ForwardRequest } from '#src/protocol/shim/index.js';
import { TtrpcClient } from '#src/protocol/ttrpc/index.js';
import { encodeEvent, type EncodedEvent } from './encode-event.js';
import { toTimestamp } from './timestamp.js';

export interface EventForwarderOptions {
  readonly namespace: string;
  /** containerd's ttrpc socket (`TTRPC_ADDRESS`); '' to use only the publish binary. */
  readonly ttrpcAddress: string;
  /** containerd's grpc address, for the publish binary. */
  readonly address: string;
  /** `<publish-binary> publish --topic … --namespace …`, the fallback; '' for none. */
  readonly publishBinary: string;
  readonly logger: Logger;
  /** Forward attempts per event before the fallback (default 5). */
  readonly attempts?: number;
  readonly callTimeoutMs?: number;
  readonly now?: () => Date;
}

interface Queued {
  readonly encoded: EncodedEvent;
  readonly at: Date;
}

/**
 * Delivers runtime events to containerd strictly in order: a queue drained by one loop, each
 * event forwarded over ttrpc with retries (reconnecting), then through the publish binary.
 */
export class EventForwarder implements EventSink {
  readonly #o: EventForwarderOptions;
  readonly #log: Logger;
  readonly #queue: Queued[] = [];
  #client: TtrpcClient | undefined;
  #loop: Promise<void> | undefined;
  #closed = false;
  /** Events delivered / dropped so far (for tests and logs). */
  delivered = 0;
  dropped = 0;

  constructor(options: EventForwarderOptions) {
    this.#o = options;
    this.#log = options.logger.child({ subsystem: 'events' });
  }

  publish(event: RuntimeEvent): void {
    if (this.#closed) return;
    this.#queue.push({ encoded: encodeEvent(event), at: (this.#o.now ?? (() => new Date()))() });
    this.#loop ??= this.#drain().finally(() => {
      this.#loop = undefined;
    });
  }

  /** Resolves when every queued event was delivered or dropped (bounded by `timeoutMs`). */
  async flush(timeoutMs = 10_000): Promise<void> {
    if (this.#loop) await Promise.race([this.#loop, sleep(timeoutMs)]);
  }

  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
    await this.#client?.close();
    this.#client = undefined;
  }

  async #drain(): Promise<void> {
    for (let item = this.#queue.shift(); item !== undefined; item = this.#queue.shift()) {
      const ok = (await this.#forward(item)) || (await this.#publishBinary(item));
      if (ok) this.delivered++;
      else {
        this.dropped++;
        this.#log.error('event dropped', { topic: item.encoded.topic });
      }
    }
  }

  async #connect(): Promise<TtrpcClient> {
    if (this.#client && !this.#client.isClosed) return this.#client;
    const socket = createConnection(this.#o.ttrpcAddress.replace(/^unix:\/\//, ''));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    this.#client = new TtrpcClient(socket, { logger: this.#log });
    return this.#client;
  }

  async #forward(item: Queued): Promise<boolean> {
    if (this.#o.ttrpcAddress === '') return false;
    const payload = ForwardRequest.encode({
      envelope: {
        timestamp: toTimestamp(item.at),
        namespace: this.#o.namespace,
        topic: item.encoded.topic,
        event: item.encoded.event,
      },
    }).finish();
    const attempts = this.#o.attempts ?? 5;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const client = await this.#connect();
        await client.call(EVENTS_SERVICE, 'Forward', payload, {
          timeoutMs: this.#o.callTimeoutMs ?? 5_000,
          metadata: { 'containerd-namespace-ttrpc': this.#o.namespace },
        });
        return true;
      } catch (err) {
        this.#log.warn('forward event failed', {
          topic: item.encoded.topic,
          attempt,
          err: describeError(err),
        });
        await this.#client?.close();
        this.#client = undefined;
        if (attempt < attempts) await sleep(Math.min(50 * 2 ** attempt, 1_000));
      }
    }
    return false;
  }

  #publishBinary(item: Queued): Promise<boolean> {
    const bin = this.#o.publishBinary;
    if (bin === '') return Promise.resolve(false);
    const argv = [
      '--address',
      this.#o.address,
      'publish',
      '--topic',
      item.encoded.topic,
      '--namespace',
      this.#o.namespace,
    ];
    return new Promise((resolve) => {
      const child = spawn(bin, argv, { stdio: ['pipe', 'ignore', 'pipe'], timeout: 10_000 });
      let stderr = '';
      child.stderr.on('data', (b: Buffer) => {
        stderr += b.toString('utf8');
      });
      child.once('error', (err) => {
        this.#log.warn('publish binary failed', { err: describeError(err) });
        resolve(false);
      });
      child.once('close', (code) => {
        if (code !== 0)
          this.#log.warn('publish binary failed', { code, stderr: stderr.slice(-500) });
        resolve(code === 0);
      });
      child.stdin.on('error', () => undefined);
      child.stdin.end(Any.encode(item.encoded.event).finish());
    });
  }
}
