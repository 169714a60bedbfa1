import { NO_TRACE, type TraceSwitches } from './trace.js';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type LogFields = Readonly<Record<string, unknown>>;

/** JSON-lines logger. Fields are snake_case; messages short lower-case phrases without data. */
export interface Logger {
  error(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
  readonly trace: TraceSwitches;
}

export interface LogSink {
  write(line: string): void;
}

const RANK: Readonly<Record<LogLevel, number>> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface JsonLoggerOptions {
  readonly sink: LogSink;
  readonly level?: LogLevel | undefined;
  readonly fields?: LogFields | undefined;
  readonly trace?: TraceSwitches | undefined;
  readonly now?: (() => Date) | undefined;
}

function encodeValue(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return { message: value.message, name: value.name, ...(code === undefined ? {} : { code }) };
  }
  if (value instanceof Uint8Array) return `<${value.length} bytes>`;
  return value;
}

export class JsonLogger implements Logger {
  readonly #sink: LogSink;
  readonly #max: number;
  readonly #level: LogLevel;
  readonly #fields: LogFields;
  readonly #now: () => Date;
  readonly trace: TraceSwitches;

  constructor(options: JsonLoggerOptions) {
    this.#sink = options.sink;
    this.#level = options.level ?? 'info';
    this.#max = RANK[this.#level];
    this.#fields = options.fields ?? {};
    this.#now = options.now ?? (() => new Date());
    this.trace = options.trace ?? NO_TRACE;
  }

  #log(level: LogLevel, msg: string, fields?: LogFields): void {
    if (RANK[level] > this.#max) return;
    const record = { time: this.#now().toISOString(), level, ...this.#fields, msg, ...fields };
    let line: string;
    try {
      line = JSON.stringify(record, encodeValue);
    } catch {
      line = JSON.stringify({ time: record.time, level, msg, log_error: 'unserializable fields' });
    }
    this.#sink.write(line + '\n');
  }

  error(msg: string, fields?: LogFields): void {
    this.#log('error', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.#log('warn', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.#log('info', msg, fields);
  }
  debug(msg: string, fields?: LogFields): void {
    this.#log('debug', msg, fields);
  }
  child(fields: LogFields): Logger {
    return new JsonLogger({
      sink: this.#sink,
      level: this.#level,
      fields: { ...this.#fields, ...fields },
      trace: this.trace,
      now: this.#now,
    });
  }
}

/** A logger that drops everything; the default for libraries given no logger. */
export const NULL_LOGGER: Logger = new JsonLogger({
  sink: { write: () => undefined },
  level: 'error',
});

/** Collects lines in memory; for tests. */
export class MemorySink implements LogSink {
  readonly lines: string[] = [];
  write(line: string): void {
    this.lines.push(line);
  }
  records(): Record<string, unknown>[] {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

export function parseLogLevel(raw: string | undefined, fallback: LogLevel = 'info'): LogLevel {
  if (raw === undefined) return fallback;
  const v = raw.toLowerCase();
  return v === 'error' || v === 'warn' || v === 'info' || v === 'debug' ? v : fallback;
}
