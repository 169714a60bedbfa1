import { createHash } from 'node:crypto';
import { NULL_LOGGER, equalBytes, fitBytes, type Logger } from '#src/lib/index.js';
import { AAEL_DEFAULT_PCR, snpHostData, tdxMrConfigId } from '#src/tee/index.js';
import type { Attester, AttesterTee } from '#guest/attester/index.js';
import type { GuestKbsClient } from '#guest/kbs-client/index.js';
import { AaEventLog, aaelEventLine, type AaEventLogOptions } from './aa-eventlog.js';
import { AaError } from './errors.js';

export interface AttestationAgentOptions {
  readonly attester: Attester;
  /** The KBS client for GetToken(kbs); absent = no KBS configured. */
  readonly kbs?: GuestKbsClient | undefined;
  /** The initdata digest this guest was started with; checked against the TEE report before any token. */
  readonly initDataDigest?: Uint8Array | undefined;
  readonly log?: Logger | undefined;
  /**
   * Record runtime measurements in the AAEL (aa.toml `[eventlog_config] enable_eventlog = true`);
   * absent: ExtendRuntimeMeasurement is refused, as upstream does without an event log.
   */
  readonly eventLog?: AaEventLogOptions | undefined;
}

export interface AaCall {
  readonly signal?: AbortSignal | undefined;
}

/** Upstream's default runtime measurement register (PCR 17, RTMR 3 on TDX). */
export const DEFAULT_RUNTIME_REGISTER = AAEL_DEFAULT_PCR;

/** The initdata field of a TEE report for a digest: TDX MRCONFIGID (48), SNP HOST_DATA (32), sample: as is. */
export function initDataFieldOf(tee: AttesterTee, digest: Uint8Array): Uint8Array {
  switch (tee) {
    case 'tdx':
      return tdxMrConfigId(digest);
    case 'snp':
      return snpHostData(digest);
    case 'sample':
      return digest;
  }
}

/** The attestation agent: evidence, tokens, runtime measurements, the initdata binding. */
export class AttestationAgent {
  readonly #o: AttestationAgentOptions;
  readonly #log: Logger;
  #bound = false;
  #eventLog: Promise<AaEventLog> | undefined;

  constructor(options: AttestationAgentOptions) {
    this.#o = options;
    this.#log = (options.log ?? NULL_LOGGER).child({ subsystem: 'aa' });
  }

  get tee(): AttesterTee {
    return this.#o.attester.tee;
  }

  /** Evidence JSON for runtime data (≤ 64 bytes used as report_data, longer is SHA-384 hashed first). */
  async getEvidence(runtimeData: Uint8Array, opts: AaCall = {}): Promise<Uint8Array> {
    const rd =
      runtimeData.length <= 64
        ? fitBytes(runtimeData, 64)
        : new Uint8Array(createHash('sha384').update(runtimeData).digest());
    const ev = await this.#o.attester.getEvidence(rd, { signal: opts.signal });
    return new Uint8Array(Buffer.from(JSON.stringify(ev)));
  }

  /** `kbs` token: `{"token": "<EAR JWT>"}` (the ephemeral private key never leaves this process). */
  async getToken(tokenType: string, opts: AaCall = {}): Promise<Uint8Array> {
    if (tokenType !== 'kbs')
      throw new AaError(
        'invalid_argument',
        'ERR_AA_TOKEN_TYPE',
        `token type ${JSON.stringify(tokenType.slice(0, 40))} is not supported (use "kbs")`,
      );
    const kbs = this.#o.kbs;
    if (!kbs)
      throw new AaError(
        'failed_precondition',
        'ERR_AA_NO_KBS',
        'no kbs is configured (aa.toml [token_configs.kbs] url)',
      );
    await this.checkInitDataBinding(opts);
    const token = await kbs.getToken({ signal: opts.signal });
    return new Uint8Array(Buffer.from(JSON.stringify({ token })));
  }

  /**
   * Checks that the TEE report's initdata field (MRCONFIGID / HOST_DATA / the sample's bound
   * digest) equals the initdata digest; a mismatch means the host started this guest with other
   * initdata than the one it handed over, and attestation must not go on.
   */
  async checkInitDataBinding(opts: AaCall = {}): Promise<void> {
    const digest = this.#o.initDataDigest;
    if (digest === undefined || this.#bound) return;
    await this.bindInitData(digest, opts);
  }

  /** BindInitData: the digest must match the TEE report's field. */
  async bindInitData(digest: Uint8Array, opts: AaCall = {}): Promise<void> {
    const a = this.#o.attester;
    if (!a.initDataField)
      throw new AaError(
        'unimplemented',
        'ERR_AA_INITDATA_MISMATCH',
        `the ${a.tee} attester cannot read its initdata field`,
      );
    const field = await a.initDataField({ signal: opts.signal });
    const want = initDataFieldOf(a.tee, digest);
    if (!equalBytes(field, want)) {
      this.#log.warn('initdata digest mismatch', {
        tee: a.tee,
        report: Buffer.from(field).toString('hex'),
        initdata: Buffer.from(want).toString('hex'),
      });
      throw new AaError(
        'permission_denied',
        'ERR_AA_INITDATA_MISMATCH',
        `initdata digest does not match the ${a.tee} report's initdata field: refusing to attest`,
      );
    }
    if (digest === this.#o.initDataDigest) this.#bound = true;
  }

  /**
   * ExtendRuntimeMeasurement: appends `domain operation content` to the AAEL and extends its
   * digest (the attester's register hash: TDX SHA-384 into RTMR 3, sample SHA-256) into the log's
   * register. The INIT entry is written with the first event.
   */
  async extendRuntimeMeasurement(
    e: { domain: string; operation: string; content: string; registerIndex?: number | undefined },
    opts: AaCall = {},
  ): Promise<void> {
    const a = this.#o.attester;
    if (!a.extendRuntimeMeasurement)
      throw new AaError(
        'unimplemented',
        'ERR_AA_MEASUREMENT',
        `runtime measurement is not available on ${a.tee}`,
      );
    const cfg = this.#o.eventLog;
    if (!cfg)
      throw new AaError(
        'failed_precondition',
        'ERR_AA_MEASUREMENT',
        'runtime measurement is off: set [eventlog_config] enable_eventlog = true in aa.toml',
      );
    const pcr = cfg.initPcr ?? DEFAULT_RUNTIME_REGISTER;
    if (e.registerIndex !== undefined && e.registerIndex !== pcr)
      throw new AaError(
        'invalid_argument',
        'ERR_AA_MEASUREMENT',
        `runtime measurement: the event log is bound to register ${String(pcr)}; RegisterIndex ${String(e.registerIndex)} would make it unreplayable (omit it or use ${String(pcr)})`,
      );
    aaelEventLine(e); // refuse a bad event before the INIT entry is written
    const log = await this.#openEventLog(opts);
    const line = await log.record(e, opts.signal);
    this.#log.info('runtime measurement extended', {
      domain: e.domain,
      operation: e.operation,
      register: pcr,
      bytes: line.length,
    });
  }

  #openEventLog(opts: AaCall): Promise<AaEventLog> {
    if (!this.#eventLog) {
      const opening = AaEventLog.open(this.#o.attester, {
        ...this.#o.eventLog,
        signal: opts.signal,
      });
      this.#eventLog = opening;
      opening.catch(() => {
        if (this.#eventLog === opening) this.#eventLog = undefined;
      });
    }
    return this.#eventLog;
  }
}
