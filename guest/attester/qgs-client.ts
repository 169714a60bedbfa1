import type { Duplex } from 'node:stream';
import { withDeadline } from '#src/lib/index.js';
import { AttesterError } from './errors.js';

// Intel DCAP qgs_msg_lib: qgs_msg_header_t { u16 major, u16 minor, u32 type, u32 size (whole
// message), u32 error_code } little-endian, then GET_QUOTE_REQ { u32 report_size, u32
// id_list_size, report, id list } / GET_QUOTE_RESP { u32 selected_id_size, u32 quote_size, id,
// quote }. On a socket every message is preceded by its length as a 4-byte big-endian integer.
export const QGS_MSG_MAJOR_VER = 1;
export const QGS_MSG_MINOR_VER = 1;
export const QGS_GET_QUOTE_REQ = 0;
export const QGS_GET_QUOTE_RESP = 1;
export const QGS_HEADER_SIZE = 16;
const BODY_HEAD = QGS_HEADER_SIZE + 8;
/** The largest QGS frame we accept (QEMU's own bound on a GetQuote buffer is 128 KiB). */
export const QGS_MAX_FRAME = 128 * 1024;
/** How long one QGS exchange may take (QEMU and tdx-attest use 30 s). */
export const QGS_TIMEOUT_MS = 30_000;

/** qgs_msg_error_t names (QGS_MSG_ERROR_MAX = 0x12008). */
export const QGS_ERRORS: Readonly<Record<number, string>> = {
  0x12001: 'QGS_MSG_ERROR_UNEXPECTED',
  0x12002: 'QGS_MSG_ERROR_OUT_OF_MEMORY',
  0x12003: 'QGS_MSG_ERROR_INVALID_PARAMETER',
  0x12004: 'QGS_MSG_ERROR_INVALID_VERSION',
  0x12005: 'QGS_MSG_ERROR_INVALID_TYPE',
  0x12006: 'QGS_MSG_ERROR_INVALID_SIZE',
  0x12007: 'QGS_MSG_ERROR_INVALID_CODE',
};
const QGS_MSG_ERROR_MAX = 0x12008;

function qgsError(message: string, kind: 'internal' | 'unavailable' = 'internal'): AttesterError {
  return new AttesterError(kind, 'ERR_ATTESTER_QGS', `qgs: ${message}`);
}

function header(type: number, size: number, errorCode: number): Buffer {
  const h = Buffer.alloc(QGS_HEADER_SIZE);
  h.writeUInt16LE(QGS_MSG_MAJOR_VER, 0);
  h.writeUInt16LE(QGS_MSG_MINOR_VER, 2);
  h.writeUInt32LE(type, 4);
  h.writeUInt32LE(size, 8);
  h.writeUInt32LE(errorCode, 12);
  return h;
}

/** GET_QUOTE_REQ for a TDREPORT, with an empty id list (as tdx_att_get_quote sends it). */
export function encodeQgsGetQuoteRequest(tdreport: Uint8Array): Uint8Array {
  const body = Buffer.alloc(8);
  body.writeUInt32LE(tdreport.length, 0);
  return Buffer.concat([header(QGS_GET_QUOTE_REQ, BODY_HEAD + tdreport.length, 0), body, tdreport]);
}

/** GET_QUOTE_RESP (the QGS side; for test peers): a quote, or an error code with no quote. */
export function encodeQgsGetQuoteResponse(quote: Uint8Array, errorCode = 0): Uint8Array {
  const body = Buffer.alloc(8);
  body.writeUInt32LE(quote.length, 4);
  return Buffer.concat([
    header(QGS_GET_QUOTE_RESP, BODY_HEAD + quote.length, errorCode),
    body,
    quote,
  ]);
}

function checkHeader(msg: Uint8Array, type: number, what: string): Buffer {
  const b = Buffer.from(msg.buffer, msg.byteOffset, msg.byteLength);
  if (b.length < BODY_HEAD)
    throw qgsError(
      `${what} is ${String(b.length)} bytes, shorter than its ${String(BODY_HEAD)}-byte header`,
    );
  const major = b.readUInt16LE(0);
  if (major !== QGS_MSG_MAJOR_VER)
    throw qgsError(
      `${what} has message version ${String(major)}.x, expected ${String(QGS_MSG_MAJOR_VER)}.x`,
    );
  if (b.readUInt32LE(4) !== type)
    throw qgsError(
      `${what} has message type ${String(b.readUInt32LE(4))}, expected ${String(type)}`,
    );
  if (b.readUInt32LE(8) !== b.length)
    throw qgsError(
      `${what} says it is ${String(b.readUInt32LE(8))} bytes but ${String(b.length)} arrived`,
    );
  return b;
}

/** The TDREPORT of a GET_QUOTE_REQ (the QGS side; for test peers). */
export function decodeQgsGetQuoteRequest(msg: Uint8Array): Uint8Array {
  const b = checkHeader(msg, QGS_GET_QUOTE_REQ, 'GET_QUOTE_REQ');
  const reportSize = b.readUInt32LE(16);
  if (BODY_HEAD + reportSize + b.readUInt32LE(20) !== b.length || reportSize === 0)
    throw qgsError('GET_QUOTE_REQ sizes do not add up');
  return new Uint8Array(b.subarray(BODY_HEAD, BODY_HEAD + reportSize));
}

/**
 * The quote of a GET_QUOTE_RESP, checked as qgs_msg_inflate_get_quote_resp does: major version,
 * type, size = header + id + quote = bytes received, success carries a quote, an error none.
 */
export function decodeQgsGetQuoteResponse(msg: Uint8Array): Uint8Array {
  const b = checkHeader(msg, QGS_GET_QUOTE_RESP, 'GET_QUOTE_RESP');
  const idSize = b.readUInt32LE(16);
  const quoteSize = b.readUInt32LE(20);
  if (BODY_HEAD + idSize + quoteSize !== b.length)
    throw qgsError(
      `GET_QUOTE_RESP sizes (id ${String(idSize)} + quote ${String(quoteSize)}) do not match its ${String(b.length)} bytes`,
    );
  const code = b.readUInt32LE(12);
  if (code !== 0) {
    const name = QGS_ERRORS[code] ?? (code < QGS_MSG_ERROR_MAX ? 'unknown' : 'invalid error code');
    throw qgsError(
      `the quote generation service answered 0x${code.toString(16)} (${name})`,
      'unavailable',
    );
  }
  if (quoteSize === 0) throw qgsError('GET_QUOTE_RESP reports success with an empty quote');
  return new Uint8Array(b.subarray(BODY_HEAD + idSize));
}

/** A message with its 4-byte big-endian length in front. */
export function frameQgsMessage(msg: Uint8Array): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(msg.length, 0);
  return Buffer.concat([len, msg]);
}

/** Reads one length-prefixed frame (at most `max` bytes) from a stream. */
export function readQgsFrame(
  stream: Duplex,
  signal: AbortSignal,
  max = QGS_MAX_FRAME,
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let have = 0;
    let want: number | undefined;
    const done = (err: Error | undefined, frame?: Uint8Array): void => {
      stream.off('data', onData).off('end', onEnd).off('error', onError).off('close', onEnd);
      signal.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else if (frame) resolve(frame);
    };
    const onData = (c: Buffer): void => {
      chunks.push(c);
      have += c.length;
      const all = Buffer.concat(chunks);
      if (want === undefined && all.length >= 4) {
        want = all.readUInt32BE(0);
        if (want > max) {
          done(
            qgsError(
              `the quote generation service announced a ${String(want)}-byte frame (limit ${String(max)})`,
            ),
          );
          return;
        }
      }
      if (want !== undefined && have > 4 + want) {
        done(
          qgsError(
            `the quote generation service sent ${String(have - 4 - want)} bytes after its frame`,
          ),
        );
        return;
      }
      if (want !== undefined && have === 4 + want) done(undefined, new Uint8Array(all.subarray(4)));
    };
    const onEnd = (): void => {
      done(
        qgsError(
          want === undefined
            ? `the connection closed after ${String(have)} bytes, before a frame length`
            : `the connection closed after ${String(have - 4)} of ${String(want)} frame bytes`,
        ),
      );
    };
    const onError = (e: Error): void => {
      done(qgsError(`connection error: ${e.message}`, 'unavailable'));
    };
    const onAbort = (): void => {
      done(qgsError(`no answer: ${String(signal.reason)}`, 'unavailable'));
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    stream.on('data', onData).on('end', onEnd).on('error', onError).on('close', onEnd);
  });
}

export interface QgsQuoteOptions {
  readonly signal?: AbortSignal | undefined;
  readonly timeoutMs?: number | undefined;
}

/**
 * One quote for a TDREPORT from the Quote Generation Service, as Intel's tdx-attest does when
 * configfs-tsm is absent: connect, send the framed GET_QUOTE_REQ, read one framed GET_QUOTE_RESP.
 */
export async function getQuoteFromQgs(
  connect: (signal: AbortSignal) => Promise<Duplex>,
  tdreport: Uint8Array,
  opts: QgsQuoteOptions = {},
): Promise<Uint8Array> {
  const signal = withDeadline(opts.timeoutMs ?? QGS_TIMEOUT_MS, opts.signal);
  let stream: Duplex;
  try {
    stream = await connect(signal);
  } catch (err) {
    if (err instanceof AttesterError) throw err;
    throw new AttesterError(
      'unavailable',
      'ERR_ATTESTER_QGS',
      `qgs: cannot connect to the quote generation service: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  try {
    const reply = readQgsFrame(stream, signal);
    stream.write(frameQgsMessage(encodeQgsGetQuoteRequest(tdreport)));
    return decodeQgsGetQuoteResponse(await reply);
  } finally {
    stream.destroy();
  }
}

/** Where tdx-attest finds the QGS vsock port (`port=4050`). */
export const TDX_ATTEST_CONF = 'etc/tdx-attest.conf';

/**
 * The vsock port of `/etc/tdx-attest.conf` (`port=<n>` lines; `#` starts a comment), or
 * undefined when the file names none. A malformed port is an error, not a silent default.
 */
export function parseTdxAttestPort(text: string, where = TDX_ATTEST_CONF): number | undefined {
  let port: number | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    const m = /^port\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    const v = (m[1] ?? '').trim();
    const n = Number(v);
    if (!/^\d{1,10}$/.test(v) || n < 1 || n > 0xffffffff)
      throw new AttesterError(
        'invalid_argument',
        'ERR_ATTESTER_QGS',
        `${where}: port ${JSON.stringify(v.slice(0, 20))} is not a vsock port (1..4294967295)`,
      );
    port = n;
  }
  return port;
}
