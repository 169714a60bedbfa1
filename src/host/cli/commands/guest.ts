import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseCommandArgs, writeLine, type Command, type CommandContext } from '#src/lib/index.js';

/** Runs a bundle with node, streaming its output into the command's streams; resolves the exit code. */
function runBundle(bundle: string, args: readonly string[], ctx: CommandContext): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bundle, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      signal: ctx.signal,
    });
    child.stdout.pipe(ctx.stdout, { end: false });
    child.stderr.pipe(ctx.stderr, { end: false });
    child.once('error', (err) => {
      writeLine(ctx.stderr, `kata-cc guest build: ${err.message}`);
      resolve(1);
    });
    child.once('close', (code) => {
      resolve(code ?? 1);
    });
  });
}

const buildCommand: Command = {
  name: 'build',
  summary: 'build (or reuse) the guest image: kernel, initramfs, dm-verity erofs root',
  help: `Usage: kata-cc guest build [--force] [--json]

Builds the guest image from Debian packages (the cloud kernel, busybox-static, cryptsetup, crun),
the host's node binary and the agent bundle dist/guest/kata-agent.mjs (run npm run build first),
into <project>/.cache/guest/<inputs-hash>/, and points .cache/guest/current.json at it. An image
with the same inputs is reused. Progress goes to stderr.

Options:
  --force   rebuild even when the cache holds this image
  --json    print {"manifest": PATH, "built": BOOL} instead of the manifest path`,
  async run(args, ctx) {
    const { values } = parseCommandArgs(args, {
      force: { type: 'boolean' },
      json: { type: 'boolean' },
    });
    const bundle = join(ctx.projectRoot, 'dist', 'guest-build.mjs');
    if (!existsSync(bundle)) {
      writeLine(ctx.stderr, `kata-cc guest build: ${bundle} is missing: run npm run build first`);
      return 1;
    }
    const forward = [
      ...(values.force === true ? ['--force'] : []),
      ...(values.json === true ? ['--json'] : []),
    ];
    return runBundle(bundle, forward, ctx);
  },
};

export const guestCommand: Command = {
  name: 'guest',
  summary: 'the guest image',
  help: `Usage: kata-cc guest build [--force] [--json]

Commands:
  build   build (or reuse) the guest image`,
  subcommands: [buildCommand],
};
