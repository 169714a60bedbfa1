#!/usr/bin/env node
// `npm run build`: bundles each program into one ESM file under dist/ with esbuild (fast start-up,
// and the guest gets a single file). Type-checking is `npm run typecheck`; this only bundles.
import { spawnSync } from 'node:child_process';
import { build } from 'esbuild';
import { cpSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** entry source → output bundle */
export const BUNDLES = [
  ['src/host/cli/main.ts', 'dist/kata-cc.mjs'],
  ['src/host/main.ts', 'dist/containerd-shim-kata-cc-v2.mjs'],
  ['guest/launcher/main.ts', 'dist/guest/kata-agent.mjs'],
  ['guest/main.ts', 'dist/guest/kata-agent.cjs'],
  ['test/bench/main.ts', 'dist/bench.mjs'],
  ['guest/build/main.ts', 'dist/guest-build.mjs'],
  ['attestation/main.ts', 'dist/kbs.mjs'],
  ['guest/components-main.ts', 'dist/guest/guest-components.mjs'],
];

const banner = [
  '#!/usr/bin/env node',
  "import { createRequire as __ccCreateRequire } from 'node:module';",
  'const require = __ccCreateRequire(import.meta.url);',
].join('\n');

// CommonJS bundles (`.cjs`, the guest programs the launcher guest/launcher runs with a V8 code
// cache: vm.Script compiles scripts, not ES modules) have `require` and get `import.meta.url` from
// their own path.
const cjsBanner =
  '"use strict";\n' + "var __ccImportMetaUrl = require('node:url').pathToFileURL(__filename).href;";

const present = BUNDLES.filter(([src]) => existsSync(join(root, src)));
await Promise.all(
  present.map(([src, out]) =>
    build({
      entryPoints: [join(root, src)],
      outfile: join(root, out),
      bundle: true,
      platform: 'node',
      target: 'node20',
      conditions: ['source'],
      ...(out.endsWith('.cjs')
        ? {
            format: 'cjs',
            banner: { js: cjsBanner },
            define: { 'import.meta.url': '__ccImportMetaUrl' },
          }
        : { format: 'esm', banner: { js: banner } }),
      sourcemap: 'linked',
      logLevel: 'warning',
      external: ['*.node'],
    }),
  ),
);
// The agent policies ride with the agent bundle: the guest image installs dist/guest/ as /opt/kata-cc/.
cpSync(join(root, 'policies', 'agent'), join(root, 'dist', 'guest', 'policies', 'agent'), {
  recursive: true,
});
process.stderr.write(
  `[build] ${present.length} bundles: ${present.map(([, o]) => o).join(', ')}\n`,
);

// The native addon (vsock, syscalls Node lacks) is optional: without it those features report
// `unavailable`, so a failed native build does not fail the bundle build.
const nativeBuild = spawnSync(process.execPath, [join(root, 'native', 'build.mjs')], {
  stdio: ['ignore', 'inherit', 'inherit'],
});
if (nativeBuild.status !== 0) process.stderr.write('[build] native addon not built; continuing\n');
// The guest runs the host's node binary, so the same addon ships beside the agent bundle
// (native/index.ts finds it next to dist/guest/*.mjs, i.e. /opt/kata-cc/ in the guest).
const addon = join(root, 'native', 'build', 'Release', 'kata_cc_native.node');
if (existsSync(addon)) cpSync(addon, join(root, 'dist', 'guest', 'kata_cc_native.node'));
