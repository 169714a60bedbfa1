import type { InitDataAlgorithm } from '#src/tee/index.js';
import { PolicyGenError } from './errors.js';

export interface KbsInitDataOptions {
  /** The KBS both the attestation agent (`aa.toml`) and the CDH (`cdh.toml`) talk to. */
  readonly kbsUrl: string;
  /** Default sha384 (TDX `mrconfigid` holds all 48 bytes). */
  readonly algorithm?: InitDataAlgorithm | undefined;
  /** `cdh.toml` `[image] insecure_registries` (plain-HTTP pulls); omitted: no `[image]` table. */
  readonly insecureRegistries?: readonly string[] | undefined;
  /** `policy.rego`, replacing the guest's built-in agent policy; omitted: none. */
  readonly agentPolicy?: string | undefined;
}

/** `"<name>" = '''…'''`: a TOML multi-line literal string keeps the document readable as written. */
function literal(name: string, text: string): string[] {
  if (text.includes("'''"))
    throw new PolicyGenError(
      'invalid_argument',
      'ERR_POLICYGEN_INPUT',
      `initdata ${name}: the text contains ''' and cannot go into a TOML literal string`,
    );
  return [`"${name}" = '''`, text, `'''`];
}

/**
 * The initdata TOML of a pod that attests to a KBS: `aa.toml` and `cdh.toml` naming `kbsUrl`
 * (Trustee's initdata documents), optionally the CDH's image settings and an agent policy. The
 * digest of exactly these bytes is what the TEE evidence binds.
 */
export function kbsInitDataToml(o: KbsInitDataOptions): string {
  const url = JSON.stringify(o.kbsUrl);
  const cdh = ['socket = "unix:///run/confidential-containers/cdh.sock"', '[kbc]'];
  cdh.push('name = "cc_kbc"', `url = ${url}`);
  if (o.insecureRegistries !== undefined)
    cdh.push('[image]', `insecure_registries = ${JSON.stringify(o.insecureRegistries)}`);
  return [
    'version = "0.1.0"',
    `algorithm = "${o.algorithm ?? 'sha384'}"`,
    '[data]',
    ...literal('aa.toml', ['[token_configs.kbs]', `url = ${url}`].join('\n')),
    ...literal('cdh.toml', cdh.join('\n')),
    ...(o.agentPolicy === undefined ? [] : literal('policy.rego', o.agentPolicy.trimEnd())),
    '',
  ].join('\n');
}
