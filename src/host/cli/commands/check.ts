import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import {
  describeError,
  parseCommandArgs,
  writeLine,
  type Command,
  type CommandContext,
} from '#src/lib/index.js';
import { loadHostConfig, type HostConfig } from '../../config/index.js';
import {
  locateGuestImage,
  probeTee,
  resolveAccel,
  type GuestImage,
} from '../../hypervisor/index.js';

/** One line of `kata-cc check`: what was looked at, what was found, what to do when missing. */
export interface CheckItem {
  readonly name: string;
  readonly ok: boolean;
  /** Needed for a coco-dev pod (else informational). */
  readonly required: boolean;
  readonly detail: string;
  readonly remedy?: string | undefined;
}

const OVMF_CANDIDATES = [
  '/usr/share/ovmf/OVMF.fd',
  '/usr/share/OVMF/OVMF_CODE_4M.fd',
  '/usr/share/OVMF/OVMF_CODE.fd',
];

function firstLine(
  binary: string,
  args: readonly string[],
  signal: AbortSignal,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const c = spawn(binary, [...args], { stdio: ['ignore', 'pipe', 'ignore'], signal });
    let out = '';
    c.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
    c.once('error', () => {
      resolve(undefined);
    });
    c.once('close', (code) => {
      resolve(code === 0 ? (out.split('\n')[0]?.trim() ?? '') : undefined);
    });
  });
}

async function checkTools(cfg: HostConfig, signal: AbortSignal): Promise<CheckItem[]> {
  const qemu = await firstLine(cfg.hypervisor.qemu_binary, ['--version'], signal);
  const containerd = await firstLine('/usr/bin/containerd', ['--version'], signal);
  return [
    qemu === undefined
      ? {
          name: 'qemu',
          ok: false,
          required: true,
          detail: `${cfg.hypervisor.qemu_binary} cannot run`,
          remedy: 'apt-get install -y qemu-system-x86, or set hypervisor.qemu_binary',
        }
      : {
          name: 'qemu',
          ok: true,
          required: true,
          detail: `${qemu} (${cfg.hypervisor.qemu_binary})`,
        },
    containerd === undefined
      ? {
          name: 'containerd',
          ok: false,
          required: true,
          detail: '/usr/bin/containerd cannot run',
          remedy: 'apt-get install -y containerd',
        }
      : { name: 'containerd', ok: true, required: true, detail: containerd },
  ];
}

function checkImage(cfg: HostConfig, ctx: CommandContext): { item: CheckItem; image?: GuestImage } {
  try {
    const image = locateGuestImage({
      manifestPath: cfg.guest.manifest,
      projectRoot: ctx.projectRoot,
    });
    const missing = [image.kernel, image.initrd, image.rootfs].filter((p) => !existsSync(p));
    if (missing.length > 0) {
      return {
        item: {
          name: 'guest image',
          ok: false,
          required: true,
          detail: `${image.manifestPath} names missing files: ${missing.join(', ')}`,
          remedy: 'kata-cc guest build --force',
        },
      };
    }
    return {
      item: {
        name: 'guest image',
        ok: true,
        required: true,
        detail: `${image.manifestPath} (kernel ${image.kernelRelease}, root hash ${image.verityRootHash.slice(0, 16)}…)`,
      },
      image,
    };
  } catch (err) {
    return {
      item: {
        name: 'guest image',
        ok: false,
        required: true,
        detail: describeError(err),
        remedy: 'npm run build && kata-cc guest build',
      },
    };
  }
}

async function checkAccel(
  cfg: HostConfig,
  image: GuestImage | undefined,
  ctx: CommandContext,
): Promise<CheckItem> {
  if (image === undefined) {
    return {
      name: 'acceleration',
      ok: false,
      required: true,
      detail: 'not probed: the probe boots the guest kernel, and there is no guest image',
      remedy: 'kata-cc guest build, then run kata-cc check again',
    };
  }
  try {
    const d = await resolveAccel({
      qemuBinary: cfg.hypervisor.qemu_binary,
      kernel: image.kernel,
      mode: cfg.hypervisor.accel,
      cacheDir: cfg.runtime.state_dir,
      timeoutMs: cfg.hypervisor.probe_timeout_ms,
      logger: ctx.log,
      signal: ctx.signal,
    });
    const how = d.accel === 'kvm' ? 'KVM usable' : 'TCG only (pods run, slowly; no TEE)';
    return {
      name: 'acceleration',
      ok: true,
      required: true,
      detail: `${how}: ${d.reason}${d.cached ? ' (cached)' : ''}`,
    };
  } catch (err) {
    return {
      name: 'acceleration',
      ok: false,
      required: true,
      detail: describeError(err),
      remedy: 'check hypervisor.qemu_binary and hypervisor.accel',
    };
  }
}

function checkTee(cfg: HostConfig): CheckItem[] {
  const out: CheckItem[] = [];
  for (const kind of ['tdx', 'snp'] as const) {
    const s = probeTee(kind);
    const required = cfg.runtime.tee === kind;
    out.push({
      name: kind,
      ok: s.available,
      required,
      detail: s.detail,
      remedy: s.available ? undefined : s.remedy,
    });
  }
  const fw = cfg.hypervisor.firmware !== '' ? [cfg.hypervisor.firmware] : OVMF_CANDIDATES;
  const found = fw.find((p) => existsSync(p));
  out.push({
    name: 'firmware',
    ok: found !== undefined,
    required: cfg.runtime.tee !== 'none',
    detail:
      found === undefined
        ? `none of ${fw.join(', ')} exists`
        : `${found}${cfg.hypervisor.firmware === '' ? ' (plain OVMF; TDX/SNP need TDVF / AmdSev builds in hypervisor.firmware)' : ''}`,
    remedy: found === undefined ? 'apt-get install -y ovmf, or set hypervisor.firmware' : undefined,
  });
  const vsock = existsSync('/dev/vhost-vsock');
  out.push({
    name: 'vsock',
    ok: vsock,
    required: false,
    detail: vsock
      ? '/dev/vhost-vsock present'
      : '/dev/vhost-vsock missing: the agent channel is virtio-serial',
    remedy: vsock ? undefined : 'modprobe vhost_vsock (needs host kernel support) to use vsock',
  });
  return out;
}

export const checkCommand: Command = {
  name: 'check',
  summary:
    'what this host can run: KVM or TCG, TDX, SNP, QEMU, firmware, vsock, containerd, guest image',
  help: `Usage: kata-cc check [--config FILE] [--json]

Looks at what this host can run and says what to do about what is missing: KVM (probed with a
bounded boot of the guest kernel; a /dev/kvm that hangs guests counts as TCG only), Intel TDX and
AMD SEV-SNP (from /sys/module/kvm_intel/parameters/tdx, /sys/module/kvm_amd/parameters/sev_snp),
QEMU, firmware, /dev/vhost-vsock, containerd and the guest image.

Exit code 0 when a coco-dev pod can run here (and, with runtime.tee set, a pod of that TEE).

Options:
  --config FILE   configuration file
  --json          print the checks as JSON`,
  async run(args, ctx) {
    const { values } = parseCommandArgs(args, {
      config: { type: 'string' },
      json: { type: 'boolean' },
    });
    const cfg = loadHostConfig({ path: values.config, env: ctx.env }).config;
    const tools = await checkTools(cfg, ctx.signal);
    const { item: imageItem, image } = checkImage(cfg, ctx);
    const items = [...tools, imageItem, await checkAccel(cfg, image, ctx), ...checkTee(cfg)];
    const ok = items.every((i) => i.ok || !i.required);
    if (values.json === true) writeLine(ctx.stdout, JSON.stringify({ ok, checks: items }, null, 2));
    else {
      const width = Math.max(...items.map((i) => i.name.length));
      for (const i of items) {
        const mark = i.ok ? 'ok  ' : i.required ? 'FAIL' : 'no  ';
        writeLine(ctx.stdout, `${mark}  ${i.name.padEnd(width)}  ${i.detail}`);
        if (!i.ok && i.remedy !== undefined)
          writeLine(ctx.stdout, `      ${' '.repeat(width)}  → ${i.remedy}`);
      }
      writeLine(
        ctx.stdout,
        ok ? 'this host can run coco-dev pods' : 'this host cannot run pods yet (see FAIL lines)',
      );
    }
    return ok ? 0 : 1;
  },
};
