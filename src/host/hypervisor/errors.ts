import { CcError, type ErrorKind } from '#src/lib/index.js';

/** Stable codes of the hypervisor layer (see README.md). */
export type HypervisorErrorCode =
  | 'ERR_VM_SPEC'
  | 'ERR_VM_STATE'
  | 'ERR_VM_HOTPLUG'
  | 'ERR_TEE_UNAVAILABLE'
  | 'ERR_ACCEL_UNAVAILABLE'
  | 'ERR_PROCESS_SPAWN'
  | 'ERR_QEMU_EXITED'
  | 'ERR_QMP_PROTOCOL'
  | 'ERR_QMP_COMMAND'
  | 'ERR_QMP_CLOSED';

export class HypervisorError extends CcError {
  declare readonly code: HypervisorErrorCode;
  constructor(kind: ErrorKind, code: HypervisorErrorCode, message: string, options?: ErrorOptions) {
    super(kind, code, message, options);
  }
}
