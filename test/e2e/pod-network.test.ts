import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  ContainerStatusRequest,
  CreateContainerRequest,
  CriClient,
  PodSandboxConfig,
  PodSandboxStatusRequest,
  RunPodSandboxRequest,
} from '#src/protocol/cri/index.js';
import { run } from '#test/helpers/containerd.js';
import { BUSYBOX_IMAGE } from '#test/helpers/test-images.js';
import { podGatewayAddress, podVmEnv, qemuPids, shimLog } from './setup/pod-vm-env.js';

const env = podVmEnv();
if (env.problem !== '') console.log(`skipping VM tests: ${env.problem}`);

function listen(server: Server, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** The text of a CRI container log (`<time> <stream> <F|P> <text>` lines). */
function criLogText(path: string): string {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split(' ').slice(3).join(' '))
    .join('\n');
}

function section(text: string, name: string): string {
  const start = text.indexOf(`---${name}\n`);
  const end = text.indexOf('\n---', start + 1);
  return start < 0 ? '' : text.slice(start + name.length + 4, end < 0 ? undefined : end + 1);
}

async function waitExited(cri: CriClient, cid: string): Promise<number> {
  for (let i = 0; i < 480; i++) {
    const st = await cri.runtime.ContainerStatus(
      ContainerStatusRequest.fromPartial({ container_id: cid }),
    );
    if (st.status?.state === 2) return st.status.exit_code;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`container ${cid} did not exit`);
}

describe.skipIf(env.problem !== '')('pod networking inside the VM (tc redirect)', () => {
  test('a CRI pod container sees the pod IP, reaches a host HTTP service and gets CRI hosts/resolv.conf; nothing is left after removal', async () => {
    const gateway = podGatewayAddress(env);
    expect(gateway).toMatch(/^10\.\d+\.\d+\.1$/);
    const token = randomBytes(12).toString('hex');
    const server = createServer((_req, res) => {
      res.end(`hello-from-host-${token}`);
    });
    const port = await listen(server, gateway);
    const cri = new CriClient({ address: env.address, timeoutMs: 240_000 });
    const logDir = mkdtempSync(join(tmpdir(), 'kata-net-log-'));
    let livePod = '';
    try {
      const sandboxConfig = PodSandboxConfig.fromPartial({
        metadata: { name: 'net-pod', uid: 'uid-net-pod', namespace: 'default', attempt: 0 },
        hostname: 'net-pod',
        log_directory: logDir,
        dns_config: {
          servers: ['10.0.0.53'],
          searches: ['pods.example.test'],
          options: ['ndots:2'],
        },
      });
      const { pod_sandbox_id: podId } = await cri.runtime.RunPodSandbox(
        RunPodSandboxRequest.fromPartial({ config: sandboxConfig, runtime_handler: 'kata-cc' }),
      );
      livePod = podId;
      const status = await cri.runtime.PodSandboxStatus(
        PodSandboxStatusRequest.fromPartial({ pod_sandbox_id: podId, verbose: true }),
      );
      const podIp = status.status?.network?.ip ?? '';
      expect(podIp, shimLog(env, podId)).toMatch(/^10\.\d+\.\d+\.\d+$/);
      const info = JSON.parse(status.info['info'] ?? '{}') as {
        runtimeSpec?: { linux?: { namespaces?: { type: string; path?: string }[] } };
      };
      const netns =
        info.runtimeSpec?.linux?.namespaces?.find((n) => n.type === 'network')?.path ?? '';
      expect(netns).toMatch(/^\/var\/run\/netns\/cni-/);
      const tc = await run(
        ['nsenter', `--net=${netns}`, 'tc', 'filter', 'show', 'dev', 'eth0', 'ingress'],
        { timeoutMs: 10_000 },
      );
      expect(tc.stdout, 'eth0 ingress is redirected to the tap').toMatch(
        /mirred.*Redirect to device tap0_kata/i,
      );

      const { container_id: cid } = await cri.runtime.CreateContainer(
        CreateContainerRequest.fromPartial({
          pod_sandbox_id: podId,
          sandbox_config: sandboxConfig,
          config: {
            metadata: { name: 'net', attempt: 0 },
            image: { image: BUSYBOX_IMAGE },
            command: [
              'sh',
              '-c',
              // (no wget -T: busybox 1.35's wget segfaults with a timeout)
              `echo ---addr; ip -o addr show; echo ---route; ip route; echo ---http; wget -q -O- http://${gateway}:${port}/ || echo wget failed: $?; echo; echo ---hosts; cat /etc/hosts; echo ---resolv; cat /etc/resolv.conf; echo ---end`,
            ],
            log_path: 'net.log',
          },
        }),
      );
      await cri.runtime.StartContainer({ container_id: cid });
      const exit = await waitExited(cri, cid);
      const out = criLogText(join(logDir, 'net.log'));
      expect(exit, `${out}\n${shimLog(env, podId)}`).toBe(0);
      expect(section(out, 'addr'), 'the container sees the pod IP').toContain(`inet ${podIp}/24`);
      expect(section(out, 'route'), 'the default route of the pod netns').toContain(
        `default via ${gateway} dev eth0`,
      );
      expect(section(out, 'http'), `${out}\n${shimLog(env, podId, 300)}`).toContain(
        `hello-from-host-${token}`,
      );
      const criDir = join(
        dirname(env.state),
        'root',
        'io.containerd.grpc.v1.cri',
        'sandboxes',
        podId,
      );
      expect(section(out, 'hosts')).toBe(readFileSync(join(criDir, 'hosts'), 'utf8'));
      const resolv = readFileSync(join(criDir, 'resolv.conf'), 'utf8');
      expect(resolv).toContain('nameserver 10.0.0.53');
      expect(section(out, 'resolv')).toBe(resolv);

      await cri.runtime.RemoveContainer({ container_id: cid });
      await cri.runtime.StopPodSandbox({ pod_sandbox_id: podId });
      await cri.runtime.RemovePodSandbox({ pod_sandbox_id: podId });
      livePod = '';
      await new Promise((r) => setTimeout(r, 500));
      expect(qemuPids(podId)).toEqual([]);
      expect(existsSync(netns), 'the pod netns is gone (and its taps with it)').toBe(false);
      const links = await run(['ip', '-o', 'link', 'show'], { timeoutMs: 10_000 });
      expect(links.stdout).not.toMatch(/tap\d+_kata/);
      expect(shimLog(env, podId, 2000)).toContain('pod network wired');
    } finally {
      if (livePod !== '') {
        // a failed assertion must not leak the pod (its VM, netns and taps)
        await cri.runtime.StopPodSandbox({ pod_sandbox_id: livePod }).catch(() => undefined);
        await cri.runtime.RemovePodSandbox({ pod_sandbox_id: livePod }).catch(() => undefined);
      }
      cri.close();
      server.close();
      rmSync(logDir, { recursive: true, force: true });
    }
  });
});
