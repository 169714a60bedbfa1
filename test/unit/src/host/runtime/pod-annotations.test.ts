import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { JsonLogger, MemorySink } from '#src/lib/index.js';
import {
  INITDATA_ANNOTATION,
  decodeInitDataDisk,
  encodeInitDataAnnotation,
} from '#src/tee/index.js';
import {
  INITDATA_ANNOTATION_MAX,
  checkContainerAnnotations,
  guestOciSpec,
  initDataLaunch,
  parsePodAnnotations,
} from '#src/host/runtime/pod-annotations.js';

const toml = (alg: string): string =>
  `version = "0.1.0"\nalgorithm = "${alg}"\n[data]\n"aa.toml" = "x = 1"\n`;
const enc = (t: string): string => encodeInitDataAnnotation(new TextEncoder().encode(t));
const quiet = (): { log: JsonLogger; sink: MemorySink } => {
  const sink = new MemorySink();
  return { log: new JsonLogger({ sink }), sink };
};

describe('initDataLaunch', () => {
  test.each([
    ['sha256', 32],
    ['sha384', 48],
    ['sha512', 64],
  ])('%s: digest of the exact TOML, mrconfigid 48 bytes, host-data 32 bytes', (alg, len) => {
    const t = toml(alg);
    const l = initDataLaunch(enc(t));
    const want = new Uint8Array(createHash(alg).update(t).digest());
    expect(l.digest).toEqual(want);
    expect(l.digest).toHaveLength(len);
    expect(l.mrConfigId).toHaveLength(48);
    expect(l.hostData).toHaveLength(32);
    expect(l.mrConfigId.subarray(0, Math.min(len, 48))).toEqual(want.subarray(0, 48));
    expect(l.mrConfigId.subarray(len).every((b) => b === 0)).toBe(true);
    expect(l.hostData).toEqual(want.subarray(0, 32));
    expect(l.kernelParam).toBe(`kata.initdata_digest=${alg}:${Buffer.from(want).toString('hex')}`);
    expect(new TextDecoder().decode(decodeInitDataDisk(l.disk))).toBe(t);
    expect(l.disk.byteLength % 512).toBe(0);
  });

  test.each([
    ['not base64', '@@@'],
    ['not gzip', Buffer.from('plain text').toString('base64')],
    ['bad version', enc('version = "9"\nalgorithm = "sha256"\n')],
    ['bad algorithm', enc('version = "0.1.0"\nalgorithm = "md5"\n')],
    ['not TOML', enc('version = = 1')],
    ['data not strings', enc('version = "0.1.0"\nalgorithm = "sha256"\n[data]\nx = 1\n')],
    ['too long', 'A'.repeat(INITDATA_ANNOTATION_MAX + 4)],
    ['gzip bomb', Buffer.from(gzipSync(Buffer.alloc(5 << 20, 0x61))).toString('base64')],
  ])('rejects %s with a clear invalid_argument error', (_what, value) => {
    expect(() => initDataLaunch(value)).toThrow(
      expect.objectContaining({
        kind: 'invalid_argument',
        code: 'ERR_RUNTIME_INITDATA',
        message: expect.stringContaining(INITDATA_ANNOTATION) as unknown,
      }),
    );
  });
});

describe('parsePodAnnotations', () => {
  test('acts on the initdata annotation when enabled (the default)', () => {
    const { log } = quiet();
    const r = parsePodAnnotations(
      { [INITDATA_ANNOTATION]: enc(toml('sha384')), 'io.kubernetes.cri.sandbox-id': 'x' },
      ['cc_init_data'],
      log,
    );
    expect(r.initData?.algorithm).toBe('sha384');
  });

  test('no annotation: no initdata', () => {
    expect(parsePodAnnotations({}, ['cc_init_data'], quiet().log).initData).toBeUndefined();
  });

  test('refuses a hypervisor annotation that is not enabled, naming the config key', () => {
    expect(() =>
      parsePodAnnotations({ [INITDATA_ANNOTATION]: enc(toml('sha256')) }, [], quiet().log),
    ).toThrow(
      expect.objectContaining({
        code: 'ERR_RUNTIME_ANNOTATION',
        message: expect.stringContaining('hypervisor.enable_annotations') as unknown,
      }),
    );
    expect(() =>
      parsePodAnnotations(
        { 'io.katacontainers.config.hypervisor.default_vcpus': '4' },
        ['cc_init_data'],
        quiet().log,
      ),
    ).toThrow(expect.objectContaining({ code: 'ERR_RUNTIME_ANNOTATION' }));
  });

  test('enabled by regex but not implemented: logged and ignored', () => {
    const { log, sink } = quiet();
    const r = parsePodAnnotations(
      { 'io.katacontainers.config.hypervisor.default_vcpus': '4' },
      ['cc_init_data', 'default_.*'],
      log,
    );
    expect(r.initData).toBeUndefined();
    expect(sink.lines.join('\n')).toContain('annotation not supported');
  });

  test('an invalid enable_annotations regex is a clear error', () => {
    expect(() => parsePodAnnotations({}, ['('], quiet().log)).toThrow(
      expect.objectContaining({ code: 'ERR_RUNTIME_ANNOTATION' }),
    );
  });
});

describe('checkContainerAnnotations (a workload container of a running pod)', () => {
  const pod = { [INITDATA_ANNOTATION]: enc(toml('sha384')), 'io.kubernetes.cri.sandbox-id': 'p' };

  test.each([
    ['no hypervisor annotations', {}],
    ['the pod initdata, copied by CRI', { [INITDATA_ANNOTATION]: enc(toml('sha384')) }],
    [
      'the same TOML, encoded differently',
      {
        [INITDATA_ANNOTATION]: Buffer.from(
          gzipSync(new TextEncoder().encode(toml('sha384')), { level: 1 }),
        ).toString('base64'),
      },
    ],
  ])('accepts %s', (_what, annotations: Record<string, string>) => {
    const { log, sink } = quiet();
    expect(() => {
      checkContainerAnnotations('c1', annotations, pod, log);
    }).not.toThrow();
    expect(sink.lines).toEqual([]);
  });

  test.each([
    ['a different initdata', pod, toml('sha256'), /differs from the pod's \(sha384:/],
    ['initdata when the pod has none', {}, toml('sha384'), /launched without initdata/],
  ])('refuses %s: it cannot be applied after launch', (_what, sandbox, mine, why) => {
    let caught: unknown;
    try {
      checkContainerAnnotations('c1', { [INITDATA_ANNOTATION]: enc(mine) }, sandbox, quiet().log);
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ kind: 'failed_precondition', code: 'ERR_RUNTIME_INITDATA' });
    const message = (caught as Error).message;
    expect(message).toMatch(why);
    expect(message).toContain('container c1');
    expect(message).toContain('put it on the pod (sandbox) only');
  });

  test('refuses an invalid initdata on a container as invalid_argument', () => {
    expect(() => {
      checkContainerAnnotations('c1', { [INITDATA_ANNOTATION]: '@@@' }, pod, quiet().log);
    }).toThrow(expect.objectContaining({ kind: 'invalid_argument', code: 'ERR_RUNTIME_INITDATA' }));
  });

  test('another hypervisor annotation that differs from the pod is logged and ignored', () => {
    const { log, sink } = quiet();
    checkContainerAnnotations(
      'c1',
      { 'io.katacontainers.config.hypervisor.default_vcpus': '8' },
      pod,
      log,
    );
    expect(sink.lines.join('\n')).toContain('only the sandbox applies');
    expect(sink.lines.join('\n')).toContain('default_vcpus');
  });
});

describe('guestOciSpec', () => {
  test('drops the initdata annotation and keeps everything else', () => {
    const spec = {
      process: { args: ['sh'] },
      annotations: { [INITDATA_ANNOTATION]: 'x', 'io.kubernetes.cri.container-type': 'sandbox' },
    };
    expect(guestOciSpec(spec)).toEqual({
      process: { args: ['sh'] },
      annotations: { 'io.kubernetes.cri.container-type': 'sandbox' },
    });
    expect(spec.annotations[INITDATA_ANNOTATION]).toBe('x'); // the input is not modified
  });

  test.each([
    ['no annotations', { process: {} }],
    ['no initdata', { annotations: { a: 'b' } }],
  ])('returns the spec itself with %s', (_what, spec: Record<string, unknown>) => {
    expect(guestOciSpec(spec)).toBe(spec);
  });
});
