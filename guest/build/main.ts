// Entry of dist/guest-build.mjs: `kata-cc guest build` spawns it. Builds (or reuses) the guest image.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { describeError } from '#src/lib/index.js';
import { buildGuestImage } from './guest-builder.js';

const HELP = `Usage: guest-build [--force] [--json] [--agent-dir DIR] [--cache-dir DIR]

Builds the kata-cc guest image (kernel, initramfs, dm-verity erofs root) into
<project>/.cache/guest/<inputs-hash>/ and points .cache/guest/current.json at it.
Progress goes to stderr; --json prints {"manifest": PATH} on stdout.`;

const here = dirname(fileURLToPath(import.meta.url));
const projectRoot = here.endsWith('dist') ? join(here, '..') : join(here, '..', '..');
let args;
try {
  args = parseArgs({
    args: process.argv.slice(2),
    options: {
      force: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean' },
      'agent-dir': { type: 'string' },
      'cache-dir': { type: 'string' },
    },
    strict: true,
  });
} catch (err) {
  console.error(`guest-build: ${describeError(err)}\n\n${HELP}`);
  process.exit(2);
}
if (args.values.help === true) {
  console.log(HELP);
  process.exit(0);
}
const controller = new AbortController();
process.once('SIGINT', () => {
  controller.abort();
});
process.once('SIGTERM', () => {
  controller.abort();
});
try {
  const r = await buildGuestImage({
    projectRoot,
    agentDir: args.values['agent-dir'],
    cacheDir: args.values['cache-dir'],
    force: args.values.force === true,
    signal: controller.signal,
    progress: (line) => {
      process.stderr.write(`[guest-build] ${line}\n`);
    },
  });
  if (args.values.json === true)
    console.log(JSON.stringify({ manifest: r.manifestPath, built: r.built }));
  else console.log(r.manifestPath);
} catch (err) {
  console.error(`guest-build: error: ${describeError(err)}`);
  process.exitCode = 1;
}
