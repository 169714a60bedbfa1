import { describe, expect, test } from 'vitest';
import { readSource, sourceFiles } from '#test/helpers/source-files.js';

describe('shape budgets (CONVENTIONS.md §4.6)', () => {
  const files = sourceFiles().filter((f) => !f.includes('/generated/'));

  test('no source file is longer than 800 lines', () => {
    const long = files
      .map((f) => [f, readSource(f).split('\n').length] as const)
      .filter(([, n]) => n > 800)
      .map(([f, n]) => `${f}: ${n} lines`);
    expect(long).toEqual([]);
  });

  test('no default exports', () => {
    expect(files.filter((f) => /^export default /m.test(readSource(f)))).toEqual([]);
  });

  test('file names are kebab-case', () => {
    expect(
      files.filter((f) => !/^[a-z0-9][a-z0-9-]*(\.d)?\.ts$/.test(f.split('/').pop()!)),
    ).toEqual([]);
  });
});
