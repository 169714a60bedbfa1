import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';

/** The checkout: two levels above test/helpers/, or one above dist/ when bundled (the benchmarks). */
export const PROJECT_ROOT =
  basename(import.meta.dirname) === 'dist'
    ? join(import.meta.dirname, '..')
    : join(import.meta.dirname, '..', '..');

/** Every TypeScript source file under the code folders (not tests, not generated), relative paths. */
export function sourceFiles(dirs = ['src', 'guest', 'attestation', 'native']): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const p = join(dir, name);
      if (name === 'node_modules' || name === 'build') continue;
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts')) out.push(relative(PROJECT_ROOT, p));
    }
  };
  for (const d of dirs) walk(join(PROJECT_ROOT, d));
  return out.sort();
}

export function readSource(rel: string): string {
  return readFileSync(join(PROJECT_ROOT, rel), 'utf8');
}

/** Module specifiers imported (statically or dynamically) by a source text. */
export function importsOf(text: string): string[] {
  const specs: string[] = [];
  const re =
    /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g;
  for (const m of text.matchAll(re)) {
    const s = m[1] ?? m[2] ?? m[3];
    if (s !== undefined) specs.push(s);
  }
  return specs;
}
