import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CcError, sleep, type Env, type Secret } from '#src/lib/index.js';
import { ContainerConfig, CriClient, PodSandboxConfig } from '#src/protocol/cri/index.js';
import { INITDATA_ANNOTATION } from '#src/tee/index.js';
import { buildBusyboxLayout, pushLayout, tarLayout } from './demo-images.js';
import { DEMO_KEK_PATH, encryptDemoImage } from './demo-encryption.js';
import {
  alive,
  criLogLines,
  guestImage,
  processesWith,
  removePod,
  unmountBelow,
  waitExited,
  writeKataConfig,
} from './demo-host.js';
import { createDemoNetwork, type DemoNetwork } from './demo-network.js';
import { DemoSteps } from './demo-steps.js';
import {
  DEMO_SECRET_PATH,
  demoInitData,
  demoPodScript,
  initDataAnnotationValue,
} from './demo-workload.js';
import { releasedResources, startDemoKbs, type DemoKbs } from './kbs-for-demo.js';
import { startLocalRegistry, type LocalRegistry } from './local-registry.js';
import { startPrivateContainerd, type PrivateContainerd } from './private-containerd.js';

export interface DemoOptions {
  readonly projectRoot: string;
  readonly out: NodeJS.WritableStream;
  readonly env: Env;
  readonly signal: AbortSignal;
  /** Keep the demo's folder (logs, console, state) instead of removing it. */
  readonly keep: boolean;
  readonly accel: 'auto' | 'kvm' | 'tcg';
}

const SANDBOX_IMAGE = 'localhost/pause:3.9';
const PAUSE_ENTRYPOINT = [
  '/bin/sh',
  '-c',
  "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done",
];

/** What the demo started; teardown stops it in reverse order and reports what is left. */
class DemoRun {
  network: DemoNetwork | undefined;
  registry: LocalRegistry | undefined;
  kbs: DemoKbs | undefined;
  containerd: PrivateContainerd | undefined;
  cri: CriClient | undefined;
  podId: string | undefined;
  readonly #pids: { what: string; pid: number }[] = [];

  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  track(what: string, pid: number): void {
    this.#pids.push({ what, pid });
  }

  /** Idempotent; answers what is still running (empty: nothing is left). */
  async teardown(): Promise<string[]> {
    if (this.cri && this.podId !== undefined)
      await removePod(this.cri, this.podId).catch(() => undefined);
    this.podId = undefined;
    this.cri?.close();
    this.cri = undefined;
    await this.containerd?.stop();
    await this.kbs?.stop();
    await this.registry?.stop();
    await this.network?.remove();
    await unmountBelow(this.dir);
    const left = this.#pids.filter((p) => alive(p.pid)).map((p) => `${p.what} (pid ${p.pid})`);
    for (const pid of processesWith(join(this.dir, 'ks'))) left.push(`QEMU/shim (pid ${pid})`);
    return left;
  }
}

async function buildImages(o: DemoOptions): Promise<{ busybox: string; pause: string }> {
  const cache = join(o.projectRoot, '.cache', 'demo-images');
  const busybox = await buildBusyboxLayout(
    cache,
    { name: 'busybox', tag: 'latest', cmd: ['sh'] },
    o.signal,
  );
  const pause = await buildBusyboxLayout(
    cache,
    { name: 'pause', tag: '3.9', cmd: [], entrypoint: PAUSE_ENTRYPOINT },
    o.signal,
  );
  return { busybox, pause };
}

async function provisionKbs(
  o: DemoOptions,
  kbs: DemoKbs,
  secret: string,
  kek: Secret<Uint8Array>,
): Promise<void> {
  // coco-dev's evidence is the sample TEE's: an affirming appraisal needs its svn as a reference
  // value, and the resource policy must release to affirming sample evidence (development only).
  await kbs.setReferenceValue('sample.svn', ['1']);
  await kbs.setResourcePolicy(
    readFileSync(join(o.projectRoot, 'policies', 'kbs', 'allow-affirming.rego'), 'utf8'),
  );
  await kbs.putResource(DEMO_SECRET_PATH, secret);
  await kbs.putResource(DEMO_KEK_PATH, kek.reveal());
}

/** The demo: a kata-cc pod end to end through containerd's CRI on loopback, step by step. */
export async function runDemo(o: DemoOptions): Promise<void> {
  // under /run: the per-sandbox agent socket path must stay below 108 bytes
  const dir = mkdtempSync(join(existsSync('/run') ? '/run' : tmpdir(), 'kcc-demo-'));
  const steps = new DemoSteps(o.out, 12);
  const run = new DemoRun(dir);
  const sig = o.signal;
  try {
    const image = await steps.step(
      'guest image (kernel, initramfs, dm-verity root)',
      () => guestImage(o.projectRoot, o.env, sig),
      (g) => `kernel ${g.kernelRelease}, ${g.manifest}`,
    );
    const net = await steps.step(
      "pod network: a host-only bridge (the host is the pods' gateway)",
      async () => (run.network = await createDemoNetwork(sig)),
      (n) => `${n.bridge} ${n.subnet}, gateway ${n.gateway}, no NAT`,
    );
    const reg = await steps.step(
      'local OCI registry on the pod network',
      async () => {
        run.registry = await startLocalRegistry(join(dir, 'registry'), sig, net.gateway);
        run.track('docker-registry', run.registry.pid);
        return run.registry;
      },
      (r) => r.host,
    );
    const ref = `${reg.host}/demo/busybox:latest`;
    const images = await steps.step(
      'build busybox and pause images; encrypt busybox with kata-cc keyprovider and push it',
      async () => {
        const built = await buildImages(o);
        const enc = await encryptDemoImage({
          projectRoot: o.projectRoot,
          plainLayout: built.busybox,
          dir,
          signal: sig,
        });
        await pushLayout(enc.layout, 'latest', ref, sig);
        steps.say(`pushed ${ref} (${enc.manifestDigest.slice(0, 19)}…)`);
        steps.say(
          `its layers are encrypted (ocicrypt AES-256-CTR + HMAC); each layer key is wrapped with a fresh key-encryption key by kata-cc keyprovider (A256GCM) into an annotation naming ${enc.kid}`,
        );
        steps.say(
          'the pod is confidential: its guest pulls this image itself (plain HTTP, allowed by initdata), gets the KEK from the KBS after attestation, decrypts and unpacks into an encrypted scratch disk; nothing of the rootfs comes from the host',
        );
        return { ...built, kek: enc.kek };
      },
    );
    const secret = `demo-secret-${randomBytes(6).toString('hex')}`;
    const kbs = await steps.step(
      'KBS (dist/kbs.mjs serve) on the pod network, provisioned',
      async () => {
        run.kbs = await startDemoKbs({
          projectRoot: o.projectRoot,
          dir: join(dir, 'kbs'),
          host: net.gateway,
          env: o.env,
          signal: sig,
        });
        run.track('KBS', run.kbs.pid);
        await provisionKbs(o, run.kbs, secret, images.kek);
        steps.say(`resource ${DEMO_SECRET_PATH} = ${secret}`);
        steps.say(`resource ${DEMO_KEK_PATH} = the image's key-encryption key (32 bytes)`);
        steps.say(
          'resource policy policies/kbs/allow-affirming.rego; reference value sample.svn = 1',
        );
        steps.say(
          'coco-dev has no TEE: the guest sends sample evidence, which proves nothing; the KBS accepts it only because it runs with --allow-sample',
        );
        return run.kbs;
      },
      { detail: (k) => k.url, log: join(dir, 'kbs', 'kbs.log') },
    );
    const config = writeKataConfig(dir, image.manifest, o.accel);
    const containerd = await steps.step(
      'containerd with CRI and the kata-cc runtime handler',
      async () => {
        const c = await startPrivateContainerd({
          dir: join(dir, 'containerd'),
          shimBundle: join(o.projectRoot, 'dist', 'containerd-shim-kata-cc-v2.mjs'),
          sandboxImage: SANDBOX_IMAGE,
          insecureRegistries: [reg.host],
          cniConflist: net.conflist(join(dir, 'containerd')),
          env: { ...o.env, KATA_CC_CONFIG: config },
          signal: sig,
        });
        run.containerd = c;
        run.track('containerd', c.pid);
        await c.ctr([
          'images',
          'import',
          '--base-name',
          'localhost/pause',
          await tarLayout(images.pause, join(dir, 'pause.tar'), sig),
        ]);
        // CRI needs an image config for the container spec, and the host cannot unpack encrypted
        // layers (it has no key): containerd gets the plain busybox under the same name, which
        // the confidential pod never uses (its guest pulls and decrypts the registry's image)
        await c.ctr([
          'images',
          'import',
          '--base-name',
          ref.slice(0, ref.lastIndexOf(':')),
          await tarLayout(images.busybox, join(dir, 'busybox.tar'), sig),
        ]);
        return c;
      },
      { detail: (c) => c.address, log: join(dir, 'containerd', 'containerd.log') },
    );
    const cri = new CriClient({ address: containerd.address, timeoutMs: 300_000 });
    run.cri = cri;
    await runPod(o, steps, run, {
      cri,
      ref,
      registry: reg.host,
      kbsUrl: kbs.url,
      logDir: join(dir, 'pod-logs'),
    });
    const left = await steps.step(
      'tear down: containerd, KBS, registry, bridge',
      () => run.teardown(),
      (l) =>
        l.length === 0
          ? 'nothing left (no QEMU, shim, KBS, registry, containerd)'
          : `STILL RUNNING: ${l.join(', ')}`,
    );
    const total = steps.records.reduce((a, r) => a + r.ms, 0);
    o.out.write(
      `\ndemo finished in ${(total / 1000).toFixed(1)} s; logs: ${o.keep ? dir : '(removed; pass --keep to keep them)'}\n`,
    );
    if (left.length > 0)
      throw new CcError(
        'internal',
        'ERR_DEMO_LEFTOVER',
        `still running after the demo: ${left.join(', ')}`,
      );
  } finally {
    // a failed run still tears everything down, so no VM, shim, process or mount is left behind
    await run.teardown().catch(() => undefined);
    if (!o.keep)
      await rm(dir, { recursive: true, force: true, maxRetries: 3 }).catch(() => undefined);
  }
}

interface PodInputs {
  readonly cri: CriClient;
  readonly ref: string;
  /** `HOST:PORT` of the registry the guest pulls from. */
  readonly registry: string;
  readonly kbsUrl: string;
  readonly logDir: string;
}

async function runPod(o: DemoOptions, steps: DemoSteps, run: DemoRun, p: PodInputs): Promise<void> {
  const sig = o.signal;
  const { cri, ref } = p;
  const shimLogs = join(run.dir, 'ks');
  await steps.step(
    'CRI ImageStatus: the spec image on the host is a plain stand-in, the registry has the encrypted one',
    async () => {
      const st = await cri.image.ImageStatus(
        {
          image: {
            image: ref,
            annotations: {},
            user_specified_image: ref,
            runtime_handler: '',
            image_ref: '',
          },
          verbose: false,
        },
        { signal: sig },
      );
      if (!st.image)
        throw new CcError('not_found', 'ERR_DEMO_STEP', `containerd has no image ${ref}`);
      steps.say(
        'containerd cannot unpack the encrypted layers (the host has no key): it holds the plain busybox under this name, only as the image config CRI needs for the container spec',
      );
      return st.image.id;
    },
    (id) => id,
  );
  const agentPolicy = readFileSync(
    join(o.projectRoot, 'policies', 'agent', 'allow-all-except-exec-process.rego'),
    'utf8',
  );
  const podConfig = PodSandboxConfig.fromPartial({
    metadata: { name: 'demo', uid: 'demo-uid', namespace: 'default', attempt: 0 },
    hostname: 'demo',
    log_directory: p.logDir,
    annotations: {
      [INITDATA_ANNOTATION]: initDataAnnotationValue(
        demoInitData(p.kbsUrl, agentPolicy, [p.registry]),
      ),
    },
  });
  const pod = await steps.step(
    'RunPodSandbox (handler kata-cc, confidential, initdata naming the KBS): the pod VM boots',
    async () => {
      steps.say(
        `initdata: aa.toml + cdh.toml → ${p.kbsUrl}, [image] insecure_registries = ${p.registry}; policy.rego = allow-all-except-exec-process`,
      );
      const r = await cri.runtime.RunPodSandbox(
        { config: podConfig, runtime_handler: 'kata-cc' },
        { signal: sig },
      );
      run.podId = r.pod_sandbox_id;
      return r.pod_sandbox_id;
    },
    { detail: (id) => `sandbox ${id.slice(0, 12)}`, log: shimLogs },
  );
  const cid = await steps.step(
    'CreateContainer (the guest attests, gets the KEK from the KBS, pulls and decrypts the image) + StartContainer',
    async () => {
      const created = await cri.runtime.CreateContainer(
        {
          pod_sandbox_id: pod,
          sandbox_config: podConfig,
          config: ContainerConfig.fromPartial({
            metadata: { name: 'hello', attempt: 0 },
            image: { image: ref, user_specified_image: ref },
            command: ['sh', '-c', demoPodScript()],
            working_dir: '/',
            log_path: 'hello.log',
          }),
        },
        { signal: sig },
      );
      await cri.runtime.StartContainer({ container_id: created.container_id }, { signal: sig });
      return created.container_id;
    },
    { log: shimLogs },
  );
  await steps.step(
    'container output: attestation, then the secret through the CDH',
    async () => {
      const code = await waitExited(cri, cid, sig);
      await sleep(300, sig);
      for (const line of criLogLines(join(p.logDir, 'hello.log'))) steps.say(`| ${line}`);
      const released = releasedResources(join(run.dir, 'kbs', 'kbs.log'));
      steps.say(
        `the KBS released to the attested pod: ${released.join(', ') || 'nothing'}${released.includes(DEMO_KEK_PATH) ? ` (${DEMO_KEK_PATH}: the key that unwrapped the image's layer keys)` : ''}`,
      );
      return code;
    },
    { detail: (code) => `exit code ${code}`, log: join(run.dir, 'kbs', 'kbs.log') },
  );
  await steps.step(
    'StopPodSandbox + RemovePodSandbox',
    async () => {
      await removePod(cri, pod);
      run.podId = undefined;
      return processesWith(shimLogs).length;
    },
    (n) => (n > 0 ? `${n} QEMU/shim processes still running!` : 'no QEMU left'),
  );
}
