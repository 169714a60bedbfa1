#!/usr/bin/env node
// `npm run build:native`: builds native/build/Release/kata_cc_native.node with npm's bundled node-gyp,
// against the installed Node headers (offline: /usr/include/node) when present. Skips the build when
// the addon is newer than every source. Exit code 1 on failure; src/host/setup/build.mjs tolerates it.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const addon = join(here, 'build', 'Release', 'kata_cc_native.node');
const sources = [
  join(here, 'binding.gyp'),
  ...readdirSync(join(here, 'src')).map((f) => join(here, 'src', f)),
];
const force = process.argv.includes('--force');

if (!force && existsSync(addon)) {
  const built = statSync(addon).mtimeMs;
  if (sources.every((s) => statSync(s).mtimeMs <= built)) {
    process.stderr.write('[build:native] up to date\n');
    process.exit(0);
  }
}

function nodeGyp() {
  const npmRoots = [
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm'),
    '/usr/lib/node_modules/npm',
    '/usr/share/nodejs/npm',
  ];
  for (const root of npmRoots) {
    const p = join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    if (existsSync(p)) return p;
  }
  return undefined;
}

const gyp = nodeGyp();
if (!gyp) {
  process.stderr.write("[build:native] node-gyp not found (npm's bundled copy); addon not built\n");
  process.exit(1);
}
const args = [gyp, 'rebuild', '-C', here, '--loglevel=warn'];
const headers = join(dirname(process.execPath), '..', 'include', 'node', 'node_api.h');
if (existsSync(headers)) args.push(`--nodedir=${join(dirname(process.execPath), '..')}`);
const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
if (r.status !== 0) {
  process.stderr.write(
    `[build:native] node-gyp failed (exit ${r.status ?? r.signal}); vsock stays unavailable\n`,
  );
  process.exit(1);
}
process.stderr.write(`[build:native] built ${addon}\n`);
