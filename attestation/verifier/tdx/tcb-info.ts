import { fromHex } from '#src/lib/index.js';
import { malformedInput } from '../errors.js';

export const TCB_STATUSES = [
  'UpToDate',
  'SWHardeningNeeded',
  'ConfigurationNeeded',
  'ConfigurationAndSWHardeningNeeded',
  'OutOfDate',
  'OutOfDateConfigurationNeeded',
  'Revoked',
] as const;
export type TcbStatus = (typeof TCB_STATUSES)[number];

export interface TdxTcbLevel {
  readonly sgxComponents: readonly number[];
  readonly pceSvn: number;
  readonly tdxComponents: readonly number[];
  readonly tcbDate: string;
  readonly status: TcbStatus;
  readonly advisoryIds: readonly string[];
}

export interface IsvTcbLevel {
  readonly isvSvn: number;
  readonly tcbDate: string;
  readonly status: TcbStatus;
  readonly advisoryIds: readonly string[];
}

export interface TdxModuleIdentity {
  readonly id: string;
  readonly mrSigner: Uint8Array;
  readonly attributes: Uint8Array;
  readonly attributesMask: Uint8Array;
  readonly tcbLevels: readonly IsvTcbLevel[];
}

export interface TdxTcbInfo {
  readonly id: string;
  readonly version: number;
  readonly issueDate: Date;
  readonly nextUpdate: Date;
  readonly fmspc: string;
  readonly pceId: string;
  readonly tcbEvaluationDataNumber: number;
  readonly tdxModule:
    | {
        readonly mrSigner: Uint8Array;
        readonly attributes: Uint8Array;
        readonly attributesMask: Uint8Array;
      }
    | undefined;
  readonly tdxModuleIdentities: readonly TdxModuleIdentity[];
  readonly tcbLevels: readonly TdxTcbLevel[];
}

export interface QeIdentity {
  readonly id: string;
  readonly version: number;
  readonly issueDate: Date;
  readonly nextUpdate: Date;
  readonly tcbEvaluationDataNumber: number;
  readonly miscSelect: number;
  readonly miscSelectMask: number;
  readonly attributes: Uint8Array;
  readonly attributesMask: Uint8Array;
  readonly mrSigner: Uint8Array;
  readonly isvProdId: number;
  readonly tcbLevels: readonly IsvTcbLevel[];
}

type Obj = Record<string, unknown>;

function bad(at: string, what: string): never {
  throw malformedInput('ERR_TDX_COLLATERAL_MALFORMED', `${at}: ${what}`);
}

function obj(v: unknown, at: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(at, 'expected an object');
  return v as Obj;
}

function arr(v: unknown, at: string): unknown[] {
  if (!Array.isArray(v)) bad(at, 'expected an array');
  return v;
}

function num(v: unknown, at: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
    bad(at, 'expected a non-negative integer');
  return v;
}

function text(v: unknown, at: string): string {
  if (typeof v !== 'string') bad(at, 'expected a string');
  return v;
}

function hex(v: unknown, at: string): Uint8Array {
  try {
    return fromHex(text(v, at));
  } catch {
    return bad(at, 'expected hex');
  }
}

function date(v: unknown, at: string): Date {
  const d = new Date(text(v, at));
  if (Number.isNaN(d.getTime())) bad(at, 'expected an RFC 3339 date');
  return d;
}

function status(v: unknown, at: string): TcbStatus {
  const s = text(v, at);
  if (!(TCB_STATUSES as readonly string[]).includes(s))
    bad(at, `unknown TCB status ${JSON.stringify(s)}`);
  return s as TcbStatus;
}

function advisories(v: unknown, at: string): string[] {
  return v === undefined ? [] : arr(v, at).map((x, i) => text(x, `${at}[${i}]`));
}

function svns(v: unknown, at: string): number[] {
  const list = arr(v, at).map((c, i) => num(obj(c, `${at}[${i}]`)['svn'], `${at}[${i}].svn`));
  if (list.length !== 16) bad(at, `expected 16 components, got ${list.length}`);
  return list;
}

function parseJson(json: string, at: string): Obj {
  try {
    return obj(JSON.parse(json), at);
  } catch (err) {
    if (err instanceof SyntaxError) bad(at, 'not JSON');
    throw err;
  }
}

function isvLevels(v: unknown, at: string): IsvTcbLevel[] {
  return arr(v, at).map((l, i) => {
    const o = obj(l, `${at}[${i}]`);
    return {
      isvSvn: num(obj(o['tcb'], `${at}[${i}].tcb`)['isvsvn'], `${at}[${i}].tcb.isvsvn`),
      tcbDate: text(o['tcbDate'], `${at}[${i}].tcbDate`),
      status: status(o['tcbStatus'], `${at}[${i}].tcbStatus`),
      advisoryIds: advisories(o['advisoryIDs'], `${at}[${i}].advisoryIDs`),
    };
  });
}

/** Parses the signed `tcbInfo` text (TDX TCB info, version 3). */
export function parseTdxTcbInfo(json: string, at = 'tcbInfo'): TdxTcbInfo {
  const o = parseJson(json, at);
  const id = text(o['id'], `${at}.id`);
  const version = num(o['version'], `${at}.version`);
  if (id !== 'TDX' || version !== 3)
    bad(at, `expected id "TDX" version 3, got ${JSON.stringify(id)} version ${version}`);
  const module = o['tdxModule'] === undefined ? undefined : obj(o['tdxModule'], `${at}.tdxModule`);
  const identities =
    o['tdxModuleIdentities'] === undefined
      ? []
      : arr(o['tdxModuleIdentities'], `${at}.tdxModuleIdentities`);
  return {
    id,
    version,
    issueDate: date(o['issueDate'], `${at}.issueDate`),
    nextUpdate: date(o['nextUpdate'], `${at}.nextUpdate`),
    fmspc: text(o['fmspc'], `${at}.fmspc`).toLowerCase(),
    pceId: text(o['pceId'], `${at}.pceId`).toLowerCase(),
    tcbEvaluationDataNumber: num(o['tcbEvaluationDataNumber'], `${at}.tcbEvaluationDataNumber`),
    tdxModule: module && {
      mrSigner: hex(module['mrsigner'], `${at}.tdxModule.mrsigner`),
      attributes: hex(module['attributes'], `${at}.tdxModule.attributes`),
      attributesMask: hex(module['attributesMask'], `${at}.tdxModule.attributesMask`),
    },
    tdxModuleIdentities: identities.map((m, i) => {
      const p = `${at}.tdxModuleIdentities[${i}]`;
      const mo = obj(m, p);
      return {
        id: text(mo['id'], `${p}.id`),
        mrSigner: hex(mo['mrsigner'], `${p}.mrsigner`),
        attributes: hex(mo['attributes'], `${p}.attributes`),
        attributesMask: hex(mo['attributesMask'], `${p}.attributesMask`),
        tcbLevels: isvLevels(mo['tcbLevels'], `${p}.tcbLevels`),
      };
    }),
    tcbLevels: arr(o['tcbLevels'], `${at}.tcbLevels`).map((l, i) => {
      const p = `${at}.tcbLevels[${i}]`;
      const lo = obj(l, p);
      const tcb = obj(lo['tcb'], `${p}.tcb`);
      return {
        sgxComponents: svns(tcb['sgxtcbcomponents'], `${p}.tcb.sgxtcbcomponents`),
        pceSvn: num(tcb['pcesvn'], `${p}.tcb.pcesvn`),
        tdxComponents: svns(tcb['tdxtcbcomponents'], `${p}.tcb.tdxtcbcomponents`),
        tcbDate: text(lo['tcbDate'], `${p}.tcbDate`),
        status: status(lo['tcbStatus'], `${p}.tcbStatus`),
        advisoryIds: advisories(lo['advisoryIDs'], `${p}.advisoryIDs`),
      };
    }),
  };
}

/** Parses the signed `enclaveIdentity` text (TD_QE identity, version 2). */
export function parseQeIdentity(json: string, at = 'enclaveIdentity'): QeIdentity {
  const o = parseJson(json, at);
  const id = text(o['id'], `${at}.id`);
  const version = num(o['version'], `${at}.version`);
  if (id !== 'TD_QE' || version !== 2)
    bad(at, `expected id "TD_QE" version 2, got ${JSON.stringify(id)} version ${version}`);
  const u32hex = (k: string): number => {
    const b = hex(o[k], `${at}.${k}`);
    if (b.byteLength !== 4) bad(`${at}.${k}`, 'expected 4 bytes');
    return Buffer.from(b).readUInt32BE(0);
  };
  return {
    id,
    version,
    issueDate: date(o['issueDate'], `${at}.issueDate`),
    nextUpdate: date(o['nextUpdate'], `${at}.nextUpdate`),
    tcbEvaluationDataNumber: num(o['tcbEvaluationDataNumber'], `${at}.tcbEvaluationDataNumber`),
    miscSelect: u32hex('miscselect'),
    miscSelectMask: u32hex('miscselectMask'),
    attributes: hex(o['attributes'], `${at}.attributes`),
    attributesMask: hex(o['attributesMask'], `${at}.attributesMask`),
    mrSigner: hex(o['mrsigner'], `${at}.mrsigner`),
    isvProdId: num(o['isvprodid'], `${at}.isvprodid`),
    tcbLevels: isvLevels(o['tcbLevels'], `${at}.tcbLevels`),
  };
}
