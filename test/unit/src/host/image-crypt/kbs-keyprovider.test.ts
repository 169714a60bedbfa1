import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  answerKeyProviderRequest,
  parseKekParams,
  readKekFile,
} from '#src/host/image-crypt/index.js';
import {
  encodeKeyUnwrapRequest,
  encodeKeyWrapRequest,
  parseAnnotationPacket,
  parseKeyUnwrapResponse,
  parseKeyWrapResponse,
  unwrapWithKek,
} from '#src/oci/index.js';

const KID = 'kbs:///default/image-kek/1';
const OPTS = Buffer.from('{"symkey":"c2VjcmV0","digest":"sha256:00","cipheroptions":{}}');
const p = (s: string): Record<string, Uint8Array[]> => ({ 'kata-cc': [Buffer.from(s)] });

describe('kata-cc keyprovider (in process)', () => {
  let dir: string;
  const kek = randomBytes(32);
  let raw: string;
  let b64: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kata-cc-kp-'));
    raw = join(dir, 'kek.bin');
    b64 = join(dir, 'kek.b64');
    await writeFile(raw, kek);
    await writeFile(b64, `  ${kek.toString('base64')}\n`);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const wrap = async (params: string, name = 'kata-cc'): Promise<Uint8Array> =>
    parseKeyWrapResponse(
      await answerKeyProviderRequest(encodeKeyWrapRequest(OPTS, p(params)), { name }),
    );

  test('keywrap seals the options with the KEK into a packet naming keyid', async () => {
    for (const file of [raw, b64]) {
      const packet = parseAnnotationPacket(await wrap(`keypath=${file}::keyid=${KID}`));
      expect(packet.kid).toBe(KID);
      expect(Buffer.from(unwrapWithKek(kek, packet))).toEqual(OPTS);
    }
  });

  test('keyunwrap opens it with the local KEK (matching keyid or none)', async () => {
    const annotation = await wrap(`keypath=${raw}::keyid=${KID}::algorithm=A256GCM`);
    for (const params of [`keypath=${b64}`, `keypath=${raw}::keyid=${KID}`]) {
      const out = await answerKeyProviderRequest(encodeKeyUnwrapRequest(annotation, p(params)), {
        name: 'kata-cc',
      });
      expect(Buffer.from(parseKeyUnwrapResponse(out))).toEqual(OPTS);
    }
  });

  test('keyunwrap: a wrong KEK is permission_denied; a different keyid not_found', async () => {
    const annotation = await wrap(`keypath=${raw}::keyid=${KID}`);
    const wrong = join(dir, 'wrong');
    await writeFile(wrong, randomBytes(32));
    await expect(
      answerKeyProviderRequest(encodeKeyUnwrapRequest(annotation, p(`keypath=${wrong}`)), {
        name: 'kata-cc',
      }),
    ).rejects.toMatchObject({
      code: 'ERR_KEYPROVIDER_UNWRAP',
      kind: 'permission_denied',
      message: expect.stringMatching(/key-encryption key in .*wrong does not open it/),
    });
    await expect(
      answerKeyProviderRequest(
        encodeKeyUnwrapRequest(annotation, p(`keypath=${raw}::keyid=kbs:///x/y/z`)),
        { name: 'kata-cc' },
      ),
    ).rejects.toMatchObject({ code: 'ERR_KEYPROVIDER_UNWRAP', kind: 'not_found' });
  });

  test('a request for another provider name says which names it carries', async () => {
    await expect(wrap(`keypath=${raw}::keyid=${KID}`, 'kbs')).rejects.toMatchObject({
      code: 'ERR_KEYPROVIDER_PARAMS',
      message: expect.stringMatching(/no parameters for key provider "kbs".*"kata-cc".*--name/),
    });
  });

  test('two KEKs for one wrap are refused', async () => {
    const req = encodeKeyWrapRequest(OPTS, {
      'kata-cc': [
        Buffer.from(`keypath=${raw}::keyid=${KID}`),
        Buffer.from(`keypath=${b64}::keyid=${KID}`),
      ],
    });
    await expect(answerKeyProviderRequest(req, { name: 'kata-cc' })).rejects.toMatchObject({
      code: 'ERR_KEYPROVIDER_PARAMS',
      message: expect.stringMatching(/exactly one key-encryption key/),
    });
  });

  test.each([
    ['', /none given/],
    ['Enabled', /none given/],
    ['keyid=kbs:///a/b/c', /keypath is missing/],
    ['keypath=/k', /keyid is missing/],
    ['keypath=/k::keyid=/a/b/c', /keyid "\/a\/b\/c" is not a KBS resource uri/],
    ['keypath=/k::keyid=kbs:///a/b', /not a KBS resource uri/],
    ['keypath=/k::keyid=kbs:///a/b/c::colour=red', /unknown parameter "colour"/],
    ['keypath=/k::keypath=/j::keyid=kbs:///a/b/c', /keypath given twice/],
    ['keypath', /is not NAME=VALUE/],
    ['=x', /is not NAME=VALUE/],
    ['sample=true', /hard-coded sample key/],
  ])('wrap parameters %j are refused', (raw, why) => {
    expect(() => parseKekParams(raw, true)).toThrow(
      expect.objectContaining({
        code: 'ERR_KEYPROVIDER_PARAMS',
        message: expect.stringMatching(why),
      }),
    );
  });

  test('algorithm A256CTR is unimplemented (the guest unwraps only A256GCM)', () => {
    expect(() => parseKekParams('keypath=/k::keyid=kbs:///a/b/c::algorithm=A256CTR', true)).toThrow(
      expect.objectContaining({
        kind: 'unimplemented',
        message: expect.stringMatching(/only A256GCM/),
      }),
    );
    expect(parseKekParams('keypath=/k', false)).toEqual({
      keyPath: '/k',
      keyId: undefined,
      algorithm: 'A256GCM',
    });
  });

  test.each([
    ['31 bytes', randomBytes(31)],
    ['33 bytes', randomBytes(33)],
    ['base64 of 31 bytes', Buffer.from(randomBytes(31).toString('base64'))],
    ['hex', Buffer.from(randomBytes(32).toString('hex'))],
    ['empty', Buffer.alloc(0)],
  ])('a KEK file of %s is refused', async (_w, content) => {
    const f = join(dir, 'bad');
    await writeFile(f, content);
    await expect(readKekFile(f)).rejects.toMatchObject({
      code: 'ERR_KEYPROVIDER_KEK',
      message: expect.stringMatching(/expected 32 bytes or their base64/),
    });
  });

  test('a missing KEK file is not_found naming the file', async () => {
    await expect(readKekFile(join(dir, 'nope'))).rejects.toMatchObject({
      code: 'ERR_KEYPROVIDER_KEK',
      kind: 'not_found',
      message: expect.stringMatching(/cannot read the key-encryption key file .*nope/),
    });
  });

  test('the KEK never shows in JSON or logs', async () => {
    expect(JSON.stringify({ k: await readKekFile(raw) })).toBe('{"k":"[redacted]"}');
  });
});
