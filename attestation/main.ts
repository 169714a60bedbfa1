// Entry point of the attestation program (`kbs`), bundled to dist/kbs.mjs.
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
import { KBS_ROOT_COMMAND } from './cli/commands.js';

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
  level: parseLogLevel(envString(env, 'KBS_LOG_LEVEL'), 'info'),
  trace: new TraceSwitches(envString(env, 'CC_TRACE') ?? ''),
  fields: { program: 'kbs' },
});
// The bundle sits in <root>/dist/kbs.mjs; the source in <root>/attestation/main.ts.
const here = dirname(fileURLToPath(import.meta.url));
const projectRoot = join(here, '..');
const code = await dispatch(KBS_ROOT_COMMAND, process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env,
  signal: controller.signal,
  log,
  projectRoot,
});
process.exitCode = code;
