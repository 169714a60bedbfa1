import { appendFileSync, readFileSync } from 'node:fs';
import { isSystemError, type Logger } from '#src/lib/index.js';
import { AgentPolicyError } from './errors.js';
import { compileAgentPolicy, RegoAgentPolicy } from './rego-agent-policy.js';

/** Where the guest image installs `policies/agent/` (copied with the agent bundle). */
export const GUEST_AGENT_POLICY_DIR = '/opt/kata-cc/policies/agent';
/** Where the attestation side writes the initdata policy. */
export const INITDATA_POLICY_PATH = '/run/kata-cc/initdata/policy.rego';

export interface LoadAgentPolicyOptions {
  /** initdata `policy.rego`; a missing file means "no policy in initdata". */
  readonly initdataPolicyPath?: string | undefined;
  /** The built-in default (`allow-all.rego`); must exist. */
  readonly defaultPolicyPath: string;
  readonly logger: Logger;
  /** Debug: append every request as a replay line `["<RequestName>", {request}]` to this file. */
  readonly requestLogPath?: string | undefined;
}

function readIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if (isSystemError(err) && err.code === 'ENOENT') return undefined;
    throw new AgentPolicyError('internal', 'ERR_AGENT_POLICY_LOAD', `cannot read ${path}`, {
      cause: err,
    });
  }
}

/**
 * Loads the agent policy: the initdata policy when present, else the built-in default. A policy
 * that is present but does not compile is an error (fail closed: never fall back to allow-all).
 */
export function loadAgentPolicy(o: LoadAgentPolicyOptions): RegoAgentPolicy {
  let path = o.defaultPolicyPath;
  let text = o.initdataPolicyPath === undefined ? undefined : readIfPresent(o.initdataPolicyPath);
  if (text !== undefined && o.initdataPolicyPath !== undefined) path = o.initdataPolicyPath;
  else {
    text = readIfPresent(o.defaultPolicyPath);
    if (text === undefined)
      throw new AgentPolicyError(
        'failed_precondition',
        'ERR_AGENT_POLICY_LOAD',
        `the default agent policy ${o.defaultPolicyPath} is missing: rebuild the guest image`,
      );
  }
  const policy = compileAgentPolicy(text, path);
  const logPath = o.requestLogPath;
  o.logger.info('agent policy loaded', {
    source: path,
    lines: text.split('\n').length,
    ...(logPath === undefined ? {} : { request_log: logPath }),
  });
  return new RegoAgentPolicy(policy, {
    logger: o.logger,
    source: path,
    recordRequest:
      logPath === undefined
        ? undefined
        : (line) => {
            try {
              appendFileSync(logPath, line + '\n');
            } catch (err) {
              o.logger.warn('cannot record policy request', { path: logPath, error: err });
            }
          },
  });
}
