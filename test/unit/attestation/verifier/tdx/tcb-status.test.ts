import { describe, expect, test } from 'vitest';
import { convergeStatus } from '#attestation/verifier/tdx/tcb-status.js';

describe('convergeStatus', () => {
  test.each([
    ['UpToDate', undefined, 'UpToDate'],
    ['UpToDate', 'UpToDate', 'UpToDate'],
    ['UpToDate', 'OutOfDate', 'OutOfDate'],
    ['SWHardeningNeeded', 'OutOfDate', 'OutOfDate'],
    ['ConfigurationNeeded', 'OutOfDate', 'OutOfDateConfigurationNeeded'],
    ['ConfigurationAndSWHardeningNeeded', 'OutOfDate', 'OutOfDateConfigurationNeeded'],
    ['OutOfDate', 'OutOfDate', 'OutOfDate'],
    ['SWHardeningNeeded', 'UpToDate', 'SWHardeningNeeded'],
    ['UpToDate', 'Revoked', 'Revoked'],
  ] as const)('%s with a component %s gives %s', (platform, component, want) => {
    expect(convergeStatus(platform, component)).toBe(want);
  });
});
