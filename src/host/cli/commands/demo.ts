import { parseCommandArgs, UsageError, type Command } from '#src/lib/index.js';
import { runDemo } from '../../demo/run-demo.js';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'run a kata-cc pod end to end on loopback (registry, containerd, CRI, pod VM)',
  help: `Usage: kata-cc demo [--keep] [--accel auto|kvm|tcg]

Builds (or reuses) the guest image, starts a private OCI registry and containerd (CRI with the
kata-cc runtime handler) on loopback, pushes a busybox image, and runs a pod through CRI:
RunPodSandbox boots the pod VM, the container runs in it and its output is shown, then the pod is
stopped and removed. Each step prints its timing. Everything lives in a temporary folder.

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
