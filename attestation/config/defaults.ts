/** Defaults of the attestation program's config (every key is listed in README.md). */
export const KBS_CONFIG_DEFAULTS = {
  listen: '127.0.0.1:8080',
  allowSample: false,
  tokenTtlSeconds: 300,
} as const;
