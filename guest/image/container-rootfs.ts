import { chown, chmod, lstat, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Mounter } from '#guest/sandbox/index.js';

/**
 * Mounts a container's rootfs at `mountPoint`: overlayfs with the pod's shared unpacked image as
 * the only (read-only) lower layer and `<containerDir>/upper` + `/work` on the encrypted store,
 * so a container's writes never reach the image or another container. The upper root takes the
 * image root's mode and owner (overlay shows the upper root's attributes).
 */
export async function mountContainerRootfs(
  mounter: Mounter,
  imageRootfs: string,
  containerDir: string,
  mountPoint: string,
): Promise<void> {
  const upper = join(containerDir, 'upper');
  const work = join(containerDir, 'work');
  const root = await lstat(imageRootfs);
  await mkdir(upper, { mode: 0o755 });
  await mkdir(work, { mode: 0o700 });
  await chown(upper, root.uid, root.gid);
  await chmod(upper, root.mode & 0o7777);
  await mkdir(mountPoint, { recursive: true });
  await mounter.mount('overlay', mountPoint, 'overlay', [
    `lowerdir=${imageRootfs}`,
    `upperdir=${upper}`,
    `workdir=${work}`,
  ]);
}
