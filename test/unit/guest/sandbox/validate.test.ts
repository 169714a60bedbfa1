import { describe, expect, test } from 'vitest';
import {
  MAX_ID_LENGTH,
  checkAbsolutePath,
  checkBounded,
  checkId,
  checkText,
  isWithin,
} from '#guest/sandbox/index.js';

describe('checkId', () => {
  test.each(['c1', 'abc-DEF_0.9', 'a'.repeat(64)])('accepts %j', (id) => {
    expect(checkId(id, 'container_id')).toBe(id);
  });
  test.each([
    '',
    '.',
    '..',
    '../x',
    'a/b',
    '-x',
    '.hidden',
    'a..b',
    'a b',
    'a\0b',
    'é',
    'a'.repeat(MAX_ID_LENGTH + 1),
  ])('rejects %j as invalid_argument', (id) => {
    expect(() => checkId(id, 'container_id')).toThrow(
      expect.objectContaining({ kind: 'invalid_argument' }) as Error,
    );
  });
});

describe('checkAbsolutePath', () => {
  test.each([
    ['/', '/'],
    ['/a/b', '/a/b'],
    ['/a/b/', '/a/b'],
  ])('accepts %j', (p, want) => {
    expect(checkAbsolutePath(p, 'p')).toBe(want);
  });
  test.each(['', 'a', 'a/b', '/a/../b', '/a/./b', '/a//b', '/..', '/a\0'])('rejects %j', (p) => {
    expect(() => checkAbsolutePath(p, 'p')).toThrow(
      expect.objectContaining({ kind: 'invalid_argument' }) as Error,
    );
  });
});

describe('bounds', () => {
  test('isWithin matches whole components only', () => {
    expect(isWithin('/run/x/y', '/run/x')).toBe(true);
    expect(isWithin('/run/x', '/run/x')).toBe(true);
    expect(isWithin('/run/xy', '/run/x')).toBe(false);
  });
  test('checkBounded and checkText reject out-of-range input', () => {
    expect(() => checkBounded(11, 'n', 10)).toThrow(/0\.\.10/);
    expect(() => checkBounded(1.5, 'n', 10)).toThrow();
    expect(() => checkText('x'.repeat(5), 't', 4)).toThrow(/longer/);
    expect(checkText('ok', 't')).toBe('ok');
  });
});
