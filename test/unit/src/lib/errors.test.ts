import { describe, expect, test } from 'vitest';
import {
  CcError,
  kindOfErrno,
  wrapError,
  Secret,
  ByteRing,
  JsonLogger,
  MemorySink,
  TraceSwitches,
} from '#src/lib/index.js';
import { inspect } from 'node:util';

describe('errors', () => {
  test('wrapError keeps the errno-derived kind of a system error', () => {
    const sys = Object.assign(new Error('no such file'), { code: 'ENOENT' });
    const e = wrapError(sys, 'cannot open config');
    expect(e).toBeInstanceOf(CcError);
    expect(e.kind).toBe('not_found');
    expect(e.message).toBe('cannot open config: no such file');
    expect(e.cause).toBe(sys);
  });
  test.each([
    ['EACCES', 'permission_denied'],
    ['ECONNREFUSED', 'unavailable'],
    ['EWHATEVER', 'internal'],
  ])('maps %s to %s', (code, kind) => {
    expect(kindOfErrno(code)).toBe(kind);
  });
});

describe('Secret', () => {
  test('never prints its value', () => {
    const s = new Secret('hunter2');
    expect(JSON.stringify({ s })).toBe('{"s":"[redacted]"}');
    expect(String(s)).toBe('[redacted]');
    expect(inspect(s)).not.toContain('hunter2');
    expect(s.reveal()).toBe('hunter2');
  });
  test('stays redacted inside log records', () => {
    const sink = new MemorySink();
    new JsonLogger({ sink }).info('token issued', { token: new Secret('abc') });
    expect(sink.lines[0]).not.toContain('abc');
    expect(sink.records()[0]).toMatchObject({
      msg: 'token issued',
      token: '[redacted]',
      level: 'info',
    });
  });
});

describe('JsonLogger', () => {
  test('child loggers carry their fields and respect the level', () => {
    const sink = new MemorySink();
    const root = new JsonLogger({ sink, level: 'info', now: () => new Date(0) });
    const log = root.child({ subsystem: 'qmp' }).child({ sandbox_id: 'abc' });
    log.debug('hidden');
    log.warn('vm slow', { boot_ms: 812 });
    expect(sink.records()).toEqual([
      {
        time: '1970-01-01T00:00:00.000Z',
        level: 'warn',
        subsystem: 'qmp',
        sandbox_id: 'abc',
        msg: 'vm slow',
        boot_ms: 812,
      },
    ]);
  });
});

describe('TraceSwitches', () => {
  test.each([
    ['ttrpc,qmp', 'qmp', true],
    ['ttrpc,qmp', 'kbs', false],
    ['all,-ttrpc', 'ttrpc', false],
    ['all,-ttrpc', 'kbs', true],
    ['', 'kbs', false],
  ])('%s enables %s: %s', (spec, name, on) => {
    expect(new TraceSwitches(spec).enabled(name)).toBe(on);
  });
});

describe('ByteRing', () => {
  test('keeps only the last bytes', () => {
    const r = new ByteRing(9);
    r.push(Buffer.from('line one\nline two\n'));
    expect(r.text()).toBe('line two\n');
    r.push(Buffer.from('\nx'));
    expect(r.lines(1)).toEqual(['x']);
  });
});
