// The guest-components program (entry guest/components-main.ts, bundled to
// dist/guest/guest-components.mjs): the attestation agent, the confidential data hub and the REST
// API in one process, apart from the agent so secrets stay out of the process the host talks to.
import { JsonLogger, describeError } from '#src/lib/index.js';
import { parseAaConfig } from '#guest/aa/index.js';
import { createAttester, type AttesterTee } from '#guest/attester/index.js';
import { parseCdhConfig, socketPath, startGuestComponents } from './index.js';
import { readFileSync } from 'node:fs';
import type { InitData } from '#src/tee/index.js';
import {
  findInitDataDisk,
  parseLaunchDigest,
  readPublishedInitData,
  writeInitDataFiles,
  type LaunchDigest,
} from '#guest/initdata/index.js';

const USAGE = `usage: guest-components [--tee=tdx|snp|sample] [--kbs-url=URL] [--no-rest] [--rest-port=N]
                        [--cmdline=KERNEL-PARAMS]
  Serves the attestation agent (/run/confidential-containers/attestation-agent/attestation-agent.sock),
  the confidential data hub (/run/confidential-containers/cdh.sock) and the REST API (127.0.0.1:8006).
  Config comes from the initdata the agent published (/run/kata-cc/initdata/initdata.toml), else
  the initdata disk (aa.toml, cdh.toml); --kbs-url overrides it. Without a TEE, the launch digest
  the sample attester reports is kata.initdata_digest= on the kernel command line (unmeasured).`;

const log = new JsonLogger({ sink: process.stderr, fields: { program: 'guest-components' } });
const args = process.argv.slice(2);
const flag = (name: string): string | undefined =>
  args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

async function main(): Promise<void> {
  if (args.includes('--help')) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const tee = flag('tee');
  if (tee !== undefined && !['tdx', 'snp', 'sample'].includes(tee)) {
    process.stderr.write(
      `--tee: expected tdx, snp or sample, got ${JSON.stringify(tee)}\n${USAGE}\n`,
    );
    process.exit(2);
  }
  const initData = await loadInitData();
  const data = initData?.data ?? {};
  const aaCfg = data['aa.toml'] === undefined ? undefined : parseAaConfig(data['aa.toml']);
  const cdhCfg = data['cdh.toml'] === undefined ? undefined : parseCdhConfig(data['cdh.toml']);
  const launch = launchDigest();
  const attester = await createAttester({
    tee: tee as AttesterTee | undefined,
    sample: { initDataDigest: launch?.digest },
  });
  const port = flag('rest-port');
  const running = await startGuestComponents({
    attester,
    kbsUrl: flag('kbs-url') ?? aaCfg?.kbsUrl ?? cdhCfg?.kbsUrl,
    kbsCert: aaCfg?.kbsCert ?? cdhCfg?.kbsCert,
    initData: initData
      ? { toml: Buffer.from(initData.toml).toString('utf8'), digest: initData.digest }
      : undefined,
    cdhSocket: cdhCfg?.socket === undefined ? undefined : socketPath(cdhCfg.socket),
    eventLog: aaCfg?.eventlog.enabled === true ? { initPcr: aaCfg.eventlog.initPcr } : undefined,
    rest: args.includes('--no-rest')
      ? false
      : { port: port === undefined ? undefined : Number(port) },
    log,
  });
  const stop = (): void => {
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/** The initdata the agent published at boot; standalone (no agent), the disk itself. */
async function loadInitData(): Promise<InitData | undefined> {
  const published = await readPublishedInitData();
  if (published) return published;
  const found = await findInitDataDisk();
  if (found) await writeInitDataFiles(found.initData);
  return found?.initData;
}

/** `kata.initdata_digest=` of the kernel command line (the sample TEE's stand-in for MRCONFIGID). */
function launchDigest(): LaunchDigest | undefined {
  let cmdline = flag('cmdline');
  if (cmdline === undefined) {
    try {
      cmdline = readFileSync('/proc/cmdline', 'utf8');
    } catch {
      return undefined;
    }
  }
  try {
    return parseLaunchDigest(cmdline);
  } catch (err) {
    // Fail closed: an unreadable launch digest binds nothing, so initdata cannot attest.
    log.error('launch initdata digest invalid', { error: describeError(err) });
    return undefined;
  }
}

main().catch((err: unknown) => {
  log.error('guest components failed', { error: describeError(err) });
  process.exit(1);
});
