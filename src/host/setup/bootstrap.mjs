#!/usr/bin/env node
// Idempotent set-up used by `npm test`, `npm run demo` and `npm run bench` before anything else runs.
// Plain JavaScript with node: builtins only, because it runs before the npm packages exist.
// 1. npm packages: `npm ci` when node_modules does not match package-lock.json.
// 2. Debian packages the project drives for real (QEMU, containerd, registry, …): apt-get install
//    whatever is missing. With everything present it does nothing and prints one line.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Debian packages by purpose; every one is in Debian 12 main. */
export const DEBIAN_PACKAGES = [
  'qemu-system-x86', // the pod VM
  'qemu-utils',
  'ovmf', // UEFI firmware (TDVF / AmdSev builds on real hosts)
  'containerd', // real containerd 1.6 for shim and CRI tests
  'runc', // peer runtime for benchmarks
  'crun', // the OCI runtime inside the guest
  'containernetworking-plugins', // CNI for CRI pods
  'docker-registry', // local OCI registry
  'skopeo', // pushing test images, reference decryption
  'umoci', // building test images, reference unpack
  'protobuf-compiler', // npm run gen
  'libprotobuf-dev', // google/protobuf/*.proto well-known types
  'erofs-utils', // guest root filesystem
  'cryptsetup-bin', // dm-verity (veritysetup); cryptsetup for the guest's encrypted image storage
  'e2fsprogs', // mkfs.ext4 in the guest (encrypted image storage)
  'busybox-static', // guest userland and test images
  'cpio', // initramfs
  'kmod', // modprobe/depmod for guest kernel modules
  'zstd', // zstd test images
  'golang-go', // Go ttrpc interop peer
  'golang-github-containerd-ttrpc-dev',
  'apache2-utils', // htpasswd (bcrypt) for the basic-auth test registry
];

function log(msg) {
  process.stderr.write(`[setup] ${msg}\n`);
}

function fail(msg) {
  process.stderr.write(`[setup] error: ${msg}\n`);
  process.exit(1);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  if (r.error) fail(`cannot run ${cmd}: ${r.error.message}`);
  return r.status ?? 1;
}

function ensureNpm() {
  const lock = join(root, 'package-lock.json');
  if (!existsSync(lock)) fail('package-lock.json is missing: the checkout is incomplete');
  const want = createHash('sha256').update(readFileSync(lock)).digest('hex');
  const stamp = join(root, 'node_modules', '.kata-cc-installed');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === want) return;
  log('installing npm packages (npm ci)');
  if (run('npm', ['ci', '--no-audit', '--no-fund']) !== 0) {
    fail('npm ci failed (see above); check network access to the npm registry and retry');
  }
  writeFileSync(stamp, want + '\n');
}

function missingDebianPackages() {
  const r = spawnSync(
    'dpkg-query',
    ['-W', '-f=${Package} ${db:Status-Status}\\n', ...DEBIAN_PACKAGES],
    {
      encoding: 'utf8',
    },
  );
  if (r.error) fail(`cannot run dpkg-query (is this Debian?): ${r.error.message}`);
  const installed = new Set(
    r.stdout
      .split('\n')
      .filter((l) => l.endsWith(' installed'))
      .map((l) => l.split(' ')[0]),
  );
  return DEBIAN_PACKAGES.filter((p) => !installed.has(p));
}

function ensureDebian() {
  const missing = missingDebianPackages();
  if (missing.length === 0) return;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    fail(
      `missing Debian packages: ${missing.join(' ')}; install them as root: apt-get install -y ${missing.join(' ')}`,
    );
  }
  log(`installing Debian packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (run('apt-get', ['update', '-qq'], { env }) !== 0) fail('apt-get update failed (see above)');
  if (
    run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env }) !== 0
  ) {
    fail(`apt-get install failed for: ${missing.join(' ')} (see above)`);
  }
  const still = missingDebianPackages();
  if (still.length > 0) fail(`still missing after apt-get install: ${still.join(' ')}`);
}

const purpose = process.argv.includes('--for')
  ? process.argv[process.argv.indexOf('--for') + 1]
  : 'test';
ensureNpm();
ensureDebian();
log(`ready for ${purpose}: npm packages and ${DEBIAN_PACKAGES.length} Debian packages present`);
