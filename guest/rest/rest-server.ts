import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RestError } from './errors.js';
import { CcError, NULL_LOGGER, wrapError, type ErrorKind, type Logger } from '#src/lib/index.js';

/** Upstream api-server-rest's address inside the guest. */
export const REST_HOST = '127.0.0.1';
export const REST_PORT = 8006;

/** What the REST API serves (the CDH and the attestation agent, in-process). */
export interface RestBackends {
  getResource(uri: string, opts: { signal: AbortSignal }): Promise<Uint8Array>;
  getToken(tokenType: string, opts: { signal: AbortSignal }): Promise<Uint8Array>;
  getEvidence(runtimeData: Uint8Array, opts: { signal: AbortSignal }): Promise<Uint8Array>;
}

export interface RestServerOptions {
  readonly backends: RestBackends;
  readonly log?: Logger | undefined;
  readonly requestTimeoutMs?: number | undefined;
}

const STATUS_OF: Readonly<Record<ErrorKind, number>> = {
  invalid_argument: 400,
  not_found: 404,
  already_exists: 409,
  failed_precondition: 412,
  permission_denied: 403,
  unauthenticated: 401,
  resource_exhausted: 429,
  deadline_exceeded: 504,
  cancelled: 499,
  unavailable: 503,
  unimplemented: 501,
  internal: 500,
};

const SEGMENT = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * The guest's REST API (upstream api-server-rest): `GET /cdh/resource/<repo>/<type>/<tag>`,
 * `GET /aa/token?token_type=kbs`, `GET /aa/evidence?runtime_data=…`. Plain-text errors with an
 * HTTP status from the error kind.
 */
export class RestServer {
  readonly #o: RestServerOptions;
  readonly #log: Logger;
  readonly #server: Server;

  constructor(options: RestServerOptions) {
    this.#o = options;
    this.#log = (options.log ?? NULL_LOGGER).child({ subsystem: 'rest' });
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        this.#log.error('rest handler failed', {
          error: err instanceof Error ? err.message : String(err),
        });
        if (!res.headersSent) this.#send(res, 500, 'internal error');
      });
    });
  }

  listen(host = REST_HOST, port = REST_PORT): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', (err) => {
        reject(wrapError(err, `cannot listen on ${host}:${String(port)}`));
      });
      this.#server.listen(port, host, () => {
        resolve(this.#server.address() as AddressInfo);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.#server.listening) {
        resolve();
        return;
      }
      this.#server.close(() => {
        resolve();
      });
      this.#server.closeAllConnections();
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET') {
      this.#send(res, 405, `method ${req.method ?? ''} not allowed: use GET`);
      return;
    }
    const signal = AbortSignal.timeout(this.#o.requestTimeoutMs ?? 60_000);
    try {
      const body = await this.#route(url, signal);
      if (body === undefined) this.#send(res, 404, `unknown path ${url.pathname.slice(0, 200)}`);
      else this.#send(res, 200, body);
    } catch (err) {
      const kind = err instanceof CcError ? err.kind : 'internal';
      const message = err instanceof CcError ? err.message : 'internal error';
      this.#log.warn('rest request failed', {
        path: url.pathname,
        kind,
        error: err instanceof Error ? err.message : String(err),
      });
      this.#send(res, STATUS_OF[kind], message);
    }
  }

  async #route(url: URL, signal: AbortSignal): Promise<Uint8Array | undefined> {
    const b = this.#o.backends;
    const parts = url.pathname.split('/').slice(1);
    if (parts[0] === 'cdh' && parts[1] === 'resource') {
      const seg = parts.slice(2);
      if (seg.length !== 3 || !seg.every((s) => SEGMENT.test(s)))
        throw new RestError(
          'invalid_argument',
          'ERR_REST_PATH',
          'expected /cdh/resource/<repository>/<type>/<tag>',
        );
      return b.getResource(`kbs:///${seg.join('/')}`, { signal });
    }
    if (url.pathname === '/aa/token') {
      const type = url.searchParams.get('token_type');
      if (type === null)
        throw new RestError(
          'invalid_argument',
          'ERR_REST_QUERY',
          'missing query parameter token_type',
        );
      return b.getToken(type, { signal });
    }
    if (url.pathname === '/aa/evidence') {
      const rd = url.searchParams.get('runtime_data');
      if (rd === null)
        throw new RestError(
          'invalid_argument',
          'ERR_REST_QUERY',
          'missing query parameter runtime_data',
        );
      return b.getEvidence(new Uint8Array(Buffer.from(rd, 'utf8')), { signal });
    }
    return undefined;
  }

  #send(res: ServerResponse, status: number, body: Uint8Array | string): void {
    res.writeHead(status, {
      'content-type':
        typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/octet-stream',
      'content-length': String(Buffer.byteLength(body)),
    });
    res.end(body);
  }
}
