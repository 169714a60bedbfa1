import { kbsInitDataToml } from '#src/host/policy-gen/index.js';
import { encodeInitDataAnnotation } from '#src/tee/index.js';

/** The KBS resource the demo provisions and the pod fetches through the CDH. */
export const DEMO_SECRET_PATH = 'default/demo/secret';

/**
 * The pod's initdata (TOML, sha384): the attestation agent and the CDH both talk to `kbsUrl`, the
 * guest pulls images over plain HTTP only from `insecureRegistries`, and `agentPolicy` (Rego)
 * replaces the guest's built-in agent policy. The digest of this text is bound
 * into the TEE evidence, so the KBS sees exactly which KBS and policy the pod was launched with.
 */
export function demoInitData(
  kbsUrl: string,
  agentPolicy: string,
  insecureRegistries: readonly string[] = [],
): string {
  return kbsInitDataToml({ kbsUrl, agentPolicy, insecureRegistries });
}

/** The pod annotation value carrying `toml` (gzip + base64). */
export function initDataAnnotationValue(toml: string): string {
  return encodeInitDataAnnotation(new TextEncoder().encode(toml));
}

/**
 * The container's shell script (busybox): facts from inside the VM, then the secret through the
 * guest's REST API on 127.0.0.1:8006; the CDH attests to the KBS first. Retries while the guest
 * components are still starting (busybox wget has no usable -T here).
 */
export function demoPodScript(secretPath: string = DEMO_SECRET_PATH): string {
  const url = `http://127.0.0.1:8006/cdh/resource/${secretPath}`;
  return [
    "echo \"hello from inside the pod VM: kernel $(uname -r), $(nproc) vCPU, pod network eth0 $(ip -o -4 addr show eth0 | awk '{print $4}') via $(ip route | awk '/ via / {print $3; exit}')\"",
    'echo "launch digest of the initdata: $(grep -o \'initdata_digest=[^ ]*\' /proc/cmdline)"',
    'echo "container rootfs (filesystem, source): $(awk \'$5 == "/" { for (i = 7; i <= NF; i++) if ($i == "-") { print $(i+1), $(i+2); exit } }\' /proc/self/mountinfo)"',
    'n=0',
    `until out=$(wget -q -O- ${url} 2>&1); do`,
    '  n=$((n+1))',
    '  if [ $n -ge 180 ]; then echo "the secret was not released: $out"; exit 1; fi',
    '  sleep 1',
    'done',
    `echo "GET ${url}"`,
    'echo "secret released by the KBS after attestation: $out"',
  ].join('\n');
}
