// Entry point of the `kata-cc` command.
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import {
  JsonLogger,
  TraceSwitches,
  parseLogLevel,
  processEnv,
  envString,
  dispatch,
} from '#src/lib/index.js';
import { ROOT_COMMAND } from './commands/index.js';

const env = processEnv();
const controller = new AbortController();
process.once('SIGINT', () => {
  controller.abort();
});
process.once('SIGTERM', () => {
  controller.abort();
});
const log = new JsonLogger({
  sink: process.stderr,
  level: parseLogLevel(envString(env, 'KATA_CC_LOG_LEVEL'), 'warn'),
  trace: new TraceSwitches(envString(env, 'CC_TRACE') ?? ''),
  fields: { program: 'kata-cc' },
});
// The bundle sits in <root>/dist/kata-cc.mjs; the source in <root>/src/host/cli/main.ts.
const here = dirname(fileURLToPath(import.meta.url));
const projectRoot = here.endsWith('dist') ? join(here, '..') : join(here, '..', '..', '..');
const code = await dispatch(ROOT_COMMAND, process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env,
  signal: controller.signal,
  log,
  projectRoot,
});
process.exitCode = code;
