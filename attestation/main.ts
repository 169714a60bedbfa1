// Entry point of the attestation program (`kbs`), bundled to dist/kbs.mjs.
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { runProgramMain } from '#src/lib/index.js';
import { KBS_ROOT_COMMAND } from './cli/commands.js';

const controller = new AbortController();
process.once('SIGINT', () => {
  controller.abort();
});
process.once('SIGTERM', () => {
  controller.abort();
});
// The bundle sits in <root>/dist/kbs.mjs; the source in <root>/attestation/main.ts.
const here = dirname(fileURLToPath(import.meta.url));
process.exitCode = await runProgramMain({
  root: KBS_ROOT_COMMAND,
  program: 'kbs',
  logLevelVariable: 'KBS_LOG_LEVEL',
  defaultLogLevel: 'info',
  projectRoot: join(here, '..'),
  signal: controller.signal,
});
