import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CcError } from './errors.js';
import type { Env } from './env.js';
import type { Logger } from './logger.js';

/** What every `kata-cc` subcommand gets: its streams, environment, cancellation and logger. */
export interface CommandContext {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly stdin: NodeJS.ReadableStream;
  readonly env: Env;
  readonly signal: AbortSignal;
  readonly log: Logger;
  /** Absolute path of the project checkout (for dist/ bundles and the guest image cache). */
  readonly projectRoot: string;
}

/** A `kata-cc` subcommand. Return the exit code: 0 ok, 1 failure; throw UsageError for 2. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  /** Full help text printed by `kata-cc NAME --help`. */
  readonly help: string;
  readonly subcommands?: readonly Command[] | undefined;
  run?(args: readonly string[], ctx: CommandContext): Promise<number>;
}

/** Wrong words on the command line: exit code 2 with the message and a pointer to --help. */
export class UsageError extends CcError {
  constructor(message: string) {
    super('invalid_argument', 'ERR_CLI_USAGE', message);
  }
}

export type ParsedArgs<T extends ParseArgsConfig['options']> = ReturnType<
  typeof parseArgs<{ options: T; allowPositionals: true; strict: true }>
>;

/** node:util parseArgs with usage errors instead of TypeErrors. */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(
  args: readonly string[],
  options: T,
): ParsedArgs<T> {
  try {
    return parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

export function writeLine(stream: NodeJS.WritableStream, text: string): void {
  stream.write(text + '\n');
}
