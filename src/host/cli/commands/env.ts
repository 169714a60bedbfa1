import { parseCommandArgs, writeLine, type Command } from '#src/lib/index.js';
import { formatConfig, loadHostConfig, parseSetFlags } from '../../config/index.js';

export const envCommand: Command = {
  name: 'env',
  summary: 'print the effective configuration and where each value came from',
  help: `Usage: kata-cc env [--config FILE] [--set SECTION.KEY=VALUE]… [--json]

Loads the host configuration exactly as the shim does — FILE (or $KATA_CC_CONFIG, or
/etc/kata-cc/config.toml), then config.d/*.toml beside it in name order, then --set flags — and
prints every key with its value and source (default, a file, or flag).

Options:
  --config FILE   configuration file (must exist)
  --set K=V       override one key, value in TOML syntax (repeatable)
  --json          print {"config": …, "sources": …, "files": […]} instead of annotated TOML`,
  run(args, ctx) {
    const { values } = parseCommandArgs(args, {
      config: { type: 'string' },
      set: { type: 'string', multiple: true },
      json: { type: 'boolean' },
    });
    const loaded = loadHostConfig({
      path: values.config,
      env: ctx.env,
      overrides: values.set ? [parseSetFlags(values.set)] : [],
    });
    writeLine(
      ctx.stdout,
      values.json === true ? JSON.stringify(loaded, null, 2) : formatConfig(loaded),
    );
    return Promise.resolve(0);
  },
};
