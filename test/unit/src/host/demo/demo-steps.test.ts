import { PassThrough } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { DemoSteps } from '#src/host/demo/demo-steps.js';

describe('DemoSteps', () => {
  test('numbers the steps and prints each one with its timing and detail', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    let t = 0;
    const steps = new DemoSteps(out, 2, () => (t += 1500));
    expect(
      await steps.step(
        'first',
        () => Promise.resolve(42),
        (v) => `value ${v}`,
      ),
    ).toBe(42);
    await steps.step('second', () => Promise.resolve());
    expect(text).toBe(
      '[1/2] first ...\n[1/2] first: done in 1.50 s — value 42\n[2/2] second ...\n[2/2] second: done in 1.50 s\n',
    );
    expect(steps.records.map((r) => r.title)).toEqual(['first', 'second']);
  });

  test('a failing step propagates its error and records nothing', async () => {
    const steps = new DemoSteps(new PassThrough(), 1);
    await expect(steps.step('broken', () => Promise.reject(new Error('boom')))).rejects.toThrow(
      'boom',
    );
    expect(steps.records).toEqual([]);
  });
});
