import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { SummaryReporter } from './test/helpers/summary-reporter.js';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  resolve: {
    // package.json#imports: `#src/x.js` → `src/x.ts` (and #guest, #attestation, #native, #test)
    alias: [
      { find: /^#(src|guest|attestation|native|test)\/(.*)\.js$/, replacement: `${root}$1/$2.ts` },
    ],
  },
  test: {
    testTimeout: 30_000,
    hookTimeout: 600_000,
    reporters: ['default', new SummaryReporter()],
    projects: [
      {
        extends: true,
        test: {
          name: 'default',
          include: ['test/**/*.test.ts'],
          exclude: ['test/bench/**', 'node_modules/**', 'test/e2e/**'],
        },
      },
      // VM end-to-end tests: one containerd and one guest image for all files, files one by one
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/e2e/setup/pod-vm-setup.ts'],
          fileParallelism: false,
          testTimeout: 240_000,
        },
      },
    ],
  },
});
