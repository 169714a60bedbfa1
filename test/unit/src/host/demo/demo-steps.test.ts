import { PassThrough } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { DemoSteps } from '#src/host/demo/demo-steps.js';
import { CcError } from '#src/lib/index.js';

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

describe('DemoSteps failures', () => {
  test('a failing step prints FAILED and is rethrown naming the step, its log and the cause', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    const steps = new DemoSteps(out, 3, () => 0);
    await steps.step('first', () => Promise.resolve());
    const cause = new CcError('unavailable', 'ERR_X', 'kbs did not start');
    const err = await steps
      .step('KBS', () => Promise.reject(cause), { log: '/run/x/kbs.log' })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'ERR_DEMO_STEP',
      kind: 'unavailable',
      cause,
      message: 'demo step 2/3 "KBS" failed (log: /run/x/kbs.log): kbs did not start',
    });
    expect(text).toContain('[2/3] KBS: FAILED after 0.00 s\n');
    expect(steps.records.map((r) => r.title)).toEqual(['first']);
  });
});
