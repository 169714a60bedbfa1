import { readFileSync } from 'node:fs';
import { GuestConfigError } from './errors.js';

/** The argument that replaces `/proc/cmdline` (an agent run on a host, by a test harness). */
export const CMDLINE_ARG = '--cmdline=';

/**
 * The kernel command line the agent configures itself from: `--cmdline=<params>` when given (the
 * first one), else `/proc/cmdline`. Inside the VM there is no fallback: the command line carries
 * `agent.confidential`, the channel and the pull bounds, so an unreadable one is fatal
 * (`failed_precondition` `ERR_CONFIG_CMDLINE`) rather than silently meaning "defaults".
 */
export function readAgentCmdline(
  argv: readonly string[],
  readProcCmdline: () => string = () => readFileSync('/proc/cmdline', 'utf8'),
): string {
  const arg = argv.find((a) => a.startsWith(CMDLINE_ARG));
  if (arg !== undefined) return arg.slice(CMDLINE_ARG.length);
  try {
    return readProcCmdline();
  } catch (err) {
    throw new GuestConfigError(
      'failed_precondition',
      'ERR_CONFIG_CMDLINE',
      `cannot read the kernel command line /proc/cmdline: refusing to start with defaults ` +
        `(outside a VM pass ${CMDLINE_ARG}<params>)`,
      { cause: err },
    );
  }
}
