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
    include: ['test/**/*.test.ts'],
    exclude: ['test/bench/**', 'node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 600_000,
    reporters: ['default', new SummaryReporter()],
  },
});
