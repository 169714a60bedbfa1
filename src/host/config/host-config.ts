import type { HOST_CONFIG_SCHEMA } from './schema.js';

type Spec = typeof HOST_CONFIG_SCHEMA;
type ValueOf<F> = F extends { type: 'string' }
  ? string
  : F extends { type: 'int' }
    ? number
    : F extends { type: 'bool' }
      ? boolean
      : F extends { type: 'enum'; values: readonly (infer V)[] }
        ? V
        : F extends { type: 'string[]' }
          ? readonly string[]
          : never;

/** The effective host configuration: readonly, frozen, keys as in the TOML file. */
export type HostConfig = {
  readonly [S in keyof Spec]: { readonly [K in keyof Spec[S]]: ValueOf<Spec[S][K]> };
};

/** Where each value came from: `default`, a file path, `flag`, `runtime-options`. */
export type ConfigSources = Readonly<Record<string, string>>;

export interface LoadedHostConfig {
  readonly config: HostConfig;
  /** `section.key` → source. */
  readonly sources: ConfigSources;
  /** The files read, in merge order. */
  readonly files: readonly string[];
}
