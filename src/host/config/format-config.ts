import type { LoadedHostConfig } from './host-config.js';

function tomlValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(tomlValue).join(', ')}]`;
  return String(v);
}

/** The effective configuration as TOML, each value annotated with where it came from. */
export function formatConfig(loaded: LoadedHostConfig): string {
  const lines: string[] = [];
  lines.push(
    `# files read: ${loaded.files.length === 0 ? '(none: defaults only)' : loaded.files.join(', ')}`,
  );
  for (const [section, table] of Object.entries(
    loaded.config as unknown as Record<string, Record<string, unknown>>,
  )) {
    lines.push('', `[${section}]`);
    for (const [key, value] of Object.entries(table)) {
      lines.push(
        `${key} = ${tomlValue(value)}  # ${loaded.sources[`${section}.${key}`] ?? 'default'}`,
      );
    }
  }
  return lines.join('\n');
}
