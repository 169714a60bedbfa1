import {
  DER_INTEGER,
  DER_OCTET_STRING,
  DER_OID,
  DerReader,
  certificateExtensions,
  derUint,
  oidText,
} from '../der.js';
import { malformedInput } from '../errors.js';

/** Intel SGX PCK certificate extension (OID 1.2.840.113741.1.13.1) fields the TCB check needs. */
export interface PckExtensions {
  readonly ppid: Uint8Array;
  /** SGX TCB component SVNs 1..16. */
  readonly tcbCompSvns: readonly number[];
  readonly pceSvn: number;
  readonly cpuSvn: Uint8Array;
  readonly pceId: Uint8Array;
  readonly fmspc: Uint8Array;
}

export const SGX_EXTENSION_OID = '1.2.840.113741.1.13.1';

function fail(why: string): never {
  throw malformedInput('ERR_TDX_PCK_EXTENSIONS', `pck certificate sgx extension: ${why}`);
}

/** Reads the SGX extension of a PCK leaf certificate (DER). */
export function parsePckExtensions(certDer: Uint8Array): PckExtensions {
  const ext = certificateExtensions(certDer, 'pck certificate', 'ERR_TDX_PCK_EXTENSIONS').get(
    SGX_EXTENSION_OID,
  );
  if (!ext) fail(`extension ${SGX_EXTENSION_OID} missing`);
  const seq = new DerReader(ext, 'pck sgx extension', 'ERR_TDX_PCK_EXTENSIONS').next(0x30);
  const fields = new Map<string, ReturnType<DerReader['next']>>();
  for (const item of DerReader.children(seq, 'pck sgx extension', 'ERR_TDX_PCK_EXTENSIONS')) {
    const [oid, value] = DerReader.children(item, 'pck sgx extension', 'ERR_TDX_PCK_EXTENSIONS');
    if (oid?.tag === DER_OID && value) fields.set(oidText(oid.content), value);
  }
  const octets = (sub: string, len: number): Uint8Array => {
    const v = fields.get(`${SGX_EXTENSION_OID}.${sub}`);
    if (v?.tag !== DER_OCTET_STRING || v.content.byteLength !== len)
      fail(`field .${sub} missing or not ${len} bytes`);
    return v.content.slice();
  };
  const tcb = fields.get(`${SGX_EXTENSION_OID}.2`);
  if (!tcb) fail('TCB field .2 missing');
  const comps = new Map<string, ReturnType<DerReader['next']>>();
  for (const item of DerReader.children(tcb, 'pck sgx tcb', 'ERR_TDX_PCK_EXTENSIONS')) {
    const [oid, value] = DerReader.children(item, 'pck sgx tcb', 'ERR_TDX_PCK_EXTENSIONS');
    if (oid?.tag === DER_OID && value) comps.set(oidText(oid.content), value);
  }
  const intComp = (i: number): number => {
    const v = comps.get(`${SGX_EXTENSION_OID}.2.${i}`);
    if (v?.tag !== DER_INTEGER) fail(`TCB component .2.${i} missing`);
    return derUint(v.content);
  };
  const cpuSvn = comps.get(`${SGX_EXTENSION_OID}.2.18`);
  if (cpuSvn?.tag !== DER_OCTET_STRING) fail('CPUSVN .2.18 missing');
  return {
    ppid: octets('1', 16),
    tcbCompSvns: Array.from({ length: 16 }, (_, i) => intComp(i + 1)),
    pceSvn: intComp(17),
    cpuSvn: cpuSvn.content.slice(),
    pceId: octets('3', 2),
    fmspc: octets('4', 6),
  };
}
