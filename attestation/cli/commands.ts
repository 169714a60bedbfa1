import type { Command } from '#src/lib/index.js';
import { serveCommand } from '../kbs/serve-command.js';
import { verifyEvidenceCommand } from './verify-evidence.js';

/**
 * The `kbs` program's command tree (bundle dist/kbs.mjs). Each subcommand lives in its own file in
 * this folder and is listed here once, in the order `kbs --help` shows them.
 */
export const KBS_SUBCOMMANDS: readonly Command[] = [serveCommand, verifyEvidenceCommand];

export const KBS_ROOT_COMMAND: Command = {
  name: 'kbs',
  summary: 'key broker service and attestation service',
  help: `Usage: kbs COMMAND [OPTIONS]

The kata-cc Key Broker Service and attestation service: verifies TEE evidence (Intel TDX, AMD
SEV-SNP, sample) and releases secrets to attested guests.

Exit codes: 0 ok, 1 failure, 2 usage error.`,
  subcommands: KBS_SUBCOMMANDS,
};
