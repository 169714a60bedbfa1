// Entry point of the `kata-cc` command.
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { runProgramMain } from '#src/lib/index.js';
import { ROOT_COMMAND } from './commands/index.js';

const controller = new AbortController();
process.once('SIGINT', () => {
  controller.abort();
});
process.once('SIGTERM', () => {
  controller.abort();
});
// The bundle sits in <root>/dist/kata-cc.mjs; the source in <root>/src/host/cli/main.ts.
const here = dirname(fileURLToPath(import.meta.url));
process.exitCode = await runProgramMain({
  root: ROOT_COMMAND,
  program: 'kata-cc',
  logLevelVariable: 'KATA_CC_LOG_LEVEL',
  defaultLogLevel: 'warn',
  projectRoot: here.endsWith('dist') ? join(here, '..') : join(here, '..', '..', '..'),
  signal: controller.signal,
});
