import { copyFileSync, existsSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runProgram } from '#src/lib/index.js';

const TOOL = { umoci: 'umoci', skopeo: 'skopeo' } as const;

async function installBusybox(rootfs: string, signal?: AbortSignal): Promise<void> {
  const bin = join(rootfs, 'bin');
  mkdirSync(bin, { recursive: true });
  copyFileSync('/usr/bin/busybox', join(bin, 'busybox'));
  const list = await runProgram(['/usr/bin/busybox', '--list'], {
    signal,
    debianPackage: 'busybox-static',
  });
  for (const applet of list.stdout.split('\n')) {
    if (!/^[a-z0-9_.[-]+$/.test(applet) || applet === 'busybox' || existsSync(join(bin, applet)))
      continue;
    symlinkSync('busybox', join(bin, applet));
  }
  for (const d of ['etc', 'tmp', 'proc', 'sys', 'dev', 'root', 'var'])
    mkdirSync(join(rootfs, d), { recursive: true });
}

export interface ImageRecipe {
  readonly name: string;
  readonly tag: string;
  readonly cmd: readonly string[];
  readonly entrypoint?: readonly string[] | undefined;
}

/** A busybox-based OCI image layout at `<cacheDir>/<name>-<tag>` (built once with umoci). */
export async function buildBusyboxLayout(
  cacheDir: string,
  r: ImageRecipe,
  signal?: AbortSignal,
): Promise<string> {
  const layout = join(cacheDir, `${r.name}-${r.tag}`);
  if (existsSync(join(layout, 'index.json'))) return layout;
  await rm(layout, { recursive: true, force: true });
  const work = `${layout}.bundle`;
  await rm(work, { recursive: true, force: true });
  mkdirSync(cacheDir, { recursive: true });
  const image = `${layout}:${r.tag}`;
  const umoci = (args: string[]): Promise<unknown> =>
    runProgram([TOOL.umoci, ...args], { signal, debianPackage: 'umoci' });
  await umoci(['init', '--layout', layout]);
  await umoci(['new', '--image', image]);
  await umoci(['unpack', '--rootless', '--image', image, work]);
  await installBusybox(join(work, 'rootfs'), signal);
  await umoci(['repack', '--image', image, work]);
  const config = ['config', '--image', image, '--os', 'linux', '--architecture', 'amd64'];
  for (const c of r.cmd) config.push('--config.cmd', c);
  for (const e of r.entrypoint ?? []) config.push('--config.entrypoint', e);
  config.push('--config.env', 'PATH=/bin:/usr/bin:/sbin:/usr/sbin', '--config.workingdir', '/');
  await umoci(config);
  await umoci(['gc', '--layout', layout]);
  await rm(work, { recursive: true, force: true });
  return layout;
}

/** Pushes an OCI layout to a plain-HTTP registry: `skopeo copy oci:DIR:TAG docker://HOST/NAME:TAG`. */
export async function pushLayout(
  layout: string,
  tag: string,
  dest: string,
  signal?: AbortSignal,
): Promise<void> {
  await runProgram(
    [
      TOOL.skopeo,
      'copy',
      '--quiet',
      '--dest-tls-verify=false',
      `oci:${layout}:${tag}`,
      `docker://${dest}`,
    ],
    {
      signal,
      debianPackage: 'skopeo',
    },
  );
}

/** Tars an OCI layout for `ctr images import`. */
export async function tarLayout(
  layout: string,
  out: string,
  signal?: AbortSignal,
): Promise<string> {
  await runProgram(['tar', '-C', layout, '-cf', out, ...readdirSync(layout)], { signal });
  return out;
}
