// The guest agent program. Bundled as CommonJS to dist/guest/kata-agent.cjs and started by the
// launcher dist/guest/kata-agent.mjs (guest/launcher), which compiles the bundle with the V8 code
// cache built into the guest image and then calls main(); see guest/agent/README.md. No top-level
// await and no work at module evaluation: the image build evaluates this module to make the cache.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JsonLogger, TraceSwitches, describeError, type Logger } from '#src/lib/index.js';
import {
  AgentServer,
  ComponentsSupervisor,
  createCdhUnsealer,
  prepareDirs,
  serveChannel,
} from '#guest/agent/index.js';
import { findInitDataDisk, writeInitDataFiles } from '#guest/initdata/index.js';
import {
  AGENT_VERSION,
  loadAgentConfig,
  readAgentCmdline,
  type AgentConfig,
} from '#guest/config/index.js';
import {
  AllowAllPolicy,
  INITDATA_POLICY_PATH,
  compileAgentPolicy,
  loadAgentPolicy,
  type AgentPolicy,
} from '#guest/policy/index.js';
import { CdhClient, EncryptedScratchStore, GuestImagePuller } from '#guest/image/index.js';
import { CommandMounter, Sandbox } from '#guest/sandbox/index.js';
import * as native from '#native/index.js';

/** The guest components start after "agent ready", niced so they do not slow CreateSandbox. */
const COMPONENTS_NICENESS = 10;

const defaultPolicyPath = (): string =>
  fileURLToPath(new URL('policies/agent/allow-all.rego', import.meta.url));

/**
 * The agent config from /proc/cmdline, or `--cmdline=<kernel parameters>` (the bundle run on a
 * host, in tests). Unreadable or invalid: fatal (as PID 1 the exit resets the VM), never defaults.
 */
function readConfig(argv: readonly string[]): ReturnType<typeof loadAgentConfig> {
  try {
    return loadAgentConfig(readAgentCmdline(argv));
  } catch (err) {
    process.stderr.write(
      JSON.stringify({
        time: new Date().toISOString(),
        level: 'error',
        msg: 'agent config invalid',
        error: describeError(err),
      }) + '\n',
    );
    process.exit(1);
  }
}

function shutdown(): void {
  if (process.pid === 1) {
    // PID 1 must not exit (the kernel would panic): power the VM off instead.
    spawn('/bin/busybox', ['poweroff', '-f'], { stdio: 'ignore' });
    return;
  }
  process.exit(0);
}

function createSandbox(config: AgentConfig, log: Logger): Sandbox {
  const mounter = new CommandMounter(config.mountBinary, config.umountBinary);
  const imageLog = log.child({ subsystem: 'image' });
  const cdh = new CdhClient({
    socketPath: config.cdhSocket,
    callTimeoutMs: config.cdhCallTimeoutMs,
    waitMs: config.cdhWaitMs,
    log: imageLog,
  });
  const store = new EncryptedScratchStore({
    serial: config.imageScratchSerial,
    sysfs: config.sysfs,
    mountDir: config.imageStoreDir,
    mapperName: config.imageMapperName,
    cryptsetupBinary: config.cryptsetupBinary,
    mkfsBinary: config.mkfsBinary,
    mounter,
    deviceTimeoutMs: config.deviceTimeoutMs,
    log: imageLog,
  });
  const guestPull = new GuestImagePuller({
    storageRoot: config.storageRoot,
    store,
    mounter,
    pullTimeoutMs: config.imagePullTimeoutMs,
    cdhConfigPath: config.cdhConfigPath,
    insecureRegistries: config.insecureRegistries,
    cdh,
    log: imageLog,
  });
  return new Sandbox({
    crunBinary: config.crunBinary,
    mounter,
    guestPull,
    runDir: config.runDir,
    storageRoot: config.storageRoot,
    pauseBundle: config.pauseBundle,
    cgroupRoot: config.cgroupRoot,
    cgroupBase: config.cgroupBase,
    confidential: config.confidential,
    sysfs: config.sysfs,
    log: log.child({ subsystem: 'sandbox' }),
    startTimeoutMs: config.startTimeoutMs,
    deviceTimeoutMs: config.deviceTimeoutMs,
    oomPollMs: config.oomPollMs,
  });
}

/**
 * Initdata (the read-only disk the shim attached): validated and published to /run/kata-cc/initdata
 * before anything is served, so the policy and the guest components read it. A disk with the magic
 * but invalid content stops the agent (fail closed); this then never resolves.
 */
async function publishInitData(log: Logger): Promise<void> {
  try {
    const found = await findInitDataDisk();
    if (!found) return;
    await writeInitDataFiles(found.initData);
    log.info('initdata published', {
      device: found.device,
      algorithm: found.initData.algorithm,
      documents: Object.keys(found.initData.data),
    });
  } catch (err) {
    log.error('initdata invalid; refusing to start', { error: err });
    if (process.pid !== 1) process.exit(1);
    shutdown();
    await new Promise(() => undefined);
  }
}

/**
 * Agent policy: initdata policy.rego, else the built-in default shipped beside the bundle
 * (policies/agent/). A policy that does not compile stops the agent (fail closed).
 */
function loadPolicy(config: AgentConfig, log: Logger): AgentPolicy {
  const path = defaultPolicyPath();
  if (!existsSync(path)) {
    log.warn('no agent policy files; allowing every request', { path });
    return new AllowAllPolicy();
  }
  try {
    return loadAgentPolicy({
      initdataPolicyPath: INITDATA_POLICY_PATH,
      defaultPolicyPath: path,
      logger: log.child({ subsystem: 'policy' }),
      requestLogPath: log.trace.enabled('policy')
        ? join(config.runDir, 'agent-policy-requests.jsonl')
        : undefined,
    });
  } catch (err) {
    log.error('agent policy invalid', { error: err });
    process.exit(1);
  }
}

/**
 * Runs the agent until the channel closes or a signal stops it. `codeCache` is what became of the
 * V8 code cache (guest/launcher), reported in the "agent ready" line.
 */
export async function main(
  argv: readonly string[] = process.argv.slice(2),
  codeCache = 'none',
): Promise<void> {
  const boot = Date.now();
  const parsed = readConfig(argv);
  const config = parsed.config;
  const log = new JsonLogger({
    sink: process.stderr,
    level: config.logLevel,
    trace: new TraceSwitches(config.trace),
    fields: { program: 'kata-agent' },
  });
  for (const key of parsed.ignoredKeys)
    log.warn('unknown kernel command line key ignored', { key });
  const stop = new AbortController();
  const sandbox = createSandbox(config, log);
  const withComponents = config.guestComponents ?? process.pid === 1;
  if (withComponents) await publishInitData(log);
  const componentsEntry = fileURLToPath(new URL('guest-components.mjs', import.meta.url));
  const components =
    withComponents && existsSync(componentsEntry)
      ? new ComponentsSupervisor({
          node: process.execPath,
          entry: componentsEntry,
          log: log.child({ subsystem: 'guest-components' }),
          niceness: COMPONENTS_NICENESS,
        })
      : undefined;
  const server = new AgentServer({
    sandbox,
    policy: loadPolicy(config, log),
    log: log.child({ subsystem: 'agent' }),
    agentVersion: AGENT_VERSION,
    sysfs: config.sysfs,
    onDestroyed: () => {
      stop.abort();
    },
    unsealer: components ? createCdhUnsealer({ log }) : undefined,
  });
  let stopping: Promise<void> | undefined;
  const terminate = (reason: string): Promise<void> => {
    if (stopping) return stopping;
    log.info('agent stopping', { reason });
    stop.abort();
    stopping = Promise.all([server.close(), components?.close()])
      .then(() => undefined)
      .catch((err: unknown) => {
        log.warn('shutdown incomplete', { error: err });
      })
      .then(shutdown);
    return stopping;
  };
  process.on('SIGTERM', () => void terminate('SIGTERM'));
  process.on('SIGINT', () => void terminate('SIGINT'));
  try {
    await prepareDirs([config.runDir, config.storageRoot]);
    const serving = await serveChannel(server, config.channel, log, stop.signal, native);
    log.info('agent ready', {
      version: AGENT_VERSION,
      channel: config.channel.kind,
      confidential: config.confidential,
      pid: process.pid,
      code_cache: codeCache,
      start_ms: Math.round(performance.now()),
      init_ms: Date.now() - boot,
    });
    // After "ready": under TCG a second Node start-up would slow the agent's own.
    if (components) {
      await bringUpLoopback(log);
      components.start();
    }
    await serving.done;
    await terminate('channel closed');
  } catch (err) {
    log.error('agent failed', { error: err });
    await terminate('fatal error');
  }
}

/**
 * Start-up work without side effects, run by the guest image build before it writes the V8 code
 * cache, so the functions every boot runs are in the cache compiled: config parsing, the logger,
 * the default policy's compilation.
 */
export function warmUp(): void {
  const parsed = loadAgentConfig('quiet agent.log=debug', () => false);
  const log = new JsonLogger({
    sink: { write: () => true },
    level: parsed.config.logLevel,
    trace: new TraceSwitches(parsed.config.trace),
    fields: { program: 'kata-agent' },
  });
  log.debug('warm-up', { channel: parsed.config.channel.kind });
  const path = defaultPolicyPath();
  if (existsSync(path)) compileAgentPolicy(readFileSync(path, 'utf8'), path);
}

/** 127.0.0.1:8006 needs `lo` up (no udev/networkd in the guest); idempotent. */
async function bringUpLoopback(log: Logger): Promise<void> {
  await new Promise<void>((resolve) => {
    const p = spawn('/bin/busybox', ['ip', 'link', 'set', 'lo', 'up'], { stdio: 'ignore' });
    p.once('error', (err) => {
      log.warn('cannot bring up the loopback interface', { error: err });
      resolve();
    });
    p.once('exit', (code) => {
      if (code !== 0) log.warn('cannot bring up the loopback interface', { code });
      resolve();
    });
  });
}
