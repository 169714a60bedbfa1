import type { Command } from '#src/lib/index.js';
import { envCommand } from './env.js';
import { demoCommand } from './demo.js';
import { checkCommand } from './check.js';
import { guestCommand } from './guest.js';
import { verifyEvidenceCommand } from './verify-evidence.js';
import { regoCommand } from './rego.js';
import { policyCommand } from './policy.js';
import { imageCommand } from './image.js';
import { installCommand } from './install.js';
import { kbsCommand } from './kbs.js';
import { kbsClientCommand } from './kbs-client.js';
import { keyproviderCommand } from './keyprovider.js';

/**
 * The `kata-cc` command tree. Each subcommand lives in its own file in this folder and is listed
 * here once, in the order `kata-cc --help` shows them.
 */
export const SUBCOMMANDS: readonly Command[] = [
  envCommand,
  demoCommand,
  checkCommand,
  guestCommand,
  verifyEvidenceCommand,
  regoCommand,
  policyCommand,
  imageCommand,
  installCommand,
  kbsCommand,
  kbsClientCommand,
  keyproviderCommand,
];

export const ROOT_COMMAND: Command = {
  name: 'kata-cc',
  summary: 'confidential-containers runtime',
  help: `Usage: kata-cc COMMAND [OPTIONS]

kata-cc runs every Kubernetes pod in its own confidential VM (Intel TDX, AMD SEV-SNP, or coco-dev
without a TEE). This command installs, checks and operates it.

Exit codes: 0 ok, 1 failure, 2 usage error.`,
  subcommands: SUBCOMMANDS,
};
