import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildGuestImage, type GuestManifest } from '#guest/build/index.js';
import { PROJECT_ROOT } from './source-files.js';

export type { GuestManifest } from '#guest/build/index.js';

/** Printed by the test payload as its first line (node is up). */
export const TEST_PAYLOAD_MARKER = 'KATA_TEST_PAYLOAD_UP';

/**
 * A test-only stand-in for the agent (never in the product image): prints the marker, then answers
 * each line read from the agent virtio-serial port with `PONG:<line>`, keeping the port open across
 * host disconnects (read() returns 0 there, it is not the end).
 */
export const TEST_PAYLOAD = `import { openSync, readSync, writeSync } from 'node:fs';
console.log('${TEST_PAYLOAD_MARKER} uptime_ms=' + Math.round(process.uptime() * 1000));
const t = performance.nodeTiming;
console.log('node_timing ' + JSON.stringify({ v8Start: Math.round(t.v8Start), environment: Math.round(t.environment), bootstrapComplete: Math.round(t.bootstrapComplete), now: Math.round(performance.now()) }));
const fd = openSync('/dev/virtio-ports/agent.channel.0', 'r+');
const buf = Buffer.alloc(4096);
let pending = '';
for (;;) {
  const n = readSync(fd, buf, 0, buf.length, null);
  if (n === 0) { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50); continue; }
  pending += buf.subarray(0, n).toString('utf8');
  let nl;
  while ((nl = pending.indexOf('\\n')) >= 0) {
    const line = pending.slice(0, nl);
    pending = pending.slice(nl + 1);
    writeSync(fd, 'PONG:' + line + '\\n');
  }
}
`;

/** Writes the payload atomically, and only when it changed (parallel test files hash it). */
function writePayload(path: string): void {
  let current: string | undefined;
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === TEST_PAYLOAD) return;
  writeFileSync(`${path}.tmp-${process.pid}`, TEST_PAYLOAD);
  renameSync(`${path}.tmp-${process.pid}`, path);
}

const building = new Map<string, Promise<GuestManifest>>();

function progress(line: string): void {
  console.error(`[guest-image] ${line}`);
}

/**
 * The product guest image (built from dist/guest/kata-agent.mjs, cached under .cache/guest). Built
 * once per machine and reused by every VM test and the demo; needs `npm run build` first.
 */
export function ensureGuestImage(projectRoot = PROJECT_ROOT): Promise<GuestManifest> {
  const key = `product:${projectRoot}`;
  let p = building.get(key);
  if (p === undefined) {
    p = buildGuestImage({ projectRoot, progress }).then((r) => r.manifest);
    building.set(key, p);
  }
  return p;
}

/** The same image with {@link TEST_PAYLOAD} as its agent (for hypervisor boot tests). */
export function ensureTestGuestImage(projectRoot = PROJECT_ROOT): Promise<GuestManifest> {
  const key = `test:${projectRoot}`;
  let p = building.get(key);
  if (p === undefined) {
    const agentDir = join(projectRoot, '.cache', 'guest-test-payload');
    mkdirSync(agentDir, { recursive: true });
    writePayload(join(agentDir, 'kata-agent.mjs'));
    p = buildGuestImage({ projectRoot, agentDir, updateCurrent: false, progress }).then(
      (r) => r.manifest,
    );
    building.set(key, p);
  }
  return p;
}
