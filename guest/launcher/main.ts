// Launcher of a guest program: `<name>.mjs` runs the CommonJS bundle `<name>.cjs` beside it with
// the V8 code cache `<name>.cjs.cache` when present (made by the guest image build) and calls its
// main(argv, cacheState). `<name>.mjs --write-code-cache=<path> [--script-name=<guest path>]`
// evaluates the bundle, runs its warmUp() and writes the cache (the image build runs it with the
// guest's node binary and flags). See README.md.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compileBundle } from './code-cache.js';

const filename = fileURLToPath(import.meta.url).replace(/\.mjs$/, '.cjs');
const args = process.argv.slice(2);
const option = (name: string): string | undefined =>
  args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
// esbuild writes ASCII only (non-ASCII is escaped), so latin1 reads the text without UTF-8 decoding
const source = readFileSync(filename, 'latin1');
const writeTo = option('write-code-cache');
if (writeTo !== undefined) {
  const compiled = compileBundle({ filename, source, scriptName: option('script-name') });
  const warmUp = compiled.exports['warmUp'];
  if (typeof warmUp === 'function') (warmUp as () => void)();
  writeFileSync(writeTo, compiled.createCachedData());
  process.exit(0);
}
const cachePath = `${filename}.cache`;
const cachedData = existsSync(cachePath) ? readFileSync(cachePath) : undefined;
const compiled = compileBundle({ filename, source, cachedData });
const main = compiled.exports['main'];
if (typeof main !== 'function') {
  process.stderr.write(`${filename} exports no main function\n`);
  process.exit(1);
}
await (main as (argv: readonly string[], cache: string) => Promise<void>)(args, compiled.cache);
