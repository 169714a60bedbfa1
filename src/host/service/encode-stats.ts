import type { ContainerStats } from '#src/host/runtime/index.js';
import { CgroupV2Metrics, TYPE_URLS, type Any } from '#src/protocol/shim/index.js';

/** Container stats as containerd expects them: `io.containerd.cgroups.v2.Metrics` in an Any. */
export function encodeStats(s: ContainerStats): Any {
  const m = CgroupV2Metrics.fromPartial({
    pids: { current: s.pids, limit: 0 },
    cpu: { usage_usec: Math.floor(s.cpuUsageNs / 1000) },
    memory: { usage: s.memoryUsageBytes, usage_limit: s.memoryLimitBytes },
  });
  return {
    type_url: TYPE_URLS.cgroupV2Metrics,
    value: Buffer.from(CgroupV2Metrics.encode(m).finish()),
  };
}
