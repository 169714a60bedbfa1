import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runConformance } from '#src/rego/conformance/runner.js';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';

const CASES = join(PROJECT_ROOT, '..', 'shared', 'testdata', 'rego-cases');
const hasCases = existsSync(CASES);
if (!hasCases) console.log(`skipping OPA conformance: ${CASES} is missing`);

describe('OPA Rego conformance cases', () => {
  test.skipIf(!hasCases)(
    'passes at least 95% of the v0 and v1 cases',
    () => {
      const report = runConformance(CASES);
      for (const o of report.outcomes) {
        if (o.status !== 'pass') console.log(`${o.status} ${o.file} ${o.note}: ${o.reason}`);
      }
      const total = report.passed + report.failed;
      console.log(`${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped`);
      expect(total).toBeGreaterThan(800);
      expect(report.passed / total).toBeGreaterThanOrEqual(0.95);
    },
    120_000,
  );
});
