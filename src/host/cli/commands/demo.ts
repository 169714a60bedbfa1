import { parseCommandArgs, UsageError, type Command } from '#src/lib/index.js';
import { runDemo } from '../../demo/run-demo.js';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'run a kata-cc pod end to end on this machine (registry, KBS, containerd, CRI, pod VM)',
  help: `Usage: kata-cc demo [--keep] [--accel auto|kvm|tcg]

Builds (or reuses) the guest image, makes a host-only pod bridge, starts a private OCI registry, our
KBS (provisioned with the resource default/demo/secret) and containerd (CRI with the kata-cc runtime
handler), and runs a pod through CRI whose initdata names the KBS: RunPodSandbox boots the pod VM,
the container prints facts from inside it and fetches the secret through the guest's CDH (which
attests to the KBS; coco-dev has no TEE, so the evidence is the sample TEE's), then everything is
stopped and the demo checks that nothing is left. Each step prints its timing. Everything lives in
a temporary folder.

Options:
  --keep           keep the temporary folder (containerd, shim and VM console logs)
  --accel MODE     QEMU acceleration (default auto: probe KVM, fall back to TCG)`,
  async run(args, ctx) {
    const { values } = parseCommandArgs(args, {
      keep: { type: 'boolean' },
      accel: { type: 'string' },
    });
    const accel = values.accel ?? 'auto';
    if (accel !== 'auto' && accel !== 'kvm' && accel !== 'tcg')
      throw new UsageError(`--accel: expected auto, kvm or tcg, got ${accel}`);
    await runDemo({
      projectRoot: ctx.projectRoot,
      out: ctx.stdout,
      env: ctx.env,
      signal: ctx.signal,
      keep: values.keep === true,
      accel,
    });
    return 0;
  },
};
