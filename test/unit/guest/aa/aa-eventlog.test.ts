import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { AttestationAgent, parseAaConfig } from '#guest/aa/index.js';
import {
  AA_EVENTLOG_PATH,
  NODE_TSM_FS,
  TDX_MEASUREMENTS_DIR,
  createSampleAttester,
  createSnpAttester,
  createTdxAttester,
  pcrToRtmr,
  rtmrPath,
  type TsmFs,
} from '#guest/attester/index.js';
import { parseAael, replayAael } from '#src/tee/index.js';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';
import { tmpdir } from '#test/helpers/tmpdir.js';
import { fakeTsm } from '../attester/fake-tsm.js';

const TDX = join(PROJECT_ROOT, '..', 'shared', 'testdata', 'evidence', 'tdx');

/**
 * A root standing in for sysfs: `rtmr<N>:sha384` are real files; a 48-byte write extends the file
 * the way the kernel extends the RTMR (SHA-384(old ‖ data)), anything else is EINVAL.
 */
function fakeSysfs(root: string, initial: Uint8Array[] = []): TsmFs {
  mkdirSync(join(root, TDX_MEASUREMENTS_DIR), { recursive: true });
  for (let i = 0; i < 4; i++) writeFileSync(rtmrPath(root, i), initial[i] ?? new Uint8Array(48));
  return {
    ...NODE_TSM_FS,
    writeFile: (p, d) => {
      if (dirname(p) !== join(root, TDX_MEASUREMENTS_DIR)) return NODE_TSM_FS.writeFile(p, d);
      const data = typeof d === 'string' ? Buffer.from(d) : d;
      if (!/^rtmr[0-3]:sha384$/.test(basename(p)) || data.length !== 48)
        return Promise.reject(Object.assign(new Error('EINVAL'), { code: 'EINVAL' }));
      writeFileSync(p, createHash('sha384').update(readFileSync(p)).update(data).digest());
      return Promise.resolve();
    },
  };
}

const rtmr = (root: string, i: number): Uint8Array =>
  new Uint8Array(readFileSync(rtmrPath(root, i)));
const PULL = { domain: 'github.com/confidential-containers', operation: 'PullImage' };

describe('ExtendRuntimeMeasurement with the AAEL', () => {
  let dir: ReturnType<typeof tmpdir>;
  let logPath: string;
  beforeEach(() => {
    dir = tmpdir();
    logPath = join(dir.path, AA_EVENTLOG_PATH);
  });
  afterEach(() => {
    dir.remove();
  });

  const tdxAa = (fs: TsmFs, initPcr?: number) =>
    new AttestationAgent({
      attester: createTdxAttester({ root: dir.path, fs }),
      eventLog: { path: logPath, initPcr },
    });

  test('TDX: INIT then events in RTMR 3 through sysfs; the log replays to the register', async () => {
    const before = new Uint8Array(48).fill(0x11);
    const fs = fakeSysfs(
      dir.path,
      [undefined, undefined, undefined, before].map((x) => x ?? new Uint8Array(48)),
    );
    const aa = tdxAa(fs);
    await aa.extendRuntimeMeasurement({
      ...PULL,
      content: '{"image":"busybox","digest":"sha256:00"}',
    });
    await aa.extendRuntimeMeasurement({
      domain: 'd',
      operation: 'o',
      content: 'c with spaces',
      registerIndex: 17,
    });
    const text = readFileSync(logPath, 'utf8');
    expect(text.split('\n')).toEqual([
      `INIT sha384/${Buffer.from(before).toString('hex')}`,
      'github.com/confidential-containers PullImage {"image":"busybox","digest":"sha256:00"}',
      'd o c with spaces',
      '',
    ]);
    expect(replayAael(parseAael(text))).toEqual(rtmr(dir.path, 3));
    for (const i of [0, 1, 2]) expect(rtmr(dir.path, i)).toEqual(new Uint8Array(48));
  });

  test.skipIf(!existsSync(TDX))('TDX evidence carries the log as aa_eventlog', async () => {
    await tdxAa(fakeSysfs(dir.path)).extendRuntimeMeasurement({ ...PULL, content: '{}' });
    const quote = new Uint8Array(readFileSync(join(TDX, 'dcapqvl_b0c06f_v4', 'quote.bin')));
    const { fs } = fakeTsm(dir.path, { provider: 'tdx_guest', outblob: quote });
    const ev = await createTdxAttester({ root: dir.path, fs }).getEvidence(new Uint8Array(64));
    expect(Object.keys(ev as object)).toEqual(['cc_eventlog', 'quote', 'aa_eventlog']);
    expect((ev as { aa_eventlog: string }).aa_eventlog).toBe(readFileSync(logPath, 'utf8'));
  });

  test('serialises concurrent events; the file order is the extension order', async () => {
    const fs = fakeSysfs(dir.path);
    const aa = tdxAa(fs);
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        aa.extendRuntimeMeasurement({ ...PULL, content: `n${String(i)}` }),
      ),
    );
    const log = parseAael(readFileSync(logPath, 'utf8'));
    expect(log.events).toHaveLength(6);
    expect(replayAael(log)).toEqual(rtmr(dir.path, 3));
  });

  test('finishes a line that was written but not extended (crash in between)', async () => {
    const fs = fakeSysfs(dir.path);
    await tdxAa(fs).extendRuntimeMeasurement({ ...PULL, content: 'one' });
    appendFileSync(logPath, 'd o written-not-extended\n');
    await tdxAa(fs).extendRuntimeMeasurement({ ...PULL, content: 'three' });
    const log = parseAael(readFileSync(logPath, 'utf8'));
    expect(log.events.map((e) => e.split(' ')[2])).toEqual([
      'one',
      'written-not-extended',
      'three',
    ]);
    expect(replayAael(log)).toEqual(rtmr(dir.path, 3));
  });

  test('refuses a log that no longer replays to the register', async () => {
    const fs = fakeSysfs(dir.path);
    await tdxAa(fs).extendRuntimeMeasurement({ ...PULL, content: 'one' });
    writeFileSync(logPath, readFileSync(logPath, 'utf8').replace('one', 'two'));
    await expect(
      tdxAa(fs).extendRuntimeMeasurement({ ...PULL, content: 'x' }),
    ).rejects.toMatchObject({
      code: 'ERR_AA_EVENTLOG',
      kind: 'failed_precondition',
    });
  });

  test('refuses a register index that would leave the log unreplayable', async () => {
    const aa = tdxAa(fakeSysfs(dir.path));
    await expect(
      aa.extendRuntimeMeasurement({ ...PULL, content: 'x', registerIndex: 8 }),
    ).rejects.toMatchObject({ code: 'ERR_AA_MEASUREMENT', kind: 'invalid_argument' });
  });

  test.each([
    ['a domain with a space', { domain: 'a b', operation: 'o', content: 'c' }],
    ['a content with a line feed', { domain: 'd', operation: 'o', content: 'a\nb' }],
  ])('refuses %s before writing anything', async (_n, e) => {
    const aa = tdxAa(fakeSysfs(dir.path));
    await expect(aa.extendRuntimeMeasurement(e)).rejects.toMatchObject({
      code: 'ERR_AA_MEASUREMENT',
      kind: 'invalid_argument',
    });
    expect(rtmr(dir.path, 3)).toEqual(new Uint8Array(48));
  });

  test('TDX without the measurement sysfs (kernel < 6.16): unavailable, naming what is needed', async () => {
    const a = createTdxAttester({ root: dir.path, fs: NODE_TSM_FS });
    await expect(a.extendRuntimeMeasurement?.(17, new Uint8Array(48))).rejects.toMatchObject({
      code: 'ERR_ATTESTER_UNAVAILABLE',
      message: expect.stringMatching(/rtmr3:sha384 is missing; it needs Linux ≥ 6.16/),
    });
  });

  test('sample: a SHA-256 software register, replayable like a TEE one', async () => {
    const sample = createSampleAttester();
    const aa = new AttestationAgent({ attester: sample, eventLog: { path: logPath } });
    await aa.extendRuntimeMeasurement({ ...PULL, content: 'x' });
    const log = parseAael(readFileSync(logPath, 'utf8'));
    expect(log.algorithm).toBe('sha256');
    expect(replayAael(log)).toEqual(sample.register);
  });

  test('SNP: unimplemented, as upstream', async () => {
    const aa = new AttestationAgent({
      attester: createSnpAttester({ root: dir.path }),
      eventLog: { path: logPath },
    });
    await expect(aa.extendRuntimeMeasurement({ ...PULL, content: 'x' })).rejects.toMatchObject({
      code: 'ERR_AA_MEASUREMENT',
      kind: 'unimplemented',
    });
  });

  test('without [eventlog_config] enable_eventlog the request is refused', async () => {
    const aa = new AttestationAgent({ attester: createSampleAttester() });
    await expect(aa.extendRuntimeMeasurement({ ...PULL, content: 'x' })).rejects.toMatchObject({
      code: 'ERR_AA_MEASUREMENT',
      kind: 'failed_precondition',
    });
  });

  test.each([
    [1, 0],
    [7, 0],
    [2, 1],
    [6, 1],
    [8, 2],
    [15, 2],
    [16, 3],
    [17, 3],
    [0, 3],
  ])('PCR %i maps to RTMR %i', (pcr, want) => {
    expect(pcrToRtmr(pcr)).toBe(want);
  });
});

describe('parseAaConfig eventlog_config', () => {
  test('reads enable_eventlog and init_pcr (defaults off, 17)', () => {
    expect(parseAaConfig('').eventlog).toEqual({ enabled: false, initPcr: 17 });
    expect(
      parseAaConfig('[eventlog_config]\nenable_eventlog = true\ninit_pcr = 16\n').eventlog,
    ).toEqual({ enabled: true, initPcr: 16 });
    for (const bad of ['enable_eventlog = "yes"', 'init_pcr = -1', 'unknown = 1'])
      expect(() => parseAaConfig(`[eventlog_config]\n${bad}\n`)).toThrow(
        expect.objectContaining({ code: 'ERR_AA_CONFIG' }),
      );
  });
});
