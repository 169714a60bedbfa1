import type { Duplex } from 'node:stream';
import { CcError, deferred, describeError } from '#src/lib/index.js';
import type { Logger } from '#src/lib/index.js';
import type { Request } from '../generated/ttrpc/ttrpc.js';
import { decodeRequest, encodeResponse } from './envelope.js';
import { closedError, tooLargeError, TtrpcError } from './errors.js';
import { FrameConnection } from './frame-connection.js';
import { DATA_FLAG, EMPTY_PAYLOAD, FRAME_TYPE } from './frame.js';
import type { Frame } from './frame.js';
import type { CallContext, MethodHandler } from './handlers.js';
import { fromKeyValues } from './metadata.js';
import { ServerStreamState } from './server-stream.js';
import type { ServiceRegistry } from './service-registry.js';
import { GRPC_CODE, statusFromError } from './status.js';
import type { WireStatus } from './status.js';

export interface ServerConnectionOptions {
  readonly logger: Logger;
  readonly maxMessage: number;
  readonly maxStreams: number;
  readonly maxBuffered: number;
}

interface ActiveCall {
  readonly controller: AbortController;
  readonly stream: ServerStreamState | undefined;
}

const OK: WireStatus = { code: GRPC_CODE.ok, message: '' };

/** The abort reason a handler's signal carries once its call has been answered (shared: no per-call stack). */
const CALL_FINISHED = closedError('ttrpc call finished');

/** One accepted connection of a TtrpcServer. @internal */
export class ServerConnection {
  readonly #conn: FrameConnection;
  readonly #registry: ServiceRegistry;
  readonly #opts: ServerConnectionOptions;
  readonly #log: Logger;
  readonly #calls = new Map<number, ActiveCall>();
  readonly #idle = deferred<undefined>();
  #lastId = 0;
  #draining = false;

  constructor(stream: Duplex, registry: ServiceRegistry, opts: ServerConnectionOptions) {
    this.#registry = registry;
    this.#opts = opts;
    this.#log = opts.logger;
    this.#conn = new FrameConnection(
      stream,
      {
        onFrame: (f) => {
          this.#onFrame(f);
        },
        onClose: (err) => {
          this.#onClose(err);
        },
      },
      opts.maxMessage,
      'ttrpc server',
    );
  }

  get activeCount(): number {
    return this.#calls.size;
  }

  /** Resolves when the connection has closed and every handler has returned. */
  async done(): Promise<void> {
    await this.#conn.closed;
    await this.#idle.promise;
  }

  /** Stops taking requests; closes once the running calls have answered. */
  drain(): void {
    this.#draining = true;
    if (this.#calls.size === 0) void this.#conn.close();
  }

  /** Closes now: running handlers see their signal abort and their answers are dropped. */
  destroy(): Promise<void> {
    return this.#conn.close();
  }

  #onFrame(frame: Frame): void {
    if (frame.discardedLength !== undefined) {
      const err = tooLargeError(frame.discardedLength, this.#opts.maxMessage);
      this.#calls.get(frame.streamId)?.stream?.inbound?.fail(err);
      this.#sendStatus(frame.streamId, { code: GRPC_CODE.resourceExhausted, message: err.message });
      return;
    }
    if (frame.type === FRAME_TYPE.request) this.#onRequest(frame);
    else if (frame.type === FRAME_TYPE.data) this.#onData(frame);
    // other types are ignored for forward compatibility, as upstream does
  }

  #onRequest(frame: Frame): void {
    const id = frame.streamId;
    const bad = (message: string): void => {
      this.#sendStatus(id, { code: GRPC_CODE.invalidArgument, message });
    };
    if (id % 2 !== 1) {
      bad('StreamID must be odd for client initiated streams');
      return;
    }
    if (id <= this.#lastId) {
      bad('StreamID cannot be re-used and must increment');
      return;
    }
    this.#lastId = id;
    const req = decodeRequest(frame.payload);
    if (req instanceof TtrpcError) {
      bad(req.message);
      return;
    }
    const handler = this.#registry.resolve(req.service, req.method);
    if ('code' in handler) {
      this.#sendStatus(id, handler);
      return;
    }
    if (this.#draining) {
      this.#sendStatus(id, {
        code: GRPC_CODE.unavailable,
        message: 'ttrpc: server shutdown',
      });
      return;
    }
    if (this.#calls.size >= this.#opts.maxStreams) {
      this.#sendStatus(id, {
        code: GRPC_CODE.resourceExhausted,
        message: `too many concurrent streams (limit ${this.#opts.maxStreams})`,
      });
      return;
    }
    this.#start(id, req, handler);
  }

  #start(id: number, req: Request, handler: MethodHandler): void {
    const controller = new AbortController();
    const signals = [controller.signal];
    if (req.timeout_nano > 0) signals.push(AbortSignal.timeout(Math.ceil(req.timeout_nano / 1e6)));
    const ctx: CallContext = {
      signal: signals.length === 1 ? controller.signal : AbortSignal.any(signals),
      metadata: fromKeyValues(req.metadata),
      service: req.service,
      method: req.method,
      deadline: req.timeout_nano > 0 ? Date.now() + req.timeout_nano / 1e6 : undefined,
    };
    const what = `ttrpc ${req.service}/${req.method}`;
    const stream =
      typeof handler === 'function'
        ? undefined
        : new ServerStreamState(
            this.#conn,
            id,
            handler.streaming,
            req.payload,
            this.#opts.maxBuffered,
            what,
          );
    this.#calls.set(id, { controller, stream });
    void this.#run(id, req.payload, handler, stream, ctx).finally(() => {
      stream?.finish();
      this.#calls.delete(id);
      controller.abort(CALL_FINISHED);
      if (this.#calls.size === 0 && (this.#draining || this.#conn.isClosed)) {
        if (!this.#conn.isClosed) void this.#conn.close();
        if (this.#conn.isClosed) this.#idle.resolve(undefined);
      }
    });
  }

  async #run(
    id: number,
    payload: Uint8Array,
    handler: MethodHandler,
    stream: ServerStreamState | undefined,
    ctx: CallContext,
  ): Promise<void> {
    try {
      if (typeof handler === 'function') {
        const out = await handler(payload, ctx);
        await this.#respond(id, OK, out);
        return;
      }
      const out = await handler.handler(stream as ServerStreamState, ctx);
      stream?.finish();
      if (handler.streaming === 'client') {
        await this.#respond(id, OK, out ?? EMPTY_PAYLOAD);
      } else {
        const noData = out === undefined || out.length === 0;
        const flags = DATA_FLAG.remoteClosed | (noData ? DATA_FLAG.noData : 0);
        await this.#conn.send({ streamId: id, type: 'data', flags, payload: out ?? EMPTY_PAYLOAD });
      }
    } catch (err) {
      if (this.#conn.isClosed) return;
      if (!(err instanceof CcError)) {
        this.#log.error('handler failed', {
          service: ctx.service,
          method: ctx.method,
          error: describeError(err),
        });
      }
      await this.#respond(id, statusFromError(err), EMPTY_PAYLOAD).catch((e: unknown) => {
        this.#log.warn('cannot send error status', { stream_id: id, error: describeError(e) });
      });
    }
  }

  async #respond(id: number, status: WireStatus, payload: Uint8Array): Promise<void> {
    const body = encodeResponse(status, payload);
    if (body.length > this.#opts.maxMessage)
      throw tooLargeError(body.length, this.#opts.maxMessage);
    await this.#conn.send({ streamId: id, type: 'response', flags: 0, payload: body });
  }

  #sendStatus(id: number, status: WireStatus): void {
    this.#respond(id, status, EMPTY_PAYLOAD).catch((err: unknown) => {
      this.#log.debug('cannot send status', { stream_id: id, error: describeError(err) });
    });
  }

  #onData(frame: Frame): void {
    const call = this.#calls.get(frame.streamId);
    if (!call) {
      this.#sendStatus(frame.streamId, {
        code: GRPC_CODE.invalidArgument,
        message: 'StreamID is no longer active',
      });
      return;
    }
    const inbound = call.stream?.inbound;
    if (!inbound) {
      this.#log.debug('data frame on a stream without client data', { stream_id: frame.streamId });
      return;
    }
    if ((frame.flags & DATA_FLAG.noData) === 0 && !inbound.push(frame.payload)) {
      inbound.fail(
        new TtrpcError(
          'resource_exhausted',
          'ERR_TTRPC_STREAM_FULL',
          'ttrpc stream receive buffer full',
        ),
      );
    }
    if ((frame.flags & DATA_FLAG.remoteClosed) !== 0) inbound.end();
  }

  #onClose(err: TtrpcError): void {
    for (const call of this.#calls.values()) {
      call.stream?.inbound?.fail(err);
      call.controller.abort(err);
    }
    if (this.#calls.size === 0) this.#idle.resolve(undefined);
  }
}
