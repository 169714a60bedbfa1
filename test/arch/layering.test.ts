import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, test } from 'vitest';
import { importsOf, PROJECT_ROOT, readSource, sourceFiles } from '#test/helpers/source-files.js';

/** The area a file belongs to, for the rules of DESIGN.md §3. */
function areaOf(file: string): string {
  const parts = file.split('/');
  if (parts[0] === 'src') {
    if (parts[1] === 'host') return `src/host/${parts[2] ?? ''}`.replace(/\.ts$/, '');
    return `src/${parts[1] ?? ''}`;
  }
  return parts[0] ?? '';
}

/** Resolves a specifier to a project-relative path, or undefined for packages and builtins. */
function resolveSpec(from: string, spec: string): string | undefined {
  const alias = /^#(src|guest|attestation|native|test)\/(.*)$/.exec(spec);
  if (alias) return normalize(join(alias[1] === 'src' ? 'src' : alias[1]!, alias[2]!));
  if (spec.startsWith('.')) return relative(PROJECT_ROOT, join(PROJECT_ROOT, dirname(from), spec));
  return undefined;
}

const L1 = ['src/protocol', 'src/rego', 'src/oci', 'src/tee'];
const HOST_ORDER = [
  'src/host/shim',
  'src/host/service',
  'src/host/runtime',
  'src/host/agent',
  'src/host/resource',
  'src/host/hypervisor',
];
const HOST_ALLOWED: Record<string, string[]> = {
  'src/host/shim': ['src/host/service', 'src/host/config', 'src/host/persist'],
  'src/host/service': ['src/host/runtime', 'src/host/config', 'src/host/persist'],
  'src/host/runtime': [
    'src/host/resource',
    'src/host/agent',
    'src/host/hypervisor',
    'src/host/network',
    'src/host/config',
    'src/host/persist',
  ],
  'src/host/resource': ['src/host/hypervisor', 'src/host/config'],
  'src/host/agent': ['src/host/config'],
  'src/host/hypervisor': ['src/host/config'],
  'src/host/network': ['src/host/config'],
};

function violation(file: string, target: string): string | undefined {
  const from = areaOf(file);
  const to = areaOf(target);
  if (from === to) return undefined;
  if (to === 'src/lib') return undefined;
  if (from === 'src/lib') return 'src/lib imports only node builtins and itself';
  if (L1.includes(from)) {
    if (to === 'src/protocol' && from === 'src/oci') return undefined;
    if (L1.includes(to) && !(from === 'src/protocol' && to === 'src/protocol')) {
      return `${from} (L1) may import only src/lib`;
    }
    if (!L1.includes(to)) return `${from} (L1) may not import ${to}`;
  }
  const top = (a: string): string => (a.startsWith('src/host') ? 'src/host' : a);
  const programs = ['src/host', 'guest', 'attestation'];
  if (programs.includes(top(from)) && programs.includes(top(to)) && top(from) !== top(to)) {
    return `${top(from)} and ${top(to)} never import each other`;
  }
  if (from.startsWith('src/host/') && to.startsWith('src/host/')) {
    const allowed = HOST_ALLOWED[from];
    if (allowed && !allowed.includes(to))
      return `inside src/host calls go shim → service → runtime → {resource, agent, hypervisor}; ${from} may not import ${to}`;
  }
  if (to === 'test') return 'production code never imports tests';
  return undefined;
}

describe('layering (DESIGN.md §3)', () => {
  const files = sourceFiles();

  test('finds the source tree', () => {
    expect(files.length).toBeGreaterThan(5);
    expect(HOST_ORDER.length).toBe(6);
  });

  test('every import follows the dependency rules', () => {
    const problems: string[] = [];
    for (const file of files) {
      for (const spec of importsOf(readSource(file))) {
        const target = resolveSpec(file, spec);
        if (target === undefined) continue;
        const why = violation(file, target);
        if (why) problems.push(`${file} imports ${spec}: ${why}`);
      }
    }
    expect(problems).toEqual([]);
  });

  test('only native/index.ts loads the addon', () => {
    const offenders = files.filter(
      (f) => f !== 'native/index.ts' && /\.node['"]/.test(readSource(f)),
    );
    expect(offenders).toEqual([]);
  });

  test('only src/lib/env.ts reads process.env', () => {
    const offenders = files.filter(
      (f) => f !== 'src/lib/env.ts' && /process\.env\b/.test(readSource(f)),
    );
    expect(offenders).toEqual([]);
  });

  test('only */main.ts files exit the process or install signal handlers', () => {
    const offenders = files.filter(
      (f) =>
        !f.endsWith('/main.ts') &&
        /process\.(exit\(|once\(['"]SIG|on\(['"]SIG)/.test(readSource(f)),
    );
    expect(offenders).toEqual([]);
  });

  test('the rule checker itself flags a guest → host import', () => {
    expect(violation('guest/agent/server.ts', 'src/host/shim/x.ts')).toMatch(
      /never import each other/,
    );
    expect(violation('src/lib/x.ts', 'src/rego/y.ts')).toMatch(/src\/lib/);
    expect(violation('src/host/hypervisor/q.ts', 'src/host/runtime/r.ts')).toMatch(/calls go/);
    expect(violation('src/oci/a.ts', 'src/protocol/b.ts')).toBeUndefined();
  });
});
