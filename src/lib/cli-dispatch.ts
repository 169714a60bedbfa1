import { describeError, isCcError } from './errors.js';
import { type Command, type CommandContext, UsageError, writeLine } from './cli-command.js';
import { envString, processEnv } from './env.js';
import { JsonLogger, parseLogLevel, type LogLevel } from './logger.js';
import { TraceSwitches } from './trace.js';

function helpOf(cmd: Command, path: string): string {
  const lines = [cmd.help.trimEnd()];
  if (cmd.subcommands && cmd.subcommands.length > 0) {
    lines.push('', 'Commands:');
    const width = Math.max(...cmd.subcommands.map((c) => c.name.length));
    for (const c of cmd.subcommands) lines.push(`  ${c.name.padEnd(width)}  ${c.summary}`);
    lines.push('', `Run '${path} COMMAND --help' for more.`);
  }
  return lines.join('\n');
}

/**
 * Runs `args` against a command tree: resolves subcommands, prints help for `--help`/`-h`, maps
 * UsageError to exit 2 and any other failure to exit 1 with a one-line message on stderr.
 */
export async function dispatch(
  root: Command,
  args: readonly string[],
  ctx: CommandContext,
): Promise<number> {
  let cmd = root;
  let path = root.name;
  let rest = [...args];
  try {
    for (;;) {
      const head = rest[0];
      if (head === undefined || head === '--help' || head === '-h' || head === 'help') {
        if (cmd.run && head === undefined) break;
        writeLine(ctx.stdout, helpOf(cmd, path));
        return head === undefined && !cmd.run ? 2 : 0;
      }
      const sub = cmd.subcommands?.find((c) => c.name === head);
      if (!sub) break;
      cmd = sub;
      path = `${path} ${sub.name}`;
      rest = rest.slice(1);
    }
    if (rest.includes('--help') || rest.includes('-h')) {
      writeLine(ctx.stdout, helpOf(cmd, path));
      return 0;
    }
    if (!cmd.run) throw new UsageError(`unknown command '${rest[0] ?? ''}' for '${path}'`);
    return await cmd.run(rest, ctx);
  } catch (err) {
    if (err instanceof UsageError) {
      writeLine(ctx.stderr, `${path}: ${err.message}`);
      writeLine(ctx.stderr, `Run '${path} --help' for usage.`);
      return 2;
    }
    const code = isCcError(err) ? ` [${err.code}]` : '';
    writeLine(ctx.stderr, `${path}: error: ${describeError(err)}${code}`);
    return 1;
  }
}

export interface ProgramMainOptions {
  readonly root: Command;
  /** The `program` field of every log line. */
  readonly program: string;
  /** The environment variable that sets the log level, and the level without it. */
  readonly logLevelVariable: string;
  readonly defaultLogLevel: LogLevel;
  readonly projectRoot: string;
  /** Aborted by the program's main on SIGINT/SIGTERM (only a main installs signal handlers). */
  readonly signal: AbortSignal;
}

/**
 * What every CLI program's main does after installing its signal handlers: a JSON logger on stderr
 * (level from the environment, CC_TRACE switches), then `dispatch` of argv with the process's stdio.
 * Returns the exit code for the main to set.
 */
export function runProgramMain(o: ProgramMainOptions): Promise<number> {
  const env = processEnv();
  const log = new JsonLogger({
    sink: process.stderr,
    level: parseLogLevel(envString(env, o.logLevelVariable), o.defaultLogLevel),
    trace: new TraceSwitches(envString(env, 'CC_TRACE') ?? ''),
    fields: { program: o.program },
  });
  return dispatch(o.root, process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env,
    signal: o.signal,
    log,
    projectRoot: o.projectRoot,
  });
}
