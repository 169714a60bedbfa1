import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { KbsProtocolError } from './errors.js';

export interface HttpResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
}

export interface HttpRequestOptions {
  readonly method: 'GET' | 'POST';
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly body?: Uint8Array | string | undefined;
  readonly caPem?: string | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Largest response body accepted (default 16 MiB). */
  readonly maxBody?: number | undefined;
}

/** One HTTP(S) request with a bounded response body; cancelled by `signal`. */
export function sendHttp(url: URL, opts: HttpRequestOptions): Promise<HttpResponse> {
  const max = opts.maxBody ?? 16 << 20;
  return new Promise((resolve, reject) => {
    const fn = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const body = opts.body === undefined ? undefined : Buffer.from(opts.body);
    const req = fn(
      url,
      {
        method: opts.method,
        headers: { ...opts.headers, ...(body ? { 'content-length': String(body.length) } : {}) },
        ...(opts.caPem ? { ca: opts.caPem } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > max) {
            req.destroy(
              new KbsProtocolError(
                'resource_exhausted',
                'ERR_KBS_HTTP',
                `${url.pathname}: response larger than ${String(max)} bytes`,
              ),
            );
            return;
          }
          chunks.push(c);
        });
        res.once('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
          });
        });
        res.once('error', reject);
      },
    );
    req.once('error', (err) => {
      const reason: unknown = opts.signal?.aborted === true ? opts.signal.reason : undefined;
      const timedOut = reason instanceof Error && reason.name === 'TimeoutError';
      reject(
        err instanceof KbsProtocolError
          ? err
          : new KbsProtocolError(
              timedOut ? 'deadline_exceeded' : reason === undefined ? 'unavailable' : 'cancelled',
              'ERR_KBS_HTTP',
              `${opts.method} ${url.href}: ${timedOut ? 'no answer before the deadline' : err.message}`,
              { cause: err },
            ),
      );
    });
    req.end(body);
  });
}
