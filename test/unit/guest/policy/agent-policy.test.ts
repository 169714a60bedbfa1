import { describe, expect, test } from 'vitest';
import { AllowAllPolicy, DenyListPolicy } from '#guest/policy/index.js';

describe('built-in policies', () => {
  test('AllowAllPolicy allows every request', async () => {
    expect(await new AllowAllPolicy().check('CreateContainerRequest', {})).toEqual({
      allowed: true,
      reason: '',
    });
  });

  test('DenyListPolicy denies only the listed requests, with a reason', async () => {
    const p = new DenyListPolicy(['ExecProcessRequest']);
    expect((await p.check('ExecProcessRequest', {})).allowed).toBe(false);
    expect((await p.check('ExecProcessRequest', {})).reason).toMatch(/deny list/);
    expect((await p.check('ReadStreamRequest', {})).allowed).toBe(true);
  });
});
