import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isSystemError } from '#src/lib/index.js';
import { OciError } from './errors.js';

export interface HttpRequest {
  readonly url: URL;
  readonly method?: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | undefined;
  readonly headers?: OutgoingHttpHeaders | undefined;
  readonly body?: Uint8Array | undefined;
  /** Extra trusted CA certificates (PEM) for https. */
  readonly ca?: readonly string[] | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Abort when no response headers arrive, or the body stalls, for this long. */
  readonly idleTimeoutMs?: number | undefined;
}

const MAX_REDIRECTS = 5;
const DEFAULT_IDLE_MS = 30_000;

/** A transport failure worth retrying: connection refused/reset, timeouts, truncated bodies. */
export function isTransientNetworkError(err: unknown): boolean {
  if (err instanceof OciError) return err.code === 'ERR_OCI_REGISTRY' && err.kind === 'unavailable';
  if (!isSystemError(err))
    return err instanceof Error && /socket hang up|aborted|premature/i.test(err.message);
  return [
    'ECONNRESET',
    'ECONNREFUSED',
    'ETIMEDOUT',
    'EPIPE',
    'EAI_AGAIN',
    'ENOTFOUND',
    'EHOSTUNREACH',
    'ECONNABORTED',
    'ERR_STREAM_PREMATURE_CLOSE',
  ].includes(err.code);
}

function sendOnce(req: HttpRequest, url: URL): Promise<IncomingMessage> {
  return new Promise<IncomingMessage>((resolve, reject) => {
    const isTls = url.protocol === 'https:';
    const send = isTls ? httpsRequest : httpRequest;
    const options = {
      method: req.method ?? 'GET',
      headers: { 'user-agent': 'kata-cc-oci/0.1', ...req.headers },
      ...(req.signal ? { signal: req.signal } : {}),
      ...(isTls && req.ca && req.ca.length > 0 ? { ca: [...req.ca] } : {}),
    };
    const cr = send(url, options, resolve);
    // ClientRequest's timeout covers the socket until the response body ends (also the body).
    cr.setTimeout(req.idleTimeoutMs ?? DEFAULT_IDLE_MS, () => {
      cr.destroy(
        new OciError(
          'unavailable',
          'ERR_OCI_REGISTRY',
          `${url.host}: connection idle past the timeout`,
        ),
      );
    });
    cr.on('error', reject);
    cr.end(req.body === undefined ? undefined : Buffer.from(req.body));
  });
}

/**
 * One HTTP exchange with redirects followed (at most 5). Authorization is dropped when a redirect
 * leaves the original host, as blob storage redirects must not see registry credentials.
 */
export async function sendHttp(req: HttpRequest): Promise<IncomingMessage> {
  let url = req.url;
  let headers = req.headers;
  for (let hop = 0; ; hop++) {
    const res = await sendOnce({ ...req, headers }, url);
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (![301, 302, 303, 307, 308].includes(status) || location === undefined) return res;
    res.resume();
    if (hop >= MAX_REDIRECTS) {
      throw new OciError(
        'unavailable',
        'ERR_OCI_REGISTRY',
        `${req.url.host}: more than ${String(MAX_REDIRECTS)} redirects`,
      );
    }
    const next = new URL(location, url);
    if (next.host !== req.url.host && headers) {
      const { authorization: _dropped, ...rest } = headers;
      headers = rest;
    }
    url = next;
  }
}

/** Reads a whole response body, refusing more than `limit` bytes before buffering them. */
export async function readBody(res: IncomingMessage, limit: number, what: string): Promise<Buffer> {
  const declared = Number(res.headers['content-length'] ?? NaN);
  const tooLarge = (): OciError =>
    new OciError(
      'resource_exhausted',
      'ERR_OCI_TOO_LARGE',
      `${what} is larger than the ${String(limit)} bytes allowed`,
    );
  if (Number.isFinite(declared) && declared > limit) {
    res.destroy();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) {
      res.destroy();
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
