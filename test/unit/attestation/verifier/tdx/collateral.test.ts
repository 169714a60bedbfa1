import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import {
  createVerifier,
  directoryCollateralProvider,
  loadTdxCollateral,
  parseCollateralBundle,
  parsePcsSignedJson,
  staticCollateralProvider,
} from '#attestation/verifier/index.js';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';
import { readFileSync } from 'node:fs';

const TDX = join(PROJECT_ROOT, '..', 'shared', 'testdata', 'evidence', 'tdx');
const HAVE = existsSync(TDX);
if (!HAVE) console.log(`skipping collateral tests on real collateral: ${TDX} is missing`);

let dir = '';
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = '';
});

describe('collateral formats', () => {
  test.each([
    ['not json', /not JSON/],
    ['[]', /expected an object/],
    ['{"tcb_info": "x"}', /tcb_info_signature/],
  ])('a malformed bundle %j is rejected with the field', (text, re) => {
    expect(() => parseCollateralBundle(text)).toThrow(re);
    expect(() => parseCollateralBundle(text)).toThrow(
      expect.objectContaining({ code: 'ERR_TDX_COLLATERAL_MALFORMED' }),
    );
  });

  test('a PCS body without the signed member is rejected', () => {
    expect(() => parsePcsSignedJson('{"signature":"00"}', 'tcbInfo', 'tcb.json')).toThrow(
      /tcbInfo/,
    );
    expect(() => parsePcsSignedJson('{"tcbInfo":{},"signature":7}', 'tcbInfo', 'tcb.json')).toThrow(
      /signature/,
    );
  });

  test.skipIf(!HAVE)(
    'the folder loader finds every file of the go-tdx-guest collateral set',
    async () => {
      const c = await loadTdxCollateral(join(TDX, 'gotdx_spr_e4_v4'));
      expect(c.tcbInfoJson.startsWith('{"id":"TDX"') || c.tcbInfoJson.startsWith('{')).toBe(true);
      expect(c.tcbInfoSignature.byteLength).toBe(64);
      expect(c.qeIdentityIssuerChainPem).toBe(c.tcbInfoIssuerChainPem);
      expect(c.rootCaCrl).toBeUndefined();
      expect(c.pckCrl.byteLength).toBe(2663);
    },
  );

  test.skipIf(!HAVE)('the directory provider answers by FMSPC and nothing else', async () => {
    dir = await mkdtemp(join(tmpdir(), 'collateral-'));
    await copyFile(
      join(TDX, 'dcapqvl_b0c06f_v4', 'collateral.json'),
      join(dir, 'b0c06f000000.json'),
    );
    const p = directoryCollateralProvider(dir);
    expect(await p.getCollateral({ fmspc: '90c06f000000', ca: 'platform' })).toBeUndefined();
    expect(await p.getCollateral({ fmspc: '../etc/xx', ca: 'platform' })).toBeUndefined();
    const v = createVerifier('tdx', { collateral: p, requireCollateral: true });
    const quote = new Uint8Array(readFileSync(join(TDX, 'dcapqvl_b0c06f_v4', 'quote.bin')));
    const claims = await v.verify(quote, {}, { now: new Date('2025-07-19T10:00:00Z') });
    expect(claims['tcb_status']).toBe('UpToDate');
  });

  test.skipIf(!HAVE)('a folder with the Intel root CA CRL has it checked too', async () => {
    dir = await mkdtemp(join(tmpdir(), 'collateral-'));
    const src = join(TDX, 'gotdx_spr_e4_v4');
    for (const f of [
      'tcbinfo_fmspc_50806f000000.json',
      'qe_identity_td_qe.json',
      'tcb_signing_chain.pem',
      'pck_crl_issuer_chain.pem',
      'pck_platform_crl.der',
    ])
      await copyFile(join(src, f), join(dir, f));
    await copyFile(
      join(TDX, 'roots', 'intel_sgx_root_ca_crl_2023-04-03.der'),
      join(dir, 'root_ca_crl.der'),
    );
    const c = await loadTdxCollateral(dir);
    expect(c.rootCaCrl?.byteLength).toBe(293);
    const v = createVerifier('tdx', { collateral: staticCollateralProvider(c) });
    const quote = new Uint8Array(readFileSync(join(TDX, 'trustee_50806f_v4', 'quote.bin')));
    await expect(
      v.verify(quote, {}, { now: new Date('2023-07-01T01:00:00Z') }),
    ).resolves.toMatchObject({ tcb_status: 'UpToDate' });
    const badCrl = { ...c, rootCaCrl: c.pckCrl };
    await expect(
      createVerifier('tdx', { collateral: staticCollateralProvider(badCrl) }).verify(
        quote,
        {},
        { now: new Date('2023-07-01T01:00:00Z') },
      ),
    ).rejects.toMatchObject({ code: 'ERR_TDX_CRL' });
  });
});
