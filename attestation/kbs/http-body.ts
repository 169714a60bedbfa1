import type { IncomingMessage } from 'node:http';
import { KbsError } from './errors.js';

/** Reads a request body of at most `limit` bytes (checked against Content-Length first). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > limit) {
        done = true;
        reject(tooLarge(limit));
        return;
      }
      chunks.push(c);
    });
    req.once('end', () => {
      if (!done) resolve(Buffer.concat(chunks));
    });
    req.once('error', (err) => {
      if (!done)
        reject(
          new KbsError('invalid_argument', 'ERR_KBS_BODY_INVALID', `request body: ${err.message}`, {
            cause: err,
          }),
        );
    });
  });
}

function tooLarge(limit: number): KbsError {
  return new KbsError(
    'resource_exhausted',
    'ERR_KBS_BODY_TOO_LARGE',
    `request body larger than ${String(limit)} bytes`,
  );
}

/** JSON.parse with an error that names the endpoint. */
export function parseJsonBody(body: Buffer, what: string): unknown {
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch (err) {
    throw new KbsError(
      'invalid_argument',
      'ERR_KBS_BODY_INVALID',
      `${what}: body is not valid JSON (${err instanceof Error ? err.message : String(err)})`,
    );
  }
}

export function cookieValue(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
