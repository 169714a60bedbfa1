import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  ContainerStatusRequest,
  CreateContainerRequest,
  CriClient,
  PodSandboxConfig,
  RunPodSandboxRequest,
} from '#src/protocol/cri/index.js';
import { kbsInitDataToml } from '#src/host/policy-gen/index.js';
import { INITDATA_ANNOTATION, encodeInitDataAnnotation } from '#src/tee/index.js';
import { encryptLayout, parseKeyProviderConfig } from '#src/host/image-crypt/index.js';
import { buildImage, sh } from '#test/helpers/images.js';
import { startKbsProgram, type KbsProgram } from '#test/helpers/kbs-program.js';
import { makeKubeletVolume } from '#test/helpers/kubelet-volume.js';
import { registryUnavailableReason, startRegistry } from '#test/helpers/registry.js';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';
import { BUSYBOX_IMAGE } from '#test/helpers/test-images.js';
import { ctr, podGatewayAddress, podVmEnv, qemuPids, shimLog } from './setup/pod-vm-env.js';

const DENY_ALL = 'package policy\n\nimport rego.v1\n\ndefault allow := false\n';

/**
 * Guest attestation in a coco-dev pod VM (tee none, confidential = false: the workload rootfs comes
 * from the host until in-guest image pull is the default): our KBS runs on the host as its own
 * program, the pod's initdata names it, and the container talks to the guest components on
 * 127.0.0.1:8006.
 */
const env = podVmEnv();
if (env.problem !== '') console.log(`skipping VM tests: ${env.problem}`);

const sha384 = (t: string): string => createHash('sha384').update(t).digest('hex');
const b64url = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');

const initDataToml = (kbsUrl: string): string => kbsInitDataToml({ kbsUrl });

/** A vault sealed secret naming a KBS resource (unsigned, as upstream's tooling makes for tests). */
const vaultSecret = (uri: string): string =>
  `sealed.fakejwsheader.${b64url({ version: '0.1.0', type: 'vault', name: uri, provider: 'kbs', provider_settings: {}, annotations: {} })}.fakesignature`;

/** Shell: GET a REST path; retries while the guest components are not listening yet. */
const restGet = (path: string): string =>
  [
    'n=0',
    'while :; do',
    // busybox nc quits at stdin EOF: keep stdin open until the answer (HTTP/1.0: server closes)
    `  out=$({ printf 'GET ${path} HTTP/1.0\\r\\nHost: 127.0.0.1\\r\\n\\r\\n'; sleep 8; } | nc 127.0.0.1 8006 2>&1)`,
    '  case "$out" in HTTP/*) echo "$out"; break ;; esac',
    '  n=$((n+1)); [ $n -gt 400 ] && { echo "never reachable: $out"; exit 1; }',
    '  sleep 1',
    'done',
  ].join('\n');

/** The tail of a pod VM's console log (for failure messages). */
function consoleOf(p: Pod, lines = 60): string {
  try {
    return readFileSync(join(env.stateDir, p.podId, 'console.log'), 'utf8')
      .split('\n')
      .slice(-lines)
      .join('\n');
  } catch {
    return '(no console log)';
  }
}

const step = (what: string): void => {
  console.log(`[attestation e2e] ${new Date().toISOString()} ${what}`);
};

/** Resource policy releasing to sample evidence whose init-data digest is `digest`. */
const policyForInitData = (digest: string): string =>
  [
    'package policy',
    'import rego.v1',
    'default allow := false',
    'allow if {',
    '\tev := input.submods.cpu0["ear.veraison.annotated-evidence"]',
    '\tev.sample',
    `\tev.init_data_claims.digest == "${digest}"`,
    `\tev.init_data == "${digest}"`,
    '}',
    '',
  ].join('\n');

/**
 * Builds a busybox image with a marker layer, encrypts it with `kata-cc keyprovider` (run over
 * the ocicrypt keyprovider protocol by encryptLayout, the code of `kata-cc image encrypt`) under
 * the KEK `kid` names, and pushes it.
 */
async function pushEncryptedImage(
  host: string,
  name: string,
  kek: Uint8Array,
  kid: string,
  marker: string,
): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'kata-att-enc-'));
  try {
    const plain = await buildImage({
      layers: [
        [
          { kind: 'busybox', path: 'bin/busybox' },
          ...['sh', 'cat', 'wget', 'echo'].map(
            (a) => ({ kind: 'symlink', path: `bin/${a}`, target: 'busybox' }) as const,
          ),
        ],
        [{ kind: 'file', path: 'etc/marker', content: `${marker}\n` }],
      ],
    });
    const kekFile = join(work, 'kek');
    writeFileSync(kekFile, kek, { mode: 0o600 });
    const bundle = join(PROJECT_ROOT, 'dist', 'kata-cc.mjs');
    const keyProviders = parseKeyProviderConfig(
      JSON.stringify({
        'key-providers': {
          'kata-cc': { cmd: { path: process.execPath, args: [bundle, 'keyprovider'] } },
        },
      }),
      'test',
    );
    const enc = join(work, 'enc');
    await encryptLayout({
      source: plain,
      destination: { dir: enc, tag: 'enc' },
      recipients: [
        { kind: 'provider', name: 'kata-cc', params: `keypath=${kekFile}::keyid=${kid}` },
      ],
      keyProviders,
    });
    await sh([
      'skopeo',
      'copy',
      '--dest-tls-verify=false',
      `oci:${enc}:enc`,
      `docker://${host}/${name}`,
    ]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

interface Pod {
  readonly cri: CriClient;
  readonly podId: string;
  readonly config: PodSandboxConfig;
  readonly logDir: string;
}

async function runPod(name: string, annotations: Record<string, string>): Promise<Pod> {
  const cri = new CriClient({ address: env.address, timeoutMs: 300_000 });
  const logDir = mkdtempSync(join(tmpdir(), `kata-att-${name}-`));
  const config = PodSandboxConfig.fromPartial({
    metadata: { name, uid: `uid-${name}`, namespace: 'default', attempt: 0 },
    hostname: name,
    log_directory: logDir,
    annotations,
  });
  step(`RunPodSandbox ${name}`);
  const { pod_sandbox_id: podId } = await cri.runtime.RunPodSandbox(
    RunPodSandboxRequest.fromPartial({ config, runtime_handler: 'kata-cc' }),
  );
  step(`pod ${name} ready`);
  return { cri, podId, config, logDir };
}

async function stopPod(p: Pod): Promise<void> {
  try {
    await p.cri.runtime.StopPodSandbox({ pod_sandbox_id: p.podId });
    await p.cri.runtime.RemovePodSandbox({ pod_sandbox_id: p.podId });
  } finally {
    p.cri.close();
    rmSync(p.logDir, { recursive: true, force: true });
  }
}

/** Creates, starts and waits for a container; answers its stdout+stderr text. */
async function runContainer(
  p: Pod,
  name: string,
  script: string,
  envs: Record<string, string> = {},
  mounts: { container_path: string; host_path: string; readonly: boolean }[] = [],
  image: string = BUSYBOX_IMAGE,
): Promise<string> {
  const { container_id: cid } = await p.cri.runtime.CreateContainer(
    CreateContainerRequest.fromPartial({
      pod_sandbox_id: p.podId,
      sandbox_config: p.config,
      config: {
        metadata: { name, attempt: 0 },
        image: { image },
        command: ['sh', '-c', script],
        envs: Object.entries(envs).map(([key, value]) => ({ key, value })),
        mounts,
        log_path: `${name}.log`,
      },
    }),
  );
  step(`container ${name} created`);
  try {
    await p.cri.runtime.StartContainer({ container_id: cid });
    let state = -1;
    for (let i = 0; i < 400 && state !== 2; i++) {
      const st = await p.cri.runtime.ContainerStatus(
        ContainerStatusRequest.fromPartial({ container_id: cid }),
      );
      state = st.status?.state ?? -1;
      if (state !== 2) await new Promise((r) => setTimeout(r, 500));
    }
    step(`container ${name} state ${String(state)}`);
    expect(state, `${shimLog(env, p.podId)}\n--- console ---\n${consoleOf(p)}`).toBe(2);
    return readFileSync(join(p.logDir, `${name}.log`), 'utf8')
      .split('\n')
      .map((l) => l.split(' ').slice(3).join(' '))
      .join('\n');
  } finally {
    await p.cri.runtime.RemoveContainer({ container_id: cid });
  }
}

describe.skipIf(env.problem !== '')('guest attestation in a coco-dev pod VM', () => {
  let kbs: KbsProgram;
  beforeAll(async () => {
    kbs = await startKbsProgram({ host: '0.0.0.0' });
  });
  afterAll(async () => {
    await kbs.stop();
  });

  test(
    'a pod with initdata naming the KBS: evidence, a resource via 127.0.0.1:8006, a policy keyed on init-data, a sealed env var and a sealed secret file, a deny-all denial',
    { timeout: 900_000 },
    async () => {
      const toml = initDataToml(`http://${podGatewayAddress(env)}:${String(kbs.port)}`);
      const digest = sha384(toml);
      await kbs.putResource('default/e2e/one', 'resource-one');
      await kbs.putResource('default/e2e/sealed', 'sealed-value');
      // Keyed on init-data: the digest the KBS computed over the init-data of the attest request
      // (which the sample evidence had to match).
      await kbs.setResourcePolicy(
        [
          'package policy',
          'import rego.v1',
          'default allow := false',
          'allow if {',
          '\tev := input.submods.cpu0["ear.veraison.annotated-evidence"]',
          '\tev.sample',
          `\tev.init_data_claims.digest == "${digest}"`,
          `\tev.init_data == "${digest}"`,
          '}',
          '',
        ].join('\n'),
      );
      const pod = await runPod('att-kbs', {
        [INITDATA_ANNOTATION]: encodeInitDataAnnotation(new TextEncoder().encode(toml)),
      });
      try {
        expect(qemuPids(pod.podId)).toHaveLength(1);
        const ev = await runContainer(pod, 'ev', restGet('/aa/evidence?runtime_data=abc'));
        expect(ev, shimLog(env, pod.podId)).toContain('HTTP/1.1 200');
        const body = JSON.parse(ev.slice(ev.indexOf('{'), ev.lastIndexOf('}') + 1)) as {
          report_data: string;
          init_data: string;
        };
        expect(Buffer.from(body.report_data, 'base64').subarray(0, 3).toString()).toBe('abc');
        expect(Buffer.from(body.init_data, 'base64').toString('hex')).toBe(digest);

        const res = await runContainer(
          pod,
          'res',
          `wget -q -O- http://127.0.0.1:8006/cdh/resource/default/e2e/one; rc=$?; echo " rc=$rc"; [ $rc = 0 ] || { printf 'GET /cdh/resource/default/e2e/one HTTP/1.0\\r\\n\\r\\n'; sleep 8; } | nc 127.0.0.1 8006`,
        );
        expect(res, `${consoleOf(pod)}\n${kbs.log().slice(-3000)}`).toContain('resource-one rc=0');

        // a Secret-style volume (kubelet's layout) with one sealed and one plain file (issue #8)
        const sealedFile = vaultSecret('kbs:///default/e2e/sealed');
        const creds = makeKubeletVolume(join(pod.logDir, 'creds'), {
          password: sealedFile,
          username: 'admin',
        });
        const sealed = await runContainer(
          pod,
          'sealed',
          'echo "S=$S"; echo "P=$(cat /etc/creds/password) U=$(cat /etc/creds/username)"',
          { S: vaultSecret('kbs:///default/e2e/sealed') },
          [{ container_path: '/etc/creds', host_path: creds, readonly: true }],
        );
        expect(sealed).toContain('S=sealed-value');
        expect(sealed, shimLog(env, pod.podId)).toContain('P=sealed-value U=admin');
        expect(readFileSync(join(creds, 'password'), 'utf8'), 'the host copy').toBe(sealedFile);

        await kbs.setResourcePolicy(DENY_ALL);
        const denied = await runContainer(pod, 'deny', restGet('/cdh/resource/default/e2e/one'));
        expect(denied).toContain('HTTP/1.1 403');
        expect(denied).toContain('denied by the kbs resource policy');
      } finally {
        await stopPod(pod);
      }
    },
  );

  test(
    'initdata altered after launch: attestation and unsealing are refused',
    { timeout: 900_000 },
    async () => {
      const toml = initDataToml(`http://192.0.2.1:${String(kbs.port)}`);
      // The launch digest (kernel command line, the coco-dev stand-in for MRCONFIGID) names other
      // initdata than the disk the guest reads: the same as the disk being swapped after launch.
      const dropIn = join(dirname(env.configPath), 'config.d', '50-attestation-test.toml');
      mkdirSync(dirname(dropIn), { recursive: true });
      writeFileSync(
        dropIn,
        `[hypervisor]\nkernel_params = ["kata.initdata_digest=sha384:${sha384('other initdata')}"]\n`,
      );
      let pod: Pod;
      try {
        pod = await runPod('att-mismatch', {
          [INITDATA_ANNOTATION]: encodeInitDataAnnotation(new TextEncoder().encode(toml)),
        });
      } finally {
        rmSync(dropIn, { force: true });
      }
      try {
        const out = await runContainer(pod, 'tok', restGet('/aa/token?token_type=kbs'));
        expect(out, shimLog(env, pod.podId)).toContain('HTTP/1.1 403');
        expect(out).toContain('initdata digest does not match');
        const err = await runContainer(pod, 'sealed', 'echo "S=$S"', {
          S: vaultSecret('kbs:///default/e2e/one'),
        }).catch((e: unknown) => e);
        expect(err).toMatchObject({
          message: expect.stringMatching(
            /cannot unseal environment variable S: .*initdata digest does not match/,
          ) as unknown,
        });
      } finally {
        await stopPod(pod);
      }
    },
  );
  test(
    'a confidential pod runs an image whose layers are encrypted with a KEK from the KBS, fetches a resource via 127.0.0.1:8006; with the KBS denying the KEK, CreateContainer fails naming the key',
    { timeout: 1_200_000 },
    async (ctx) => {
      const gw = podGatewayAddress(env);
      const noRegistry = registryUnavailableReason();
      if (gw === '' || noRegistry !== undefined) {
        console.log(
          `skipping the encrypted image pod: ${noRegistry ?? 'no pod network to reach a host registry'}`,
        );
        ctx.skip();
        return;
      }
      const reg = await startRegistry({ listen: gw });
      const image = `${reg.host}/encrypted-e2e:1`;
      const kid = 'kbs:///default/image-kek/e2e';
      const marker = `kata-cc-encrypted-${String(process.pid)}-${String(Date.now())}`;
      const dropIn = join(dirname(env.configPath), 'config.d', '50-encrypted-image.toml');
      let pod: Pod | undefined;
      try {
        step('encrypting and pushing the image');
        const kek = new Uint8Array(randomBytes(32));
        await pushEncryptedImage(reg.host, 'encrypted-e2e:1', kek, kid, marker);
        await kbs.putResource('default/image-kek/e2e', kek);
        await kbs.putResource('default/e2e/conf', 'confidential-resource');
        // CRI needs the image in containerd for the spec; that copy has no marker, so the
        // output can only come from the image the guest pulled and decrypted
        const tag = await ctr(env, ['images', 'tag', '--force', BUSYBOX_IMAGE, image], {
          namespace: 'k8s.io',
        });
        expect(tag.code, tag.stderr).toBe(0);
        const agentPolicy = readFileSync(
          join(PROJECT_ROOT, 'policies', 'agent', 'allow-all-except-exec-process.rego'),
          'utf8',
        );
        const toml = kbsInitDataToml({
          kbsUrl: `http://${gw}:${String(kbs.port)}`,
          insecureRegistries: [reg.host],
          agentPolicy,
        });
        // first the KBS refuses the KEK: the pull fails (the pod keeps no failed image), then it
        // releases it to this initdata and the same image runs
        await kbs.setResourcePolicy(DENY_ALL);
        mkdirSync(dirname(dropIn), { recursive: true });
        writeFileSync(
          dropIn,
          '[runtime]\nconfidential = true\nguest_pull_disk_mib = 256\nimage_pull_timeout_s = 600\n',
        );
        pod = await runPod('att-encrypted', {
          [INITDATA_ANNOTATION]: encodeInitDataAnnotation(new TextEncoder().encode(toml)),
        });
        const err = await runContainer(pod, 'enc-denied', 'cat /etc/marker', {}, [], image).catch(
          (e: unknown) => e,
        );
        expect(err, `${String(err)}\n${kbs.log().slice(-3000)}`).toBeInstanceOf(Error);
        expect((err as Error).message, `${shimLog(env, pod.podId)}\n${consoleOf(pod)}`).toMatch(
          /Failed to decrypt the image layer sha256:[0-9a-f]{64}: the key provider could not unwrap it \(kata-cc: .*key-encryption key kbs:\/\/\/default\/image-kek\/e2e/,
        );

        await kbs.setResourcePolicy(policyForInitData(sha384(toml)));
        const out = await runContainer(
          pod,
          'enc',
          `cat /etc/marker; echo "R=$(wget -q -O- http://127.0.0.1:8006/cdh/resource/default/e2e/conf)"`,
          {},
          [],
          image,
        );
        expect(out, `${consoleOf(pod)}\n${kbs.log().slice(-3000)}`).toContain(marker);
        expect(out).toContain('R=confidential-resource');
        const released = kbs
          .log()
          .split('\n')
          .filter((l) => l.includes('"resource released"'));
        expect(released.some((l) => l.includes('"default/image-kek/e2e"'))).toBe(true);
      } finally {
        rmSync(dropIn, { force: true });
        if (pod) await stopPod(pod);
        await reg.stop();
        // the extra name would become the image name CRI reports for busybox in later tests
        await ctr(env, ['images', 'rm', image], { namespace: 'k8s.io' });
      }
    },
  );
});
