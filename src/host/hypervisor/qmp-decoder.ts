import { HypervisorError } from './errors.js';

/** Longest QMP message accepted (QEMU's own replies are far smaller). */
export const QMP_MAX_LINE = 1 << 20;

export type QmpMessage =
  | { readonly type: 'greeting'; readonly version: unknown }
  | { readonly type: 'return'; readonly id: unknown; readonly value: unknown }
  | {
      readonly type: 'error';
      readonly id: unknown;
      readonly errorClass: string;
      readonly desc: string;
    }
  | {
      readonly type: 'event';
      readonly event: string;
      readonly data: unknown;
      readonly timestamp: unknown;
    };

function protocolError(message: string): HypervisorError {
  return new HypervisorError('internal', 'ERR_QMP_PROTOCOL', message);
}

/** Classifies one QMP JSON object (QEMU's qmp-spec: greeting, return, error, event). */
export function parseQmpMessage(raw: unknown): QmpMessage {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw protocolError('qmp message is not a JSON object');
  const o = raw as Record<string, unknown>;
  if ('QMP' in o) return { type: 'greeting', version: o['QMP'] };
  if ('return' in o) return { type: 'return', id: o['id'], value: o['return'] };
  if ('error' in o) {
    const e = o['error'];
    const err = e !== null && typeof e === 'object' ? (e as Record<string, unknown>) : {};
    const errorClass = typeof err['class'] === 'string' ? err['class'] : 'GenericError';
    const desc = typeof err['desc'] === 'string' ? err['desc'] : 'unknown error';
    return { type: 'error', id: o['id'], errorClass, desc };
  }
  if (typeof o['event'] === 'string')
    return { type: 'event', event: o['event'], data: o['data'], timestamp: o['timestamp'] };
  throw protocolError(`unrecognised qmp message with keys ${Object.keys(o).join(',')}`);
}

/** Pure: bytes in, QMP messages out (one JSON object per CRLF/LF-terminated line). */
export class QmpDecoder {
  readonly #maxLine: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;

  constructor(maxLine = QMP_MAX_LINE) {
    this.#maxLine = maxLine;
  }

  push(chunk: Uint8Array): QmpMessage[] {
    const out: QmpMessage[] = [];
    let buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    for (;;) {
      const nl = buf.indexOf(0x0a);
      if (nl < 0) {
        if (this.#pendingBytes + buf.length > this.#maxLine)
          throw protocolError(`qmp line longer than ${this.#maxLine} bytes`);
        if (buf.length > 0) {
          this.#pending.push(Buffer.from(buf));
          this.#pendingBytes += buf.length;
        }
        return out;
      }
      if (this.#pendingBytes + nl > this.#maxLine)
        throw protocolError(`qmp line longer than ${this.#maxLine} bytes`);
      const line = Buffer.concat([...this.#pending, buf.subarray(0, nl)])
        .toString('utf8')
        .trim();
      this.#pending = [];
      this.#pendingBytes = 0;
      buf = buf.subarray(nl + 1);
      if (line === '') continue;
      let raw: unknown;
      try {
        raw = JSON.parse(line);
      } catch {
        throw protocolError(`qmp sent a line that is not JSON: ${line.slice(0, 80)}`);
      }
      out.push(parseQmpMessage(raw));
    }
  }
}
