import { spawn, type ChildProcess } from 'node:child_process';
import type { PodVmEnv } from './pod-vm-env.js';

export interface TaskEventLine {
  readonly topic: string;
  readonly body: Record<string, unknown>;
}

/** `ctr events` in the background: containerd's view of what the shim published, in order. */
export class CtrEvents {
  readonly #child: ChildProcess;
  #text = '';

  constructor(env: PodVmEnv) {
    this.#child = spawn('ctr', ['--address', env.address, 'events'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    this.#child.stdout?.on('data', (b: Buffer) => {
      this.#text += b.toString('utf8');
    });
  }

  /** Task events naming `containerId`, oldest first. */
  forContainer(containerId: string): TaskEventLine[] {
    const out: TaskEventLine[] = [];
    for (const line of this.#text.split('\n')) {
      const m = /\s(\/tasks\/[a-z-]+)\s+(\{.*\})\s*$/.exec(line);
      if (!m) continue;
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(m[2] ?? '{}') as Record<string, unknown>;
      } catch {
        continue;
      }
      if (body['container_id'] === containerId) out.push({ topic: m[1] ?? '', body });
    }
    return out;
  }

  async waitFor(
    containerId: string,
    pred: (e: TaskEventLine[]) => boolean,
    timeoutMs = 60_000,
  ): Promise<TaskEventLine[]> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const ev = this.forContainer(containerId);
      if (pred(ev)) return ev;
      await new Promise((r) => setTimeout(r, 200));
    }
    return this.forContainer(containerId);
  }

  close(): void {
    this.#child.kill('SIGKILL');
  }
}
