import { cleanupLostSandbox, type CleanupLostSandboxOptions } from '#src/host/runtime/index.js';
import { DeleteResponse } from '#src/protocol/shim/index.js';
import { toTimestamp } from './timestamp.js';

/** Cleans up after a lost shim and returns the `DeleteResponse` bytes `shim delete` prints. */
export async function deleteAfterLostShim(o: CleanupLostSandboxOptions): Promise<Uint8Array> {
  await cleanupLostSandbox(o);
  return DeleteResponse.encode({
    pid: 0,
    exit_status: 128 + 9,
    exited_at: toTimestamp(new Date()),
  }).finish();
}
