import * as fsp from 'node:fs/promises';
import { dirname } from 'node:path';
import { equalBytes, isSystemError } from '#src/lib/index.js';
import {
  AAEL_DEFAULT_PCR,
  TeeError,
  aaelLineDigest,
  formatAaelEvent,
  formatAaelInit,
  parseAael,
  replayAael,
  type AaelHashAlgorithm,
  type AaelLog,
} from '#src/tee/index.js';
import type { Attester } from '#guest/attester/index.js';
import { AaError } from './errors.js';

/** guest-components' AAEL file. */
export const AAEL_PATH = '/run/attestation-agent/eventlog';

export interface AaEventLogOptions {
  readonly path?: string | undefined;
  /** The register the INIT entry and every event extend (aa.toml `eventlog_config.init_pcr`). */
  readonly initPcr?: number | undefined;
  readonly signal?: AbortSignal | undefined;
}

type Measuring = Required<Pick<Attester, 'extendRuntimeMeasurement' | 'getRuntimeMeasurement'>> & {
  readonly tee: string;
  readonly algorithm: AaelHashAlgorithm;
};

function measuring(a: Attester): Measuring {
  const extend = a.extendRuntimeMeasurement?.bind(a);
  const get = a.getRuntimeMeasurement?.bind(a);
  const algorithm = a.runtimeMeasurementAlgorithm;
  if (!extend || !get || algorithm === undefined)
    throw new AaError(
      'unimplemented',
      'ERR_AA_MEASUREMENT',
      `runtime measurement is not available on ${a.tee}`,
    );
  return { tee: a.tee, algorithm, extendRuntimeMeasurement: extend, getRuntimeMeasurement: get };
}

async function appendLine(path: string, line: string): Promise<void> {
  const h = await fsp.open(path, 'a', 0o600);
  try {
    await h.write(`${line}\n`);
    await h.sync();
  } finally {
    await h.close();
  }
}

/** The AAEL line of an event, or invalid_argument naming the rule it breaks. */
export function aaelEventLine(e: { domain: string; operation: string; content: string }): string {
  try {
    return formatAaelEvent(e.domain, e.operation, e.content);
  } catch (err) {
    throw new AaError(
      'invalid_argument',
      'ERR_AA_MEASUREMENT',
      `runtime measurement: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
}

/**
 * The attestation agent's runtime event log (AAEL), bound to one runtime register: every line is
 * written (and synced) first, then its digest is extended, as upstream orders it, so a crash
 * leaves at most the last line unextended, which opening the log again repairs.
 */
export class AaEventLog {
  readonly path: string;
  readonly pcr: number;
  readonly #m: Measuring;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(path: string, pcr: number, m: Measuring) {
    this.path = path;
    this.pcr = pcr;
    this.#m = m;
  }

  /**
   * Opens the log: a new (or empty) file gets the INIT entry with the register's current value;
   * an existing log must replay to the register (or to it but for an unextended last line).
   */
  static async open(attester: Attester, o: AaEventLogOptions = {}): Promise<AaEventLog> {
    const m = measuring(attester);
    const log = new AaEventLog(o.path ?? AAEL_PATH, o.initPcr ?? AAEL_DEFAULT_PCR, m);
    await fsp.mkdir(dirname(log.path), { recursive: true, mode: 0o700 });
    let text = '';
    try {
      text = await fsp.readFile(log.path, 'utf8');
    } catch (err) {
      if (!isSystemError(err) || err.code !== 'ENOENT') throw err;
    }
    if (text === '') await log.#init(o.signal);
    else await log.#recover(text, o.signal);
    return log;
  }

  async #init(signal: AbortSignal | undefined): Promise<void> {
    const reg = await this.#m.getRuntimeMeasurement(this.pcr, { signal });
    const line = formatAaelInit(this.#m.algorithm, reg);
    await appendLine(this.path, line);
    await this.#extend(line, signal);
  }

  async #recover(text: string, signal: AbortSignal | undefined): Promise<void> {
    let log: AaelLog;
    try {
      log = parseAael(text);
    } catch (err) {
      throw new AaError(
        'failed_precondition',
        'ERR_AA_EVENTLOG',
        `${this.path}: ${err instanceof TeeError ? err.message : String(err)}`,
        { cause: err },
      );
    }
    if (log.algorithm !== this.#m.algorithm)
      throw this.#mismatch(
        `is a ${log.algorithm} log, the ${this.#m.tee} register is ${this.#m.algorithm}`,
      );
    const reg = await this.#m.getRuntimeMeasurement(this.pcr, { signal });
    if (equalBytes(replayAael(log), reg)) return;
    const last = log.events.at(-1);
    const before = { ...log, events: log.events.slice(0, -1) };
    const upToLast = log.events.length === 0 ? log.initState : replayAael(before);
    if (equalBytes(upToLast, reg)) {
      // written but not extended (a crash in between): finish it
      const line = last ?? formatAaelInit(log.algorithm, log.initState);
      await this.#extend(line, signal);
      return;
    }
    throw this.#mismatch(
      'does not replay to the register value; it was changed or the register extended behind it',
    );
  }

  #mismatch(why: string): AaError {
    return new AaError('failed_precondition', 'ERR_AA_EVENTLOG', `${this.path} ${why}`);
  }

  #extend(line: string, signal: AbortSignal | undefined): Promise<void> {
    return this.#m.extendRuntimeMeasurement(this.pcr, aaelLineDigest(this.#m.algorithm, line), {
      signal,
    });
  }

  /** Appends `<domain> <operation> <content>` and extends its digest; calls are serialised. */
  record(
    e: { domain: string; operation: string; content: string },
    signal?: AbortSignal,
  ): Promise<string> {
    let line: string;
    try {
      line = aaelEventLine(e);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const run = this.#queue.then(async () => {
      signal?.throwIfAborted();
      await appendLine(this.path, line);
      await this.#extend(line, signal);
      return line;
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** What the register should hold now, by replaying the file (for checks and tests). */
  async expectedRegister(): Promise<Uint8Array> {
    return replayAael(parseAael(await fsp.readFile(this.path, 'utf8')));
  }
}
