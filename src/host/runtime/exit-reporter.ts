import { describeError, sleep, type Logger } from '#src/lib/index.js';
import type { SandboxBackend } from './sandbox-backend.js';
import type { TaskProcess } from './task-process.js';
import type { EventSink } from './types.js';

export interface ExitReporterOptions {
  readonly events: EventSink;
  readonly logger: Logger;
  /** Aborted when the pod stops: the watch loops end without reporting anything. */
  readonly signal: AbortSignal;
}

/**
 * How a pod's processes end: one wait loop per started process, the OOM watch and the VM's death,
 * each exit recorded and published once (TaskExit), OOM kills as TaskOOM.
 */
export class ExitReporter {
  readonly #o: ExitReporterOptions;
  readonly #log: Logger;

  constructor(options: ExitReporterOptions) {
    this.#o = options;
    this.#log = options.logger;
  }

  /** Publishes TaskOOM for each OOM kill the guest reports in a container `isKnown` accepts. */
  async watchOom(
    backend: SandboxBackend,
    isKnown: (containerId: string) => boolean,
  ): Promise<void> {
    const { signal } = this.#o;
    while (!signal.aborted) {
      try {
        const containerId = await backend.nextOom(signal);
        if (isKnown(containerId)) this.#o.events.publish({ type: 'oom', containerId });
      } catch (err) {
        if (!this.#o.signal.aborted)
          this.#log.debug('oom watch stopped', { err: describeError(err) });
        return;
      }
    }
  }

  /** The VM died: every process that still runs is reported as killed (137). */
  async vmExited(processes: Iterable<TaskProcess>): Promise<void> {
    if (this.#o.signal.aborted) return;
    this.#log.warn('pod vm exited');
    for (const p of processes) if (p.lifecycle.is('running', 'paused')) await this.report(p, 137);
  }

  /** Waits in the guest for `p` to exit, then reports it. */
  async watchProcess(backend: SandboxBackend, p: TaskProcess): Promise<void> {
    const { signal } = this.#o;
    let status: number;
    try {
      status = await backend.waitProcess(p.containerId, p.execId, signal);
    } catch (err) {
      if (signal.aborted) return;
      this.#log.warn('wait for process failed', {
        container_id: p.containerId,
        exec_id: p.execId,
        err: describeError(err),
      });
      // a lost agent connection usually means the VM died: report it as killed, like runc does
      const vmGone = await Promise.race([
        backend.exited.then(() => true),
        sleep(2_000).then(() => false),
      ]);
      status = vmGone ? 137 : 255;
    }
    await this.report(p, status);
  }

  /** Records `p`'s exit (after its output drained) and publishes TaskExit, once. */
  async report(p: TaskProcess, status: number): Promise<void> {
    if (p.isExiting) return;
    const info = await p.exited(status);
    this.#o.events.publish({
      type: 'task-exit',
      containerId: p.containerId,
      execId: p.execId,
      pid: info.pid,
      exitStatus: info.exitStatus,
      exitedAt: info.exitedAt,
    });
  }
}
