import { spawn } from 'node:child_process';
import { ByteRing } from '#src/lib/index.js';

export interface ToolResult {
  readonly code: number;
  readonly output: string;
}

/** Runs a host tool with an argv array; keeps the last 4 KiB of its output for error messages. */
export function runTool(argv: readonly string[], signal?: AbortSignal): Promise<ToolResult> {
  const [cmd, ...args] = argv;
  return new Promise((resolve, reject) => {
    if (cmd === undefined) {
      reject(new Error('empty argv'));
      return;
    }
    const child = spawn(cmd, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      signal,
      killSignal: 'SIGKILL',
    });
    const ring = new ByteRing(4096);
    child.stdout.on('data', (b: Buffer) => {
      ring.push(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      ring.push(b);
    });
    child.once('error', reject);
    child.once('close', (code) => {
      resolve({ code: code ?? 1, output: Buffer.from(ring.bytes()).toString('utf8').trim() });
    });
  });
}
