/**
 * The only module that reads process.env. Everything else receives an `Env` (tests pass their own).
 */
export type Env = Readonly<Record<string, string | undefined>>;

export function processEnv(): Env {
  return process.env;
}

export function envString(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

export function envFlag(env: Env, name: string): boolean {
  const v = envString(env, name);
  return v !== undefined && !['0', 'false', 'no', 'off'].includes(v.toLowerCase());
}
