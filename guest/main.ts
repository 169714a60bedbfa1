// Entry point of the guest agent (bundled to dist/guest/kata-agent.mjs, run as the VM's main
// program after the initramfs switch_root; see guest/agent/README.md).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JsonLogger, TraceSwitches, describeError } from '#src/lib/index.js';
import {
  AgentServer,
  ComponentsSupervisor,
  createCdhUnsealer,
  prepareDirs,
  serveChannel,
} from '#guest/agent/index.js';
import { findInitDataDisk, writeInitDataFiles } from '#guest/initdata/index.js';
import { AGENT_VERSION, loadAgentConfig, readAgentCmdline } from '#guest/config/index.js';
import {
  AllowAllPolicy,
  INITDATA_POLICY_PATH,
  loadAgentPolicy,
  type AgentPolicy,
} from '#guest/policy/index.js';
import { CdhClient, EncryptedScratchStore, GuestImagePuller } from '#guest/image/index.js';
import { CommandMounter, Sandbox } from '#guest/sandbox/index.js';
import * as native from '#native/index.js';

const boot = Date.now();
// Config from /proc/cmdline, or `--cmdline=<kernel parameters>` (the bundle run on a host, in
// tests). Unreadable or invalid: fatal (as PID 1 the exit resets the VM), never defaults.
let parsed: ReturnType<typeof loadAgentConfig>;
try {
  parsed = loadAgentConfig(readAgentCmdline(process.argv.slice(2)));
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
const config = parsed.config;
const log = new JsonLogger({
  sink: process.stderr,
  level: config.logLevel,
  trace: new TraceSwitches(config.trace),
  fields: { program: 'kata-agent' },
});
for (const key of parsed.ignoredKeys) log.warn('unknown kernel command line key ignored', { key });

const stop = new AbortController();
const shutdown = (): void => {
  if (process.pid === 1) {
    // PID 1 must not exit (the kernel would panic): power the VM off instead.
    spawn('/bin/busybox', ['poweroff', '-f'], { stdio: 'ignore' });
    return;
  }
  process.exit(0);
};

const mounter = new CommandMounter(config.mountBinary, config.umountBinary);
const imageLog = log.child({ subsystem: 'image' });
const cdh = new CdhClient({
  socketPath: config.cdhSocket,
  callTimeoutMs: config.cdhCallTimeoutMs,
  waitMs: config.cdhWaitMs,
  log: imageLog,
});
const imageStore = new EncryptedScratchStore({
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
  store: imageStore,
  mounter,
  pullTimeoutMs: config.imagePullTimeoutMs,
  cdhConfigPath: config.cdhConfigPath,
  insecureRegistries: config.insecureRegistries,
  cdh,
  log: imageLog,
});
const sandbox = new Sandbox({
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
// Initdata (the read-only disk the shim attached): validated and published to
// /run/kata-cc/initdata before anything is served, so the policy below and the guest components
// read it. A disk with the magic but invalid content stops the agent (fail closed).
const withComponents = config.guestComponents ?? process.pid === 1;
if (withComponents) {
  try {
    const found = await findInitDataDisk();
    if (found) {
      await writeInitDataFiles(found.initData);
      log.info('initdata published', {
        device: found.device,
        algorithm: found.initData.algorithm,
        documents: Object.keys(found.initData.data),
      });
    }
  } catch (err) {
    log.error('initdata invalid; refusing to start', { error: err });
    if (process.pid !== 1) process.exit(1);
    shutdown();
    await new Promise(() => undefined);
  }
}
const componentsEntry = fileURLToPath(new URL('guest-components.mjs', import.meta.url));
const components =
  withComponents && existsSync(componentsEntry)
    ? new ComponentsSupervisor({
        node: process.execPath,
        entry: componentsEntry,
        log: log.child({ subsystem: 'guest-components' }),
      })
    : undefined;
// Agent policy: initdata policy.rego, else the built-in default shipped beside this bundle
// (policies/agent/). A policy that does not compile stops the agent (fail closed).
const defaultPolicyPath = fileURLToPath(new URL('policies/agent/allow-all.rego', import.meta.url));
let policy: AgentPolicy = new AllowAllPolicy();
if (existsSync(defaultPolicyPath)) {
  try {
    policy = loadAgentPolicy({
      initdataPolicyPath: INITDATA_POLICY_PATH,
      defaultPolicyPath,
      logger: log.child({ subsystem: 'policy' }),
      requestLogPath: log.trace.enabled('policy')
        ? join(config.runDir, 'agent-policy-requests.jsonl')
        : undefined,
    });
  } catch (err) {
    log.error('agent policy invalid', { error: err });
    process.exit(1);
  }
} else log.warn('no agent policy files; allowing every request', { path: defaultPolicyPath });
const server = new AgentServer({
  sandbox,
  policy,
  log: log.child({ subsystem: 'agent' }),
  agentVersion: AGENT_VERSION,
  sysfs: config.sysfs,
  onDestroyed: () => {
    stop.abort();
  },
  unsealer: components ? createCdhUnsealer({ log }) : undefined,
});

let stopping: Promise<void> | undefined;
function terminate(reason: string): Promise<void> {
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
}

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
    start_ms: Math.round(performance.now()),
    init_ms: Date.now() - boot,
  });
  // After "ready": under TCG a second Node start-up would slow the agent's own.
  if (components) {
    await bringUpLoopback();
    components.start();
  }
  await serving.done;
  await terminate('channel closed');
} catch (err) {
  log.error('agent failed', { error: err });
  await terminate('fatal error');
}

/** 127.0.0.1:8006 needs `lo` up (no udev/networkd in the guest); idempotent. */
async function bringUpLoopback(): Promise<void> {
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
