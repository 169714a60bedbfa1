/**
 * Policy strings with run-time parts. A `Template` is literal text and placeholders
 * (`$(sandbox-name)`, `$(pod-ip)` …) that the rules resolve from the request or match with
 * anything. Rendered as the rules read it: plain text when no literal part could be mistaken
 * for syntax, else an anchored regex with the literal parts quoted.
 */
import { regexQuote } from './workloads.js';

export type TemplatePart = { readonly lit: string } | { readonly ph: string };
export type Template = readonly TemplatePart[];

export function lit(s: string): Template {
  return [{ lit: s }];
}

export function ph(name: string): Template {
  return [{ ph: name }];
}

export function joinTemplates(parts: readonly Template[]): Template {
  return parts.flat();
}

/** Would the rules misread the plain text (a leading "^" or "$(sfprefix)" means regex)? */
function needsRegex(t: Template): boolean {
  const first = t[0];
  if (first !== undefined && 'ph' in first && first.ph === 'sfprefix') return true;
  if (first !== undefined && 'lit' in first && first.lit.startsWith('^')) return true;
  return t.some((p) => 'lit' in p && p.lit.includes('$('));
}

export function renderTemplate(t: Template): string {
  if (!needsRegex(t)) return t.map((p) => ('lit' in p ? p.lit : `$(${p.ph})`)).join('');
  return `^${t.map((p) => ('lit' in p ? regexQuote(p.lit) : `$(${p.ph})`)).join('')}$`;
}

/**
 * Kubernetes `$(VAR)` expansion in command, args and env values: `$$` is a literal `$`,
 * `$(NAME)` of a defined variable is its value, anything else stays as written.
 */
export function expandVars(text: string, vars: ReadonlyMap<string, Template>): Template {
  const out: TemplatePart[] = [];
  let buf = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '$' && text[i + 1] === '$') {
      buf += '$';
      i++;
      continue;
    }
    if (c === '$' && text[i + 1] === '(') {
      const end = text.indexOf(')', i + 2);
      const value = end < 0 ? undefined : vars.get(text.slice(i + 2, end));
      if (value !== undefined) {
        if (buf !== '') out.push({ lit: buf });
        buf = '';
        out.push(...value);
        i = end;
        continue;
      }
    }
    buf += c ?? '';
  }
  if (buf !== '' || out.length === 0) out.push({ lit: buf });
  return out;
}
