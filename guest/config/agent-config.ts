import { existsSync } from 'node:fs';
import { expectInt, expectOneOf, invalid, type LogLevel } from '#src/lib/index.js';
import { AGENT_DEFAULTS } from './defaults.js';

export type AgentChannel =
  | { readonly kind: 'virtio-serial'; readonly name: string; readonly path: string }
  | { readonly kind: 'vsock'; readonly port: number }
  | { readonly kind: 'unix'; readonly path: string };

export interface AgentConfig {
  readonly logLevel: LogLevel;
  readonly trace: string;
  readonly channel: AgentChannel;
  /** Refuse host-provided filesystems: set by a TEE being present or by `agent.confidential=true`. */
  readonly confidential: boolean;
  readonly crunBinary: string;
  readonly mountBinary: string;
  readonly umountBinary: string;
  readonly runDir: string;
  readonly storageRoot: string;
  readonly pauseBundle: string;
  readonly cgroupRoot: string;
  readonly cgroupBase: string;
  readonly sysfs: string;
  readonly startTimeoutMs: number;
  readonly deviceTimeoutMs: number;
  readonly oomPollMs: number;
  /**
   * `agent.guest_components=true|false`: read the initdata disk at boot and run the
   * guest-components process (AA, CDH, REST :8006). Undefined: main decides (on when PID 1).
   */
  readonly guestComponents: boolean | undefined;
  /** Bound of one guest image pull (`agent.image_pull_timeout`, seconds on the command line). */
  readonly imagePullTimeoutMs: number;
  /** Registries pulled from over plain HTTP (`agent.insecure_registries=host[:port],…`). */
  readonly insecureRegistries: readonly string[];
  readonly imageScratchSerial: string;
  readonly imageStoreDir: string;
  readonly imageMapperName: string;
  readonly cryptsetupBinary: string;
  readonly mkfsBinary: string;
  readonly cdhSocket: string;
  readonly cdhCallTimeoutMs: number;
  readonly cdhWaitMs: number;
  readonly cdhConfigPath: string;
}

/** The `agent.*` kernel command-line keys this agent reads. */
export const CMDLINE_KEYS = [
  'agent.log',
  'agent.trace',
  'agent.channel',
  'agent.confidential',
  'agent.start_timeout_ms',
  'agent.guest_components',
  'agent.image_pull_timeout',
  'agent.insecure_registries',
] as const;

const REGISTRY_HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9a-fA-F:.]+\])(?::[0-9]{1,5})?$/;

/** `host[:port],…` → the hosts; each must be a registry host name or address. */
export function parseRegistryList(raw: string, at: string): string[] {
  const hosts = raw.split(',').filter((h) => h !== '');
  if (hosts.length > 64) throw invalid(at, 'at most 64 registries', raw);
  for (const h of hosts) if (!REGISTRY_HOST.test(h)) throw invalid(at, 'host[:port],…', h);
  return hosts;
}

export interface ParsedConfig {
  readonly config: AgentConfig;
  /** `agent.*` keys we do not know (logged, not fatal: the host may pass upstream Kata keys). */
  readonly ignoredKeys: readonly string[];
}

/** Splits a kernel command line into key → value (`key` alone → ''); quotes are honoured. */
export function parseCmdline(cmdline: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of cmdline.matchAll(/(?:[^\s"]+|"[^"]*")+/g)) {
    const word = m[0].replaceAll('"', '');
    const eq = word.indexOf('=');
    out.set(eq < 0 ? word : word.slice(0, eq), eq < 0 ? '' : word.slice(eq + 1));
  }
  return out;
}

export function parseChannel(
  raw: string,
  portsDir: string = AGENT_DEFAULTS.virtioPortsDir,
): AgentChannel {
  const at = 'agent.channel';
  const colon = raw.indexOf(':');
  const kind = colon < 0 ? raw : raw.slice(0, colon);
  const rest = colon < 0 ? '' : raw.slice(colon + 1);
  if (kind === 'virtio-serial') {
    if (!/^[A-Za-z0-9_.-]+$/.test(rest)) throw invalid(at, 'virtio-serial:<port name>', raw);
    return { kind, name: rest, path: `${portsDir}/${rest}` };
  }
  if (kind === 'vsock')
    return { kind, port: expectInt(Number(rest), at, { min: 1, max: 0xffffffff }) };
  if (kind === 'unix') {
    if (!rest.startsWith('/')) throw invalid(at, 'unix:<absolute path>', raw);
    return { kind, path: rest };
  }
  throw invalid(at, 'virtio-serial:<name>, vsock:<port> or unix:<path>', raw);
}

/**
 * The agent config from the kernel command line, with defaults applied and frozen. `exists`
 * checks TEE device paths (injected for tests).
 */
export function loadAgentConfig(
  cmdline: string,
  exists: (path: string) => boolean = existsSync,
): ParsedConfig {
  const kv = parseCmdline(cmdline);
  const ignoredKeys = [...kv.keys()].filter(
    (k) => k.startsWith('agent.') && !(CMDLINE_KEYS as readonly string[]).includes(k),
  );
  const d = AGENT_DEFAULTS;
  const confidentialFlag = kv.get('agent.confidential');
  const flag =
    confidentialFlag === undefined
      ? false
      : expectOneOf(confidentialFlag === '' ? 'true' : confidentialFlag, 'agent.confidential', [
          'true',
          'false',
        ] as const) === 'true';
  const tee = d.teeDevices.some((p) => exists(p));
  const timeout = kv.get('agent.start_timeout_ms');
  const gc = kv.get('agent.guest_components');
  const pullTimeout = kv.get('agent.image_pull_timeout');
  const config: AgentConfig = {
    logLevel: expectOneOf(kv.get('agent.log') ?? d.logLevel, 'agent.log', [
      'error',
      'warn',
      'info',
      'debug',
    ] as const),
    trace: kv.get('agent.trace') ?? '',
    channel: parseChannel(kv.get('agent.channel') ?? d.channel),
    confidential: tee || flag,
    crunBinary: d.crunBinary,
    mountBinary: d.mountBinary,
    umountBinary: d.umountBinary,
    runDir: d.runDir,
    storageRoot: d.storageRoot,
    pauseBundle: d.pauseBundle,
    cgroupRoot: d.cgroupRoot,
    cgroupBase: d.cgroupBase,
    sysfs: d.sysfs,
    startTimeoutMs:
      timeout === undefined
        ? d.startTimeoutMs
        : expectInt(Number(timeout), 'agent.start_timeout_ms', { min: 100, max: 600_000 }),
    deviceTimeoutMs: d.deviceTimeoutMs,
    oomPollMs: d.oomPollMs,
    guestComponents:
      gc === undefined
        ? undefined
        : expectOneOf(gc === '' ? 'true' : gc, 'agent.guest_components', [
            'true',
            'false',
          ] as const) === 'true',
    imagePullTimeoutMs:
      1000 *
      (pullTimeout === undefined
        ? d.imagePullTimeoutS
        : expectInt(pullTimeout === '' ? NaN : Number(pullTimeout), 'agent.image_pull_timeout', {
            min: 1,
            max: 86_400,
          })),
    insecureRegistries: parseRegistryList(
      kv.get('agent.insecure_registries') ?? '',
      'agent.insecure_registries',
    ),
    imageScratchSerial: d.imageScratchSerial,
    imageStoreDir: d.imageStoreDir,
    imageMapperName: d.imageMapperName,
    cryptsetupBinary: d.cryptsetupBinary,
    mkfsBinary: d.mkfsBinary,
    cdhSocket: d.cdhSocket,
    cdhCallTimeoutMs: d.cdhCallTimeoutMs,
    cdhWaitMs: d.cdhWaitMs,
    cdhConfigPath: d.cdhConfigPath,
  };
  return { config: Object.freeze(config), ignoredKeys };
}
