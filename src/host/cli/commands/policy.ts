import { readFileSync } from 'node:fs';
import { parseCommandArgs, UsageError, writeLine, type Command } from '#src/lib/index.js';
import { compileModules, describeDenial, PolicySession } from '#src/rego/index.js';
import {
  parseRequestLine,
  policyExplainCommand,
  UNPOLICED_WHEN_UNDEFINED,
} from './policy-explain.js';
import { policyGenerateCommand } from './policy-generate.js';

const replayCommand: Command = {
  name: 'replay',
  summary: 'replay recorded agent requests against an agent policy',
  help: `Usage: kata-cc policy replay --policy FILE [--v0] REQUESTS.jsonl

Evaluates each request of REQUESTS.jsonl (one JSON array ["<RequestName>", {request}] per line,
the format the guest agent records with the "policy" trace switch) against the policy as the
agent does: data.agent_policy.<RequestName>, with the policy state (data.pstate) carried from
request to request and the "ops" of allowed answers applied to it, and AllowRequestsFailingPolicy
honoured. Prints one JSON line per request:
  {"request": NAME, "allowed": BOOL, "prints": [...], "reason": "..."}
Blank lines are skipped. Exit code 0 when every line was evaluated (whatever the verdicts), 1 on
unreadable input or a policy error.

Options:
  --policy FILE   the policy (e.g. initdata policy.rego)
  --v0            parse the policy as Rego v0 (genpolicy output)`,
  run(args, ctx) {
    const { values, positionals } = parseCommandArgs(args, {
      policy: { type: 'string' },
      v0: { type: 'boolean' },
    });
    const [file, extra] = positionals;
    if (values.policy === undefined) throw new UsageError('missing --policy FILE');
    if (file === undefined || extra !== undefined)
      throw new UsageError('expected exactly one REQUESTS.jsonl');
    const text = readFileSync(values.policy, 'utf8');
    const policy = compileModules([{ path: values.policy, text }], { v0: values.v0 === true });
    const session = new PolicySession(policy, { allowUndefined: UNPOLICED_WHEN_UNDEFINED });
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (line.trim() === '') return;
      const [name, request] = parseRequestLine(line, `${file}:${String(i + 1)}`);
      const d = session.decide(name, request);
      const reason = d.policyAllowed ? '' : describeDenial(d);
      writeLine(
        ctx.stdout,
        JSON.stringify({ request: name, allowed: d.allowed, prints: d.prints, reason }),
      );
    });
    return Promise.resolve(0);
  },
};

export const policyCommand: Command = {
  name: 'policy',
  summary: 'generate, replay and explain guest agent policies',
  help: `Usage: kata-cc policy COMMAND

Agent policies are Rego (package agent_policy) evaluated by the guest agent for every request;
see guest/policy/README.md.`,
  subcommands: [policyGenerateCommand, replayCommand, policyExplainCommand],
};
