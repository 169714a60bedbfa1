// Entry point of containerd-shim-kata-cc-v2 (containerd runtime v2 shim).
import {
  closeSync,
  constants,
  createWriteStream,
  mkdirSync,
  openSync,
  statSync,
  writeSync,
} from 'node:fs';
import { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  JsonLogger,
  TraceSwitches,
  describeError,
  envString,
  isCcError,
  parseLogLevel,
  processEnv,
  type LogSink,
} from '#src/lib/index.js';
import { loadHostConfig } from '#src/host/config/index.js';
import {
  bootstrapSocketDir,
  detectStartProtocol,
  encodeRuntimeInfo,
  encodeStartAnswer,
  flagsFromBootstrap,
  parseShimFlags,
  readStartInput,
  runDelete,
  runServe,
  runStart,
  type ShimFlags,
} from '#src/host/shim/index.js';

const VERSION = '0.1.0';
const env = processEnv();
const here = dirname(fileURLToPath(import.meta.url));
const projectRoot = here.endsWith('dist') ? join(here, '..') : join(here, '..', '..');

function stderrLogger(level: 'debug' | 'info' | 'warn' | 'error'): JsonLogger {
  return new JsonLogger({
    sink: process.stderr,
    level,
    fields: { program: 'containerd-shim-kata-cc-v2' },
  });
}

/** The server logs into containerd's `log` FIFO in the bundle and, if asked, a file. */
function serverSink(flags: ShimFlags): LogSink {
  const sinks: LogSink[] = [];
  try {
    if (statSync('log').isFIFO()) {
      const fd = openSync('log', constants.O_RDWR | constants.O_NONBLOCK);
      const s = new Socket({ fd, readable: false, writable: true });
      s.on('error', () => undefined);
      s.unref();
      sinks.push(s);
    }
  } catch {
    // no log fifo (run by hand)
  }
  const dir = envString(env, 'KATA_CC_SHIM_LOG_DIR');
  if (dir !== undefined) {
    mkdirSync(dir, { recursive: true });
    sinks.push(createWriteStream(join(dir, `${flags.id}.log`), { flags: 'a' }));
  }
  return {
    write: (line) => {
      sinks.forEach((s) => {
        s.write(line);
      });
    },
  };
}

function notifyParent(message: string): void {
  try {
    writeSync(3, message + '\n');
    closeSync(3);
  } catch {
    // not started by `start` (no readiness pipe)
  }
}

async function serve(flags: ShimFlags): Promise<number> {
  let config;
  try {
    config = loadHostConfig({ env }).config;
  } catch (err) {
    notifyParent(`error ${describeError(err)}`);
    return 1;
  }
  const level = flags.debug ? 'debug' : config.runtime.log_level;
  const log = new JsonLogger({
    sink: serverSink(flags),
    level,
    trace: new TraceSwitches(envString(env, 'CC_TRACE') ?? ''),
    fields: { program: 'containerd-shim-kata-cc-v2', pid: process.pid },
  });
  process.on('unhandledRejection', (err) => {
    log.error('unhandled rejection', { err: describeError(err) });
  });
  let server;
  try {
    server = await runServe(flags, {
      config,
      projectRoot,
      logger: log,
      ttrpcAddress: envString(env, 'TTRPC_ADDRESS') ?? '',
      shimPid: process.pid,
    });
  } catch (err) {
    notifyParent(`error ${describeError(err)}`);
    return 1;
  }
  notifyParent('ok');
  const stop = (): void => {
    void server.close();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  await server.shutdownRequested;
  await server.close();
  log.info('shim exiting');
  return 0;
}

/**
 * `start`: containerd ≥ 2.3 sends BootstrapParams on stdin and reads a BootstrapResult; 1.7–2.2
 * read the JSON answer, 1.6 the plain address (see src/host/shim README). Nothing else may reach
 * stdout or stderr on success: containerd reads both as the answer.
 */
async function start(flags: ShimFlags): Promise<number> {
  const input = await readStartInput(process.stdin);
  const protocol = detectStartProtocol(input, flags, envString(env, 'MAX_SHIM_VERSION'));
  const ttrpc = protocol.params?.containerd_ttrpc_address ?? '';
  const address = await runStart(flagsFromBootstrap(flags, protocol.params), {
    self: [process.execPath, process.argv[1] ?? ''],
    cwd: process.cwd(),
    env:
      ttrpc !== '' && envString(env, 'TTRPC_ADDRESS') === undefined
        ? { ...env, TTRPC_ADDRESS: ttrpc }
        : env,
    socketDir: bootstrapSocketDir(protocol.params),
  });
  process.stdout.write(encodeStartAnswer(address, protocol));
  return 0;
}

async function main(argv: readonly string[]): Promise<number> {
  let flags: ShimFlags;
  try {
    flags = parseShimFlags(argv);
  } catch (err) {
    process.stderr.write(`containerd-shim-kata-cc-v2: ${describeError(err)}\n`);
    return 2;
  }
  if (flags.version) {
    process.stdout.write(
      `containerd-shim-kata-cc-v2:\n  Version: ${VERSION}\n  Runtime: io.containerd.kata-cc.v2\n`,
    );
    return 0;
  }
  if (flags.info) {
    process.stdout.write(encodeRuntimeInfo(VERSION, await readStartInput(process.stdin)));
    return 0;
  }
  const log = stderrLogger(
    flags.debug ? 'debug' : parseLogLevel(envString(env, 'KATA_CC_LOG_LEVEL'), 'warn'),
  );
  try {
    switch (flags.action) {
      case 'start':
        return await start(flags);
      case 'delete': {
        const stateDir = loadHostConfig({ env }).config.runtime.state_dir;
        const bytes = await runDelete(flags, {
          cwd: process.cwd(),
          stateDir,
          logger: log,
          selfPid: process.pid,
        });
        process.stdout.write(bytes);
        return 0;
      }
      case undefined:
        return await serve(flags);
    }
  } catch (err) {
    log.error('shim failed', {
      action: flags.action ?? 'serve',
      code: isCcError(err) ? err.code : undefined,
    });
    process.stderr.write(`containerd-shim-kata-cc-v2: ${describeError(err)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
// the server may hold handles (log fifo, timers) after an orderly shutdown: leave promptly
setTimeout(() => process.exit(), 500).unref();
