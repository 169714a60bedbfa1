/**
 * A kubelet Secret-style volume from the host's shareFileMounts through the real AgentClient over
 * ttrpc to the guest's CopyFile (the policy generated from our rules decides every request, as in
 * the guest), written below a temp folder standing in for /run/kata-containers/shared/containers.
 */
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { NULL_LOGGER } from '#src/lib/index.js';
import { TtrpcClient, TtrpcServer, registerTypedService } from '#src/protocol/ttrpc/index.js';
import type { CopyFileRequest } from '#src/protocol/agent/index.js';
import { AgentClient, GUEST_SHARED_FILES_DIR } from '#src/host/agent/index.js';
import { shareFileMounts } from '#src/host/runtime/vm-files.js';
import {
  factsOfConfig,
  generatePolicies,
  loadSettings,
  StaticImageSource,
} from '#src/host/policy-gen/index.js';
import { AGENT_SERVICE_DEF, AgentError } from '#guest/agent/index.js';
import { copyFileChunk, copyFilePolicyInput, parseCopyFile } from '#guest/network/index.js';
import { compileAgentPolicy, RegoAgentPolicy } from '#guest/policy/index.js';
import { PROJECT_ROOT } from '#test/helpers/source-files.js';
import { KUBELET_DATA_DIR, makeKubeletVolume } from '#test/helpers/kubelet-volume.js';
import { agentPolicyDir, hasAgentPolicyData } from '#test/unit/src/rego/genpolicy-request.js';

const hasData = hasAgentPolicyData();
if (!hasData) console.log('skipping shared volume copy test: the genpolicy test data is missing');

const CID = 'a'.repeat(64);
const PAUSE =
  'registry.k8s.io/pause:3.6@sha256:3d380ca8864549e74af4b29c10f9cb0956236dfb01c40ca076fb6c37253234db';
const GID =
  'ghcr.io/burgerdev/weird-images/gid:latest@sha256:bdbb485bb9e3baf381a2957b9369b6051c6113097a5f8dcee27faff17624a2c0';
const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

describe.skipIf(!hasData)(
  'shared volume: host copy ⇄ guest CopyFile under the agent policy',
  () => {
    let work: string;
    let guestRoot: string;
    let server: TtrpcServer;
    let client: TtrpcClient;
    let agent: AgentClient;
    const decisions: string[] = [];

    beforeAll(async () => {
      work = mkdtempSync(join(tmpdir(), 'kata-shared-vol-'));
      guestRoot = join(work, 'guest', 'shared');
      const images = new StaticImageSource();
      images.set(PAUSE, factsOfConfig({ config: { Entrypoint: ['/pause'], Env: [PATH_ENV] } }));
      images.set(
        GID,
        factsOfConfig({ config: { Entrypoint: ['/entrypoint.sh'], Env: [PATH_ENV] } }),
      );
      const dir = join(PROJECT_ROOT, 'policies', 'agent');
      const pod = readFileSync(
        join(agentPolicyDir(), 'genpolicy-tests', 'copyfile', 'pod.yaml'),
        'utf8',
      );
      const gen = await generatePolicies(pod, 'pod.yaml', {
        rules: readFileSync(join(dir, 'rules.rego'), 'utf8'),
        settings: loadSettings(join(dir, 'settings.json')),
        images,
      });
      const policy = new RegoAgentPolicy(
        compileAgentPolicy(gen.policies[0]!.policy, 'policy.rego'),
        {
          logger: NULL_LOGGER,
          source: 'initdata',
        },
      );
      server = new TtrpcServer({ logger: NULL_LOGGER });
      registerTypedService(server, AGENT_SERVICE_DEF, {
        CopyFile: async (req: CopyFileRequest) => {
          const d = await policy.check('CopyFileRequest', copyFilePolicyInput(req));
          decisions.push(
            `${req.path.slice(GUEST_SHARED_FILES_DIR.length)} ${d.allowed ? 'allowed' : d.reason}`,
          );
          if (!d.allowed) throw new AgentError('permission_denied', 'ERR_AGENT_POLICY', d.reason);
          const path = guestRoot + req.path.slice(GUEST_SHARED_FILES_DIR.length);
          await copyFileChunk(parseCopyFile({ ...req, path }, guestRoot), guestRoot);
          return {};
        },
      });
      const sock = join(work, 'agent.sock');
      await server.listen(sock);
      const s = connect(sock);
      await new Promise<void>((ok, fail) => s.once('connect', ok).once('error', fail));
      client = new TtrpcClient(s);
      agent = new AgentClient(client, NULL_LOGGER, 10_000);
    }, 120_000);

    afterAll(async () => {
      await client.close();
      await server.close();
      rmSync(work, { recursive: true, force: true });
    });

    test('the container-side view resolves every key; escaping symlinks never reach the guest', async () => {
      const vol = makeKubeletVolume(
        join(work, 'pods', 'u1', 'volumes', 'kubernetes.io~secret', 'creds'),
        { username: 'admin', password: 'sealed.fake', 'tls/ca.crt': 'CA' },
      );
      symlinkSync('/etc/shadow', join(vol, 'shadow'));
      const out = await shareFileMounts(
        agent,
        CID,
        {
          mounts: [
            { destination: '/etc/creds', type: 'bind', source: vol, options: ['rbind', 'ro'] },
          ],
        },
        NULL_LOGGER,
      );
      const source = (out['mounts'] as { source: string }[])[0]!.source;
      const copy = guestRoot + source.slice(GUEST_SHARED_FILES_DIR.length);
      expect(decisions.filter((d) => !d.endsWith(' allowed'))).toEqual([]);
      expect(decisions, 'root, 2 folders, 3 key symlinks, ..data, 3 files').toHaveLength(10);
      expect(readFileSync(join(copy, 'username'), 'utf8')).toBe('admin');
      expect(readFileSync(join(copy, 'password'), 'utf8')).toBe('sealed.fake');
      expect(readFileSync(join(copy, 'tls', 'ca.crt'), 'utf8')).toBe('CA');
      expect(readlinkSync(join(copy, '..data'))).toBe(KUBELET_DATA_DIR);
      expect(readlinkSync(join(copy, 'username'))).toBe('..data/username');
      expect(() => lstatSync(join(copy, 'shadow'))).toThrow();
    });

    test('the policy refuses what a hostile host could send instead', async () => {
      const path = `${GUEST_SHARED_FILES_DIR}/${CID}-0123456789abcdef-x`;
      await expect(
        agent.copySymlink({ path: `${path}/l`, target: '../../../etc', uid: 0, gid: 0 }),
      ).rejects.toMatchObject({ kind: 'permission_denied' });
      await expect(agent.copySymlink({ path, target: 'y', uid: 0, gid: 0 })).rejects.toMatchObject({
        kind: 'permission_denied',
      });
      await expect(
        agent.copyDirectory({ path: '/run/kata-containers/evil', mode: 0o755, uid: 0, gid: 0 }),
      ).rejects.toMatchObject({ kind: 'permission_denied' });
    });
  },
);
