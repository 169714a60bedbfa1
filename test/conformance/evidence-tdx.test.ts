import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  createVerifier,
  evaluateTdxTcb,
  loadTdxCollateral,
  parsePckExtensions,
  parsePcsSignedJson,
  parseQeIdentity,
  parseTdxTcbInfo,
  staticCollateralProvider,
  type Claims,
  type TdxCollateral,
} from '#attestation/verifier/index.js';
import { encodeCcel, parseTdxQuote } from '#src/tee/index.js';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';
import { X509Certificate } from 'node:crypto';

const EVIDENCE = join(PROJECT_ROOT, '..', 'shared', 'testdata', 'evidence');
const HAVE = existsSync(join(EVIDENCE, 'tdx'));
if (!HAVE) console.log(`skipping TDX evidence conformance: ${EVIDENCE} is missing`);
const tdx = (...p: string[]): string => join(EVIDENCE, 'tdx', ...p);
const quoteOf = (name: string): Uint8Array =>
  name.endsWith('_hex')
    ? new Uint8Array(
        Buffer.from(readFileSync(tdx(name, 'quote.hex'), 'utf8').trim().replace(/^0x/, ''), 'hex'),
      )
    : new Uint8Array(readFileSync(tdx(name, 'quote.bin')));

/** Facts from shared/testdata/evidence/README.md, per quote folder. */
export const TDX_FACTS = {
  gotdx_spr_e4_v4: {
    version: 4,
    user_data: '739c3f292a15bace1f726351a70d4b7900000000',
    tcb_svn: '03000400000000000000000000000000',
    mr_seam:
      '2fd279c16164a93dd5bf373d834328d46008c2b693af9ebb865b08b2ced320c9a89b4869a9fab60fbe9d0c5a5363c656',
    td_attributes: '0000004000000000',
    xfam: 'e71a060000000000',
    mr_td:
      '6363b8043668a3ad953278e10389574d326c6749fb78aa810ecd9336923db86f22fc00b8dcd404bc10d5e119d7215cbb',
    mr_config_id:
      '000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
    rtmr_0:
      '2927da70461cd63266f43230cc1849c03ef25ebe490062a801d8fcc80af42976823adf08f833c1e50b51779c6593f32a',
    rtmr_1:
      '2c700b8ba9b85783f8be9fb9443647bdc0bb3c50747f06297cc6538c25a5f589c4b56d035c59107c6bc5800db2cacb61',
    rtmr_2:
      '8652f0caaba7e215ea442dc36a4499d8fec3362f3a0b2ca151cbe4b3e6466fe59c7368b3c2287fc7c3bf5c924eb4424e',
    rtmr_3:
      '000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
    report_data:
      '6c62dec1b8191749a31dab490be532a35944dea47caef1f980863993d9899545eb7406a38d1eed313b987a467dacead6f0c87a6d766c66f6f29f8acb281f1113',
  },
  gotdx_v5_sample: {
    version: 5,
    user_data: 'ba103c0e5dffa40351f9d5dd559888eb00000000',
    tcb_svn: '0b010400000000000000000000000000',
    mr_seam:
      '7bf063280e94fb051f5dd7b1fc59ce9aac42bb961df8d44b709c9b0ff87a7b4df648657ba6d1189589feab1d5a3c9a9d',
    td_attributes: '0000001000000000',
    xfam: 'e702060000000000',
    mr_td:
      '7348651a34b2d2d3462822e3a750ec6110125f36757c78480bbfc69cc0d21fb001a1ced3ee19747dda8f750c3bc8f876',
    mr_config_id:
      '000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
    rtmr_0:
      '5c8daf76063a71ac8fcef4067564661fc682ed7944c7a5d21dbbced02f61ceff4ba0678c6aef3bdae8cbc614cec24619',
    rtmr_1:
      '463acaace1b6e97c76e92e41fe312aa66f3fd4dad60ec7acf169859db0343e3d1e591646795cdc80fbc0ca5f7041d253',
    rtmr_2:
      '6369b9c9a3b791ebcbdc5a0bb9536cfb57f50df2b393b33c8b29616d3568baa61f4b59dc6092e31ea8764bcbdfc69f20',
    rtmr_3:
      '000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
    report_data:
      '945eaacf5abc1f719d8666a942fda03d1edcb4490277396093dc5a5289ab9f1e094aed63060cd4a4933a4dd537ed1255c9c79ecb3ed82cd1b486233e31c25c3a',
  },
  gotdx_gcp_cos113_v4: {
    version: 4,
    user_data: '0000000000000000000000000000000000000000',
    tcb_svn: '04010700000000000000000000000000',
    mr_seam:
      'ffc97a88587660fb04e1f7c851300c96ae0b5a463ac46d035d16c2d9f36d0ed1d23775bcbd27deb219e3a3cc28023895',
    td_attributes: '0000001000000000',
    xfam: 'e700060000000000',
    mr_td:
      'dae67181d3d65e073ad8f95b7907d5e927bfe9761c9ff3e9b89734a45d8954dba41394c7717cb2735396c1d04231f94a',
    mr_config_id:
      '000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
    rtmr_0:
      '3fa2f61f395b7f5feefb4ec2df61297f109ad8abcd6410c1b7df60f21f37b19297fc35e544039c7e1edece752afd17f6',
    rtmr_1:
      'f62dbc072bd5d3f3438b7b35c39a727f5aea2ffc2473f43723953f530daf62504f0a7944aa62c41a86e8a878c2b122c1',
    rtmr_2:
      '4969684dc87381fc3b3134176c8d8806eaf0a901859f5f70cfae8d17714b46c10a8de219048c9fc09f11f381a6fbe7c1',
    rtmr_3:
      '000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
    report_data:
      '00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
  },
  dcapqvl_b0c06f_v4: {
    version: 4,
    user_data: '889b7d6ff9df2405b240a830e73faf3d00000000',
    tcb_svn: '06010300000000000000000000000000',
    mr_seam:
      '5b38e33a6487958b72c3c12a938eaa5e3fd4510c51aeeab58c7d5ecee41d7c436489d6c8e4f92f160b7cad34207b00c1',
    td_attributes: '0000001000000000',
    xfam: 'e702060000000000',
    mr_td:
      '91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7',
    mr_config_id:
      '000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
    rtmr_0:
      '44c0197b39157fdd7a4dcc44767f9d6b0bb3977c7a8e347b8492f827fe9d9e5c48aca29b220b80b6a540cf994b9bc9c0',
    rtmr_1:
      '0084452c01668329d4bc06acdf58a7205c26743304509973949e5619bf81a6a7aea8c323c173019b3093d54e579e9378',
    rtmr_2:
      'd833feef2cd945148aa38ead2c53e9b7f138190aaaebfc551dccd829fc207aa3ba80b70870d7330733642e01d48c3132',
    rtmr_3:
      '000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
    report_data:
      '9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9eca3efdbb481601c163cf52493d6e44aed55d51ec39b7e518fadb92c2b523f20',
  },
  dcapqvl_b0c06f_v4_hex: {
    version: 4,
    user_data: '83fbfe61525f55581315cd9dc950f44700000000',
    tcb_svn: '05010200000000000000000000000000',
    mr_seam:
      '1cc6a17ab799e9a693fac7536be61c12ee1e0fabada82d0c999e08ccee2aa86de77b0870f558c570e7ffe55d6d47fa04',
    td_attributes: '0000001000000000',
    xfam: 'e702060000000000',
    mr_td:
      '7ba9e262ce6979087e34632603f354dd8f8a870f5947d116af8114db6c9d0d74c48bec4280e5b4f4a37025a10905bb29',
    mr_config_id:
      '000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
    rtmr_0:
      '4574c098915caf3e82057817dbd135c1ed0ee1b39ac300c921479e2f5ebf5726a13ee0c8745ac891b6aee7c4f9664610',
    rtmr_1:
      '000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
    rtmr_2:
      '000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
    rtmr_3:
      '547fcba4630bfb981169a8a1903b79c244933413409dd0387acbd8e3b985bcc9164cf52735cd31f60bf2c5d1220c113f',
    report_data:
      '7148f47ef58b475fce69b386e2d6b4c964a9533cc328ea8e544db66612a5174698d006951cefa8fd4450e884300638e567e22f9a012ef5754aa6a9d9564fcd8a',
  },
  dcapqvl_90c06f_v5_outdated: {
    version: 5,
    user_data: 'dd130a3f3a9e91528dafeb58cc82c33b00000000',
    tcb_svn: '07010300000000000000000000000000',
    mr_seam:
      '49b66faa451d19ebbdbe89371b8daf2b65aa3984ec90110343e9e2eec116af08850fa20e3b1aa9a874d77a65380ee7e6',
    td_attributes: '0000001000000000',
    xfam: 'e718060000000000',
    mr_td:
      '273828c46252fcbdd8ad2dd907130222b03466d52a2911d70c1a5950895d6bd1ae451d382d5a9b1b4c0ed0e5ae9a3dbd',
    mr_config_id:
      '000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
    rtmr_0:
      '000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
    rtmr_1:
      '000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
    rtmr_2:
      '000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
    rtmr_3:
      '000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
    report_data:
      'd2142b643598eb5fae2bc8529dd79a558b29f868ccbb6531cb28dab9dce477280000000000000000000000000000000000000000000000000000000000000000',
  },
  trustee_50806f_v4: {
    version: 4,
    user_data: 'd099bfec0a477aa85a605dceabf2b10800000000',
    tcb_svn: '03000500000000000000000000000000',
    mr_seam:
      '2fd279c16164a93dd5bf373d834328d46008c2b693af9ebb865b08b2ced320c9a89b4869a9fab60fbe9d0c5a5363c656',
    td_attributes: '0100001000000000',
    xfam: 'e742060000000000',
    mr_td:
      '705ee9381b8633a9fbe532b52345e8433343d2868959f57889d84ca377c395b689cac1599ccea1b7d420483a9ce5f031',
    mr_config_id:
      '000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
    rtmr_0:
      'e940da7c2712d2790e2961e00484f4fa8e6f9eed71361655ae22699476b14f9e63867eb41edd4b480fef0c59f496b288',
    rtmr_1:
      '559cfcf42716ed6c40a48a73d5acb7da255435012f0a9f00fbe8c1c57612ede486a5684c4c9ff3ddf52315fcdca3a596',
    rtmr_2:
      '000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
    rtmr_3:
      '000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
    report_data:
      '7c71fe2c86eff65a7cf8dbc22b3275689fd0464a267baced1bf94fc1324656aeb755da3d44d098c0c87382f3a5f85b45c8a28fee1d3bdb38342bf96671501429',
  },
  trustee_90c06f_v5: {
    version: 5,
    user_data: 'da2c7e326c5696889a6a6ab4f8a64b1700000000',
    tcb_svn: '05010200000000000000000000000000',
    mr_seam:
      '1cc6a17ab799e9a693fac7536be61c12ee1e0fabada82d0c999e08ccee2aa86de77b0870f558c570e7ffe55d6d47fa04',
    td_attributes: '0000001000000000',
    xfam: 'e742060000000000',
    mr_td:
      'dfba221b48a22af8511542ee796603f37382800840dcd978703909bf8e64d4c8a1e9de86e7c9638bfcba422f3886400a',
    mr_config_id:
      '000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
    rtmr_0:
      '9b529f3689e2e8ebb899e9abbbc3dab394d6545e8cdb28a2abb9cc2f377b83a65c01ba56b824cd3ee885df20051f5128',
    rtmr_1:
      'ca5a979317ffe8a527a3b7aadab03976d7cb6eef1041fb9bd9d69e6fafa7252cdc10e4c2a55e7ecbd2ddb5cacc867430',
    rtmr_2:
      '000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
    rtmr_3:
      '000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
    report_data:
      '6d6ab13b046cff606ac0074be13981b07b6325dba10b5facc96febf551c0c3be2b75f92fe1f88f4bb996969ad0174b4b7a70261b7b85c844f4b33a4674fd049f',
  },
  trustee_azure_00806f05_v4: {
    version: 4,
    user_data: 'f17eac112e4cd9a0fafce1b46b5af18f00000000',
    tcb_svn: '02010600000000000000000000000000',
    mr_seam:
      '360304d34a16aace0a18e09ad2d07d2b9fd3c174378e5bf108388079827f89ff62acc5f8c473dd40706324834e202946',
    td_attributes: '0000000000000000',
    xfam: 'e718060000000000',
    mr_td:
      '024a32b070383331181619fa387cb4d55d1e38879f989933055ccad5bc2db795d1737b66205949d15469dc8c1ba7ab7b',
    mr_config_id:
      '000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
    rtmr_0:
      '000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
    rtmr_1:
      '000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
    rtmr_2:
      '000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
    rtmr_3:
      '000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
    report_data:
      '9734504f161d104c74e3165c15f779b06a9bb40dfa71937817d7eee68e5938390000000000000000000000000000000000000000000000000000000000000000',
  },
} as const;

/** Times inside each quote's recorded validity window (README). */
const AT = {
  spr2023: new Date('2023-07-01T01:00:00Z'),
  b0c06f: new Date('2025-07-19T10:00:34Z'),
  c06f2026: new Date('2026-03-20T10:41:14Z'),
  v5sample: new Date('2026-02-03T01:00:00Z'),
};

function expectQuoteClaims(claims: Claims, name: keyof typeof TDX_FACTS): void {
  const f = TDX_FACTS[name];
  const { version, user_data, ...body } = f;
  const quote = claims['quote'] as { header: Record<string, string>; body: Record<string, string> };
  expect(quote.header).toMatchObject({
    version: version === 4 ? '0400' : '0500',
    att_key_type: '0200',
    tee_type: '81000000',
    vendor_id: '939a7233f79c4ca9940a0db3957f0607',
    user_data,
  });
  expect(quote.body).toMatchObject(body);
  expect(claims['report_data']).toBe(f.report_data);
  expect(claims['init_data']).toBeUndefined();
}

async function collateralOf(name: string): Promise<TdxCollateral> {
  const dir = tdx(name);
  return loadTdxCollateral(
    existsSync(join(dir, 'collateral.json')) ? join(dir, 'collateral.json') : dir,
  );
}

describe.skipIf(!HAVE)('TDX evidence conformance (shared/testdata/evidence/tdx)', () => {
  const plain = createVerifier('tdx');

  test.each([
    ['gotdx_spr_e4_v4', AT.spr2023],
    ['gotdx_v5_sample', AT.v5sample],
    ['gotdx_gcp_cos113_v4', undefined],
    ['dcapqvl_b0c06f_v4', AT.b0c06f],
    ['dcapqvl_b0c06f_v4_hex', AT.b0c06f],
    ['dcapqvl_90c06f_v5_outdated', AT.c06f2026],
    ['trustee_50806f_v4', AT.spr2023],
    ['trustee_90c06f_v5', undefined],
    ['trustee_azure_00806f05_v4', undefined],
  ] as const)(
    '%s verifies without collateral and its claims equal the README facts',
    async (name, now) => {
      const claims = await plain.verify(quoteOf(name), {}, { now });
      expectQuoteClaims(claims, name);
      expect(claims['tcb_status']).toBeUndefined();
    },
  );

  test('the dcap-qvl b0c06f quote with its collateral bundle is UpToDate with no advisories', async () => {
    const v = createVerifier('tdx', {
      collateral: staticCollateralProvider(await collateralOf('dcapqvl_b0c06f_v4')),
    });
    const f = TDX_FACTS.dcapqvl_b0c06f_v4;
    const claims = await v.verify(
      { cc_eventlog: null, quote: Buffer.from(quoteOf('dcapqvl_b0c06f_v4')).toString('base64') },
      { reportData: Buffer.from(f.report_data, 'hex') },
      { now: AT.b0c06f },
    );
    expect(claims['tcb_status']).toBe('UpToDate');
    expect(claims['advisory_ids']).toEqual([]);
    expect(claims['td_attributes']).toEqual({
      debug: false,
      septve_disable: true,
      protection_keys: false,
      key_locker: false,
      perfmon: false,
    });
    expectQuoteClaims(claims, 'dcapqvl_b0c06f_v4');
  });

  test('the trustee 50806f quote with the 2023 go-tdx-guest collateral folder is UpToDate', async () => {
    const v = createVerifier('tdx', {
      collateral: staticCollateralProvider(await collateralOf('gotdx_spr_e4_v4')),
    });
    const claims = await v.verify(quoteOf('trustee_50806f_v4'), {}, { now: AT.spr2023 });
    expect(claims['tcb_status']).toBe('UpToDate');
    expect((claims['td_attributes'] as Record<string, boolean>)['debug']).toBe(true);
  });

  test.each([
    ['dcapqvl_90c06f_v5_outdated', 'dcapqvl_90c06f_v5_outdated', AT.c06f2026],
    ['dcapqvl_b0c06f_v4_hex', 'dcapqvl_b0c06f_v4', AT.b0c06f],
    ['gotdx_spr_e4_v4', 'gotdx_spr_e4_v4', AT.spr2023],
    ['trustee_90c06f_v5', 'dcapqvl_90c06f_v5_outdated', AT.c06f2026],
  ])('%s with collateral %s fails: no TCB level matches', async (quote, coll, now) => {
    const v = createVerifier('tdx', {
      collateral: staticCollateralProvider(await collateralOf(coll)),
    });
    await expect(v.verify(quoteOf(quote), {}, { now })).rejects.toMatchObject({
      code: 'ERR_TDX_TCB_LEVEL_NOT_SUPPORTED',
      kind: 'permission_denied',
    });
  });

  test.each([
    ['trustee_50806f_v4', 'gotdx_spr_e4_v4', new Date('2026-11-22T00:00:00Z')],
    ['dcapqvl_b0c06f_v4', 'dcapqvl_b0c06f_v4', new Date('2025-07-19T10:16:04Z')],
    ['dcapqvl_b0c06f_v4', 'dcapqvl_b0c06f_v4', new Date('2025-06-19T10:00:00Z')],
  ])(
    '%s with collateral %s is refused at %s: collateral outside its validity window',
    async (quote, coll, now) => {
      const v = createVerifier('tdx', {
        collateral: staticCollateralProvider(await collateralOf(coll)),
      });
      await expect(v.verify(quoteOf(quote), {}, { now })).rejects.toMatchObject({
        code: 'ERR_TDX_COLLATERAL_EXPIRED',
      });
    },
  );

  test('a collateral bundle for another FMSPC is refused', async () => {
    const v = createVerifier('tdx', {
      collateral: staticCollateralProvider(await collateralOf('dcapqvl_b0c06f_v4')),
    });
    await expect(
      v.verify(quoteOf('trustee_50806f_v4'), {}, { now: AT.b0c06f }),
    ).rejects.toMatchObject({ code: 'ERR_TDX_FMSPC_MISMATCH' });
  });

  test.each([
    ['tcb_info', 'ERR_TDX_TCB_INFO_SIGNATURE'],
    ['qe_identity', 'ERR_TDX_QE_IDENTITY_SIGNATURE'],
  ] as const)(
    'collateral whose %s text was altered fails its signature check',
    async (field, code) => {
      const c = await collateralOf('dcapqvl_b0c06f_v4');
      const key = field === 'tcb_info' ? 'tcbInfoJson' : 'qeIdentityJson';
      const altered = { ...c, [key]: c[key].replace('"version":', '"version" :') };
      const v = createVerifier('tdx', { collateral: staticCollateralProvider(altered) });
      await expect(
        v.verify(quoteOf('dcapqvl_b0c06f_v4'), {}, { now: AT.b0c06f }),
      ).rejects.toMatchObject({ code });
    },
  );

  test('a PCK CRL not issued by the PCK certificate issuer is refused', async () => {
    const c = await collateralOf('dcapqvl_b0c06f_v4');
    const v = createVerifier('tdx', {
      collateral: staticCollateralProvider({ ...c, pckCrl: c.rootCaCrl ?? new Uint8Array() }),
    });
    await expect(
      v.verify(quoteOf('dcapqvl_b0c06f_v4'), {}, { now: AT.b0c06f }),
    ).rejects.toMatchObject({ code: 'ERR_TDX_CRL' });
  });

  test.each([
    ['attestation_key_bit_flipped', 'ERR_TDX_QE_REPORT_DATA'],
    ['mrtd_bit_flipped', 'ERR_TDX_QUOTE_SIGNATURE'],
    ['pck_leaf_signature_corrupted', 'ERR_TDX_PCK_CHAIN'],
    ['qe_report_bit_flipped', 'ERR_TDX_QE_REPORT_SIGNATURE'],
    ['reportdata_bit_flipped', 'ERR_TDX_QUOTE_SIGNATURE'],
    ['tee_type_sgx', 'ERR_TDX_QUOTE_UNSUPPORTED'],
    ['truncated_1000', 'ERR_TDX_QUOTE_MALFORMED'],
  ])('the tampered quote %s is rejected with %s', async (name, code) => {
    const raw = new Uint8Array(readFileSync(tdx('negative', `dcapqvl_b0c06f_v4__${name}.bin`)));
    await expect(plain.verify(raw, {}, { now: AT.b0c06f })).rejects.toMatchObject({
      code,
      name: 'VerifierError',
    });
  });

  test('report data and initdata bindings are checked', async () => {
    const f = TDX_FACTS.dcapqvl_b0c06f_v4;
    const q = quoteOf('dcapqvl_b0c06f_v4');
    await expect(
      plain.verify(q, { reportData: new Uint8Array(64) }, { now: AT.b0c06f }),
    ).rejects.toMatchObject({ code: 'ERR_REPORT_DATA_MISMATCH', kind: 'permission_denied' });
    await expect(
      plain.verify(q, { initDataDigest: new Uint8Array(32).fill(1) }, { now: AT.b0c06f }),
    ).rejects.toMatchObject({ code: 'ERR_INIT_DATA_MISMATCH' });
    await expect(
      plain.verify(
        q,
        { reportData: Buffer.from(f.report_data, 'hex'), initDataDigest: new Uint8Array(48) },
        { now: AT.b0c06f },
      ),
    ).resolves.toBeDefined();
  });

  test('a PCK chain outside its validity period is refused', async () => {
    await expect(
      plain.verify(quoteOf('dcapqvl_b0c06f_v4'), {}, { now: new Date('2024-01-01T00:00:00Z') }),
    ).rejects.toMatchObject({ code: 'ERR_TDX_PCK_CHAIN' });
  });

  test('a CC event log is replayed against the RTMRs', async () => {
    const q = Buffer.from(quoteOf('trustee_azure_00806f05_v4')).toString('base64');
    const empty = Buffer.from(encodeCcel([])).toString('base64');
    const claims = await plain.verify({ cc_eventlog: empty, quote: q }, {});
    expect(claims['ccel']).toEqual({});
    expect(claims['uefi_event_logs']).toEqual([]);
    const one = Buffer.from(
      encodeCcel([
        {
          mrIndex: 1,
          eventType: 0x80000001,
          digest: new Uint8Array(48).fill(7),
          data: new Uint8Array(4),
        },
      ]),
    ).toString('base64');
    await expect(plain.verify({ cc_eventlog: one, quote: q }, {})).rejects.toMatchObject({
      code: 'ERR_TDX_CCEL_RTMR_MISMATCH',
    });
    await expect(plain.verify({ cc_eventlog: 'AAAA', quote: q }, {})).rejects.toMatchObject({
      code: 'ERR_TDX_CCEL_MALFORMED',
    });
  });

  test('the gotdx v5 sample evaluates UpToDate against its TCB info and the TD_QE identity (Intel algorithm)', () => {
    const quote = parseTdxQuote(quoteOf('gotdx_v5_sample'));
    const tcb = parsePcsSignedJson(
      readFileSync(tdx('gotdx_v5_sample', 'tcbinfo_fmspc_90c06f000000.json'), 'utf8'),
      'tcbInfo',
      'tcbinfo',
    );
    const qe = parsePcsSignedJson(
      readFileSync(tdx('gotdx_spr_e4_v4', 'qe_identity_td_qe.json'), 'utf8'),
      'enclaveIdentity',
      'qe',
    );
    const leaf = new X509Certificate(
      `${quote.certification.pckCertChainPem.split('-----END CERTIFICATE-----')[0] ?? ''}-----END CERTIFICATE-----\n`,
    );
    const pck = parsePckExtensions(new Uint8Array(leaf.raw));
    expect(Buffer.from(pck.fmspc).toString('hex')).toBe('90c06f000000');
    expect(pck.tcbCompSvns).toEqual([4, 4, 2, 2, 4, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(pck.pceSvn).toBe(13);
    const r = evaluateTdxTcb(
      parseTdxTcbInfo(tcb.json),
      parseQeIdentity(qe.json),
      pck,
      quote.body,
      quote.certification.qeReport,
    );
    expect(r).toMatchObject({
      status: 'UpToDate',
      platformStatus: 'UpToDate',
      tdxModuleId: 'TDX_01',
      tdxModuleStatus: 'UpToDate',
      qeStatus: 'UpToDate',
      platformTcbDate: '2024-11-13T00:00:00Z',
    });
  });

  test('evidence JSON with wrong members is malformed, not a crash', async () => {
    await expect(plain.verify({ quote: 'not base64!' }, {})).rejects.toMatchObject({
      code: 'ERR_EVIDENCE_MALFORMED',
      kind: 'invalid_argument',
    });
    await expect(plain.verify({ quote: '', extra: 1 }, {})).rejects.toMatchObject({
      code: 'ERR_EVIDENCE_MALFORMED',
    });
    await expect(plain.verify(42, {})).rejects.toMatchObject({ code: 'ERR_EVIDENCE_MALFORMED' });
  });

  test('every truncation of a genuine quote fails with a VerifierError, never a crash', async () => {
    const raw = quoteOf('trustee_90c06f_v5');
    for (let cut = 0; cut < raw.byteLength; cut += 1) {
      const err: unknown = await plain.verify(raw.subarray(0, cut), {}).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, `cut at ${cut}`).toMatchObject({
        name: 'VerifierError',
        kind: 'invalid_argument',
      });
    }
  });

  test('requireCollateral refuses a quote when the provider has none', async () => {
    const v = createVerifier('tdx', {
      requireCollateral: true,
      collateral: { getCollateral: () => Promise.resolve(undefined) },
    });
    await expect(v.verify(quoteOf('trustee_azure_00806f05_v4'), {})).rejects.toMatchObject({
      code: 'ERR_TDX_COLLATERAL_MISSING',
    });
  });

  test('an aborted signal cancels verification', async () => {
    await expect(
      plain.verify(quoteOf('dcapqvl_b0c06f_v4'), {}, { signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({ kind: 'cancelled' });
  });
});
