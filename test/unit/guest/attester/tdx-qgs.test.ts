import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { createVerifier } from '#attestation/verifier/index.js';
import {
  QGS_MAX_FRAME,
  createTdxAttester,
  decodeQgsGetQuoteRequest,
  decodeQgsGetQuoteResponse,
  encodeQgsGetQuoteRequest,
  encodeQgsGetQuoteResponse,
  frameQgsMessage,
  parseTdxAttestPort,
  readQgsFrame,
  tdReportMrConfigId,
} from '#guest/attester/index.js';
import { parseTdxQuote } from '#src/tee/index.js';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';
import { tmpdir } from '#test/helpers/tmpdir.js';
import { answerQuote, fakeTdxGuest, startFakeQgs, type QgsBehaviour } from './fake-qgs.js';
import { fakeTsm } from './fake-tsm.js';

const TDX = join(PROJECT_ROOT, '..', 'shared', 'testdata', 'evidence', 'tdx');
const HAVE = existsSync(TDX);
if (!HAVE) console.log(`skipping tdx qgs tests: ${TDX} is missing`);
const quoteOf = (name: string): Uint8Array =>
  new Uint8Array(readFileSync(join(TDX, name, 'quote.bin')));

/** A GET_QUOTE_RESP with one header field changed. */
function patched(quote: Uint8Array, at: number, value: number, code = 0): Uint8Array {
  const m = Buffer.from(encodeQgsGetQuoteResponse(quote, code));
  m.writeUInt32LE(value, at);
  return m;
}

describe('createTdxAttester through /dev/tdx_guest and the QGS', () => {
  let dir: ReturnType<typeof tmpdir>;
  let qgs: Awaited<ReturnType<typeof startFakeQgs>> | undefined;
  beforeEach(() => {
    dir = tmpdir();
    mkdirSync(join(dir.path, 'dev'));
    mkdirSync(join(dir.path, 'etc'));
    writeFileSync(join(dir.path, 'dev', 'tdx_guest'), '');
    writeFileSync(join(dir.path, 'etc', 'tdx-attest.conf'), '# QGS\nport=4050\n');
  });
  afterEach(async () => {
    await qgs?.close();
    qgs = undefined;
    dir.remove();
  });

  const attester = async (behaviour: QgsBehaviour, mrConfigId?: Uint8Array) => {
    qgs = await startFakeQgs(dir.path, behaviour);
    const tdx = fakeTdxGuest(mrConfigId ? { mrConfigId } : {});
    const a = createTdxAttester({ root: dir.path, device: tdx.device, qgsConnect: qgs.connect });
    return { a, tdx, qgs };
  };

  test.skipIf(!HAVE)(
    'quotes the TDREPORT through the QGS; same evidence as configfs-tsm, accepted by the verifier',
    async () => {
      const quote = quoteOf('dcapqvl_b0c06f_v4');
      const rd = parseTdxQuote(quote).body.reportData;
      const { a, tdx, qgs: q } = await attester(answerQuote(quote));
      const evidence = await a.getEvidence(rd);
      expect(tdx.reportDatas).toEqual([rd]);
      expect(q.ports).toEqual([4050]);
      expect(q.requests).toHaveLength(1);
      expect(q.requests[0]?.length).toBe(1024);
      expect(q.requests[0]?.subarray(128, 192)).toEqual(rd);

      const tsmRoot = tmpdir();
      try {
        const { fs } = fakeTsm(tsmRoot.path, { provider: 'tdx_guest', outblob: quote });
        expect(evidence).toEqual(
          await createTdxAttester({ root: tsmRoot.path, fs }).getEvidence(rd),
        );
      } finally {
        tsmRoot.remove();
      }
      const claims = await createVerifier('tdx').verify(
        evidence,
        { reportData: rd },
        { now: new Date('2025-07-19T10:00:34Z') },
      );
      expect(claims['report_data']).toBe(Buffer.from(rd).toString('hex'));
    },
  );

  test('reads MRCONFIGID from the TDREPORT alone (no QGS round trip)', async () => {
    const mrConfigId = new Uint8Array(48).fill(0xc3);
    const { a, qgs: q } = await attester(answerQuote(new Uint8Array(8)), mrConfigId);
    expect(await a.initDataField?.()).toEqual(mrConfigId);
    expect(q.requests).toEqual([]);
  });

  test.skipIf(!HAVE)('refuses a quote for other report data than requested', async () => {
    const { a } = await attester(answerQuote(quoteOf('dcapqvl_b0c06f_v4')));
    await expect(a.getEvidence(new Uint8Array(64).fill(1))).rejects.toMatchObject({
      code: 'ERR_ATTESTER_EVIDENCE',
      message: expect.stringMatching(/other report data/),
    });
  });

  test('refuses a quote that does not parse', async () => {
    const { a } = await attester(answerQuote(new Uint8Array(700).fill(9)));
    await expect(a.getEvidence(new Uint8Array(64))).rejects.toMatchObject({
      code: 'ERR_ATTESTER_EVIDENCE',
      message: expect.stringMatching(/quote generation service .* malformed tdx quote/),
    });
  });

  const q8 = new Uint8Array(8).fill(1);
  test.each<[string, QgsBehaviour, RegExp, string]>([
    [
      'an error code',
      answerQuote(new Uint8Array(0), 0x12001),
      /0x12001 \(QGS_MSG_ERROR_UNEXPECTED\)/,
      'unavailable',
    ],
    [
      'a wrong size field',
      () => ({ bytes: frameQgsMessage(patched(q8, 8, 999)) }),
      /says it is 999 bytes/,
      'internal',
    ],
    [
      'a wrong message type',
      () => ({ bytes: frameQgsMessage(patched(q8, 4, 0)) }),
      /message type 0/,
      'internal',
    ],
    [
      'another major version',
      () => ({ bytes: frameQgsMessage(patched(q8, 0, 2)) }),
      /message version 2/,
      'internal',
    ],
    [
      'a quote_size that disagrees',
      () => ({ bytes: frameQgsMessage(patched(q8, 20, 7)) }),
      /do not match/,
      'internal',
    ],
    ['success with an empty quote', answerQuote(new Uint8Array(0)), /empty quote/, 'internal'],
    [
      'a frame shorter than its header',
      () => ({ bytes: frameQgsMessage(new Uint8Array(10)) }),
      /shorter than its 24-byte header/,
      'internal',
    ],
    [
      'a truncated frame',
      () => ({ bytes: frameQgsMessage(encodeQgsGetQuoteResponse(q8)).subarray(0, 20) }),
      /closed after 16 of 32 frame bytes/,
      'internal',
    ],
    [
      'a connection closed before the length',
      () => ({ bytes: new Uint8Array(2) }),
      /before a frame length/,
      'internal',
    ],
    [
      'an oversized frame length',
      () => {
        const b = Buffer.alloc(4);
        b.writeUInt32BE(QGS_MAX_FRAME + 1);
        return { bytes: b, close: false };
      },
      /announced a 131073-byte frame/,
      'internal',
    ],
    [
      'bytes after the frame',
      () => ({
        bytes: Buffer.concat([frameQgsMessage(encodeQgsGetQuoteResponse(q8)), Buffer.alloc(3)]),
      }),
      /3 bytes after its frame/,
      'internal',
    ],
  ])('refuses a QGS answer with %s', async (_n, behaviour, message, kind) => {
    const { a } = await attester(behaviour);
    await expect(a.getEvidence(new Uint8Array(64))).rejects.toMatchObject({
      code: 'ERR_ATTESTER_QGS',
      kind,
      message: expect.stringMatching(message),
    });
  });

  test('gives up on a QGS that never answers', async () => {
    qgs = await startFakeQgs(dir.path, () => ({ bytes: new Uint8Array(0), close: false }));
    const tdx = fakeTdxGuest();
    const a = createTdxAttester({ root: dir.path, device: tdx.device, qgsConnect: qgs.connect });
    await expect(
      a.getEvidence(new Uint8Array(64), { signal: AbortSignal.timeout(300) }),
    ).rejects.toMatchObject({
      code: 'ERR_ATTESTER_QGS',
      kind: 'unavailable',
      message: expect.stringMatching(/no answer/),
    });
  });

  test.each([
    ['is missing', undefined, /tdx-attest.conf is unreadable \(ENOENT\)/],
    ['names no port', '# nothing\n', /names no QGS vsock port/],
    ['names a bad port', 'port=70000000000\n', /is not a vsock port/],
  ])('explains when /etc/tdx-attest.conf %s', async (_n, text, message) => {
    const conf = join(dir.path, 'etc', 'tdx-attest.conf');
    if (text === undefined) rmSync(conf);
    else writeFileSync(conf, text);
    const { a, qgs: q } = await attester(answerQuote(q8));
    await expect(a.getEvidence(new Uint8Array(64))).rejects.toMatchObject({
      code: 'ERR_ATTESTER_QGS',
      message: expect.stringMatching(message),
    });
    expect(q.requests).toEqual([]);
  });

  test('reports the device errno', async () => {
    qgs = await startFakeQgs(dir.path, answerQuote(q8));
    const tdx = fakeTdxGuest({ errno: 'EIO' });
    const a = createTdxAttester({ root: dir.path, device: tdx.device, qgsConnect: qgs.connect });
    await expect(a.getEvidence(new Uint8Array(64))).rejects.toMatchObject({
      code: 'ERR_ATTESTER_IOCTL',
      message: expect.stringMatching(/dev\/tdx_guest TDX_CMD_GET_REPORT0: EIO/),
    });
  });

  test('without vsock on this host, the default QGS transport says so', async () => {
    const tdx = fakeTdxGuest();
    const a = createTdxAttester({ root: dir.path, device: tdx.device });
    await expect(a.getEvidence(new Uint8Array(64))).rejects.toMatchObject({
      code: 'ERR_ATTESTER_QGS',
      kind: 'unavailable',
      message: expect.stringMatching(/cannot connect to the quote generation service: .*vsock/),
    });
  });

  test('names both missing paths when there is neither configfs-tsm nor the device', async () => {
    const bare = tmpdir();
    try {
      await expect(
        createTdxAttester({ root: bare.path }).getEvidence(new Uint8Array(64)),
      ).rejects.toMatchObject({
        code: 'ERR_ATTESTER_UNAVAILABLE',
        message: expect.stringMatching(/neither configfs-tsm .* nor .*dev\/tdx_guest exists/),
      });
    } finally {
      bare.remove();
    }
  });

  test('returns the TDREPORT fields the fake driver set', () => {
    const r = new Uint8Array(1024);
    r.fill(4, 576, 624);
    expect(tdReportMrConfigId(r)).toEqual(new Uint8Array(48).fill(4));
  });
});

describe('QGS messages', () => {
  test('a request round-trips and carries the TDREPORT after a 24-byte header', () => {
    const report = new Uint8Array(1024).map((_, i) => i & 0xff);
    const msg = encodeQgsGetQuoteRequest(report);
    expect(msg.length).toBe(24 + 1024);
    // major 1, minor 1, type 0 (GET_QUOTE_REQ), size 1048, error 0 — all little-endian
    expect(Buffer.from(msg.subarray(0, 16)).toString('hex')).toBe(
      '01000100000000001804000000000000',
    );
    expect(decodeQgsGetQuoteRequest(msg)).toEqual(report);
  });

  test('a response round-trips, and an id list before the quote is skipped', () => {
    const quote = new Uint8Array([1, 2, 3]);
    expect(decodeQgsGetQuoteResponse(encodeQgsGetQuoteResponse(quote))).toEqual(quote);
    const withId = Buffer.from(encodeQgsGetQuoteResponse(Buffer.from([9, 9, 1, 2, 3])));
    withId.writeUInt32LE(2, 16);
    withId.writeUInt32LE(3, 20);
    expect(decodeQgsGetQuoteResponse(withId)).toEqual(quote);
  });

  test('reads the same frame however the bytes are split', async () => {
    const wire = frameQgsMessage(encodeQgsGetQuoteResponse(new Uint8Array(40).fill(7)));
    for (let cut = 0; cut <= wire.length; cut++) {
      const s = new PassThrough();
      const got = readQgsFrame(s, AbortSignal.timeout(5000));
      s.write(wire.subarray(0, cut));
      s.write(wire.subarray(cut));
      expect(await got, `cut at ${String(cut)}`).toEqual(new Uint8Array(wire.subarray(4)));
    }
  });

  test.each([
    ['port=4050\n', 4050],
    ['  port = 4051  # comment\n', 4051],
    ['# port=1\n', undefined],
    ['other=1\nport=7\n', 7],
    ['', undefined],
  ])('parseTdxAttestPort(%j) is %s', (text, port) => {
    expect(parseTdxAttestPort(text)).toBe(port);
  });

  test.each(['port=0', 'port=-1', 'port=4050x', 'port=', 'port=99999999999'])(
    'parseTdxAttestPort refuses %j',
    (text) => {
      expect(() => parseTdxAttestPort(text)).toThrow(
        expect.objectContaining({ code: 'ERR_ATTESTER_QGS' }),
      );
    },
  );
});
