import { beforeAll, describe, expect, test } from 'vitest';
import { NULL_LOGGER } from '#src/lib/index.js';
import type { CompiledPolicy } from '#src/rego/index.js';
import { compileAgentPolicy, RegoAgentPolicy } from '#guest/policy/index.js';
import {
  allowedCreateContainerRequest,
  genpolicyText,
  hasAgentPolicyData,
  POD_FILE,
} from '#test/unit/src/rego/genpolicy-request.js';

const hasData = hasAgentPolicyData();
if (!hasData) console.log(`skipping genpolicy agent policy checks: ${POD_FILE} is missing`);

type Req = ReturnType<typeof allowedCreateContainerRequest> & { OCI: Record<string, any> };
const CREATE = 'CreateContainerRequest';
const SANDBOX_NS = 'io.kubernetes.cri.sandbox-namespace';

describe.skipIf(!hasData)(
  'agent policy with the genpolicy policy of pod-one-container.yaml',
  () => {
    let compiled: CompiledPolicy;
    const fresh = (): RegoAgentPolicy =>
      new RegoAgentPolicy(compiled, { logger: NULL_LOGGER, source: 'initdata' });
    const request = (): Req => allowedCreateContainerRequest() as Req;
    beforeAll(() => {
      compiled = compileAgentPolicy(genpolicyText(), 'policy.rego');
    });

    test("allows the pod's own busybox container", async () => {
      const d = await fresh().check(CREATE, request());
      expect(d).toMatchObject({ allowed: true, reason: '' });
      expect(d.prints.at(-1)).toBe('CreateContainerRequest: true');
    });

    test.each<[string, (r: Req) => void, RegExp]>([
      [
        'a changed command',
        (r) => (r.OCI['Process'].Args = ['/bin/sh', '-c', 'id']),
        /^OCI\.Process\.Args: expected \["\/bin\/sh","-c","while true.*got \["\/bin\/sh","-c","id"\]$/,
      ],
      [
        'an extra env var',
        (r) => r.OCI['Process'].Env.push('LD_PRELOAD=/tmp/x.so'),
        /^OCI\.Process\.Env: \["LD_PRELOAD=\/tmp\/x\.so"\] not allowed/,
      ],
      [
        'an added ambient capability',
        (r) => (r.OCI['Process'].Capabilities.Ambient = ['CAP_SYS_ADMIN']),
        /^OCI\.Process\.Capabilities\.Ambient: \["CAP_SYS_ADMIN"\] not allowed/,
      ],
      [
        'a host path mount',
        (r) =>
          r.OCI['Mounts'].push({
            destination: '/host',
            source: '/',
            type_: 'bind',
            options: ['rbind'],
          }),
        /^OCI\.Mounts: mount of "\/" at "\/host" not in the policy$/,
      ],
      [
        'another user id',
        (r) => (r.OCI['Process'].User.UID = 1000),
        /rule is false \(last policy output: .*input uid = 1000 policy uid = 0\)$/,
      ],
      [
        'a read-only root instead of the expected writable one',
        (r) => (r.OCI['Root'].Readonly = true),
        /p Readonly = false i Readonly = true\)$/,
      ],
    ])('denies the container with %s, naming the field', async (_what, change, reason) => {
      const req = request();
      change(req);
      const d = await fresh().check(CREATE, req);
      expect(d.allowed).toBe(false);
      expect(d.reason).toMatch(reason);
      expect(d.prints.length).toBeGreaterThan(0);
    });

    test('does not pin the image name (this genpolicy version leaves guest-pull checks as a TODO)', async () => {
      const req = request();
      req.OCI['Annotations']['io.kubernetes.cri.image-name'] = 'docker.io/library/evil:latest';
      expect((await fresh().check(CREATE, req)).allowed).toBe(true);
    });

    test('carries the policy state: a later container in another namespace is denied', async () => {
      const other = request();
      other.OCI['Annotations'][SANDBOX_NS] = 'kube-system';
      other.OCI['Process'].Env = (other.OCI['Process'].Env as string[]).map((e) =>
        e === 'POD_NAMESPACE=default' ? 'POD_NAMESPACE=kube-system' : e,
      );
      expect((await fresh().check(CREATE, other)).allowed).toBe(true);
      const p = fresh();
      expect((await p.check(CREATE, request())).allowed).toBe(true);
      const d = await p.check(CREATE, other);
      expect(d.allowed).toBe(false);
      expect(d.reason).toContain('state[key] = default value = kube-system');
    });

    test('denies SetPolicy, so the host cannot replace the policy', async () => {
      const p = fresh();
      const d = await p.setPolicy({
        policy: 'package agent_policy\ndefault ExecProcessRequest := true',
      });
      expect(d).toMatchObject({ allowed: false, reason: 'SetPolicyRequest rule is false' });
      expect((await p.check('ExecProcessRequest', {})).allowed).toBe(false);
      expect(p.source).toBe('initdata');
    });

    test('answers the health check although the policy has no rule for it', async () => {
      expect((await fresh().check('CheckRequest', { service: '' })).allowed).toBe(true);
    });
  },
);
