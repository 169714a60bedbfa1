import type { SnpProduct } from '#src/tee/index.js';
import {
  DER_INTEGER,
  DER_OCTET_STRING,
  DerReader,
  certificateExtensions,
  derUint,
} from '../der.js';
import { malformedInput } from '../errors.js';

/** AMD VCEK/VLEK certificate extensions (AMD spec 57230, OIDs 1.3.6.1.4.1.3704.1.*). */
export interface VekExtensions {
  readonly structVersion: number | undefined;
  readonly productName: string;
  readonly product: SnpProduct | undefined;
  readonly blSpl: number;
  readonly teeSpl: number;
  readonly snpSpl: number;
  readonly ucodeSpl: number;
  readonly fmcSpl: number | undefined;
  /** 64 bytes (Milan/Genoa) or 8 bytes (Turin); absent on VLEKs. */
  readonly hwId: Uint8Array | undefined;
  readonly cspId: string | undefined;
}

const OID = '1.3.6.1.4.1.3704.1';

function fail(why: string): never {
  throw malformedInput('ERR_SNP_VCEK_EXTENSIONS', `snp endorsement key certificate: ${why}`);
}

function intExt(
  exts: Map<string, Uint8Array>,
  oid: string,
  name: string,
  required: boolean,
): number | undefined {
  const v = exts.get(oid);
  if (!v) {
    if (required) fail(`extension ${name} (${oid}) missing`);
    return undefined;
  }
  const node = new DerReader(v, name, 'ERR_SNP_VCEK_EXTENSIONS').next(DER_INTEGER);
  return derUint(node.content);
}

function stringExt(exts: Map<string, Uint8Array>, oid: string): string | undefined {
  const v = exts.get(oid);
  if (!v) return undefined;
  if (v[0] === 0x16 || v[0] === 0x0c || v[0] === 0x13)
    return Buffer.from(new DerReader(v, oid, 'ERR_SNP_VCEK_EXTENSIONS').next().content).toString(
      'utf8',
    );
  return Buffer.from(v).toString('utf8');
}

/** The product line a KDS product name ("Milan-B0", "Genoa", "Turin") belongs to. */
export function productOfName(name: string): SnpProduct | undefined {
  const n = name.toLowerCase();
  if (n.startsWith('milan')) return 'milan';
  if (n.startsWith('genoa')) return 'genoa';
  if (n.startsWith('turin')) return 'turin';
  return undefined;
}

/** hwID is either the raw bytes (every KDS VCEK so far) or a DER OCTET STRING wrapping them. */
function hwIdOf(v: Uint8Array | undefined): Uint8Array | undefined {
  if (!v) return undefined;
  if (v.byteLength === 64 || v.byteLength === 8) return v.slice();
  if (v[0] === DER_OCTET_STRING) {
    const inner = new DerReader(v, 'hwID', 'ERR_SNP_VCEK_EXTENSIONS').next(
      DER_OCTET_STRING,
    ).content;
    if (inner.byteLength === 64 || inner.byteLength === 8) return inner.slice();
  }
  fail(`hwID extension has ${v.byteLength} bytes, expected 64 or 8`);
}

export function parseVekExtensions(der: Uint8Array): VekExtensions {
  const exts = certificateExtensions(
    der,
    'snp endorsement key certificate',
    'ERR_SNP_VCEK_EXTENSIONS',
  );
  const productName = stringExt(exts, `${OID}.2`) ?? fail('productName extension missing');
  const product = productOfName(productName);
  return {
    structVersion: intExt(exts, `${OID}.1`, 'structVersion', false),
    productName,
    product,
    blSpl: intExt(exts, `${OID}.3.1`, 'blSPL', true) ?? 0,
    teeSpl: intExt(exts, `${OID}.3.2`, 'teeSPL', true) ?? 0,
    snpSpl: intExt(exts, `${OID}.3.3`, 'snpSPL', true) ?? 0,
    ucodeSpl: intExt(exts, `${OID}.3.8`, 'ucodeSPL', true) ?? 0,
    fmcSpl: intExt(exts, `${OID}.3.9`, 'fmcSPL', product === 'turin'),
    hwId: hwIdOf(exts.get(`${OID}.4`)),
    cspId: stringExt(exts, `${OID}.5`),
  };
}
