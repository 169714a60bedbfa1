import { describe, expect, test } from 'vitest';
import { statusOf, tierOf } from '#attestation/as/index.js';

describe('trust vector', () => {
  test.each([
    [0, 'none'],
    [1, 'none'],
    [-1, 'none'],
    [2, 'affirming'],
    [31, 'affirming'],
    [32, 'warning'],
    [95, 'warning'],
    [96, 'contraindicated'],
    [-128, 'contraindicated'],
  ])('puts %i in tier %s', (v, tier) => {
    expect(tierOf(v)).toBe(tier);
  });

  test('the status is the worst tier of the set claims', () => {
    expect(statusOf({ hardware: 2, executables: 3 })).toBe('affirming');
    expect(statusOf({ hardware: 2, executables: 33 })).toBe('warning');
    expect(statusOf({ hardware: 97, executables: 33 })).toBe('contraindicated');
    expect(statusOf({})).toBe('none');
  });
});
