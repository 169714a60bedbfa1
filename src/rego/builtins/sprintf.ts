import { formatValue, formatNumber } from '../format.js';
import { isInteger, isNumber, runes, type RegoValue } from '../value.js';

type GoArg = { t: 'int'; v: bigint } | { t: 'float'; v: number } | { t: 'string'; v: string };

function toGo(v: RegoValue): GoArg {
  if (typeof v === 'string') return { t: 'string', v };
  if (isNumber(v)) {
    if (!isInteger(v)) return { t: 'float', v: Number(v) };
    const b = BigInt(v);
    // beyond int64 OPA passes a *big.Int, which formats %s and %v as decimal
    return b > 9223372036854775807n || b < -9223372036854775808n
      ? { t: 'string', v: b.toString() }
      : { t: 'int', v: b };
  }
  return { t: 'string', v: formatValue(v) };
}

function goTypeName(a: GoArg): string {
  return a.t === 'int' ? 'int' : a.t === 'float' ? 'float64' : 'string';
}

function goValue(a: GoArg): string {
  return a.t === 'string' ? a.v : a.t === 'int' ? a.v.toString() : formatFloatG(a.v);
}

function formatFloatG(f: number): string {
  if (Number.isInteger(f) && Math.abs(f) < 1e21) return formatNumber(f);
  const s = String(f);
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}

function expo(f: number, prec: number): string {
  return f.toExponential(prec).replace(/e([+-])(\d)$/, 'e$10$2');
}

interface Spec {
  readonly minus: boolean;
  readonly plus: boolean;
  readonly zero: boolean;
  readonly space: boolean;
  readonly sharp: boolean;
  readonly width: number | undefined;
  readonly prec: number | undefined;
}

function pad(s: string, spec: Spec, numeric: boolean): string {
  if (spec.width === undefined || s.length >= spec.width) return s;
  const n = spec.width - runes(s).length;
  if (spec.minus) return s + ' '.repeat(n);
  if (spec.zero && numeric) {
    const sign = s.startsWith('-') || s.startsWith('+') ? (s[0] ?? '') : '';
    return sign + '0'.repeat(n) + s.slice(sign.length);
  }
  return ' '.repeat(n) + s;
}

function signed(s: string, spec: Spec): string {
  if (!s.startsWith('-')) {
    if (spec.plus) return '+' + s;
    if (spec.space) return ' ' + s;
  }
  return s;
}

function intBase(v: bigint, base: number, upper: boolean, spec: Spec): string {
  const neg = v < 0n;
  let s = (neg ? -v : v).toString(base);
  if (upper) s = s.toUpperCase();
  if (spec.sharp && base === 16) s = (upper ? '0X' : '0x') + s;
  if (spec.sharp && base === 8) s = '0' + s;
  return signed((neg ? '-' : '') + s, spec);
}

function hexString(s: string, upper: boolean): string {
  const h = Buffer.from(s, 'utf8').toString('hex');
  return upper ? h.toUpperCase() : h;
}

function formatOne(verb: string, a: GoArg, spec: Spec): [string, boolean] {
  const bad = (): [string, boolean] => [`%!${verb}(${goTypeName(a)}=${goValue(a)})`, false];
  switch (verb) {
    case 'v':
      if (a.t === 'float') return [signed(formatFloatG(a.v), spec), true];
      if (a.t === 'int') return [signed(a.v.toString(), spec), true];
      return [spec.prec !== undefined ? runes(a.v).slice(0, spec.prec).join('') : a.v, false];
    case 's':
      if (a.t !== 'string') return bad();
      return [spec.prec !== undefined ? runes(a.v).slice(0, spec.prec).join('') : a.v, false];
    case 'q':
      if (a.t !== 'string') return bad();
      return [JSON.stringify(a.v), false];
    case 'd':
      return a.t === 'int' ? [signed(a.v.toString(), spec), true] : bad();
    case 'b':
    case 'o':
      return a.t === 'int' ? [intBase(a.v, verb === 'b' ? 2 : 8, false, spec), true] : bad();
    case 'x':
    case 'X':
      if (a.t === 'int') return [intBase(a.v, 16, verb === 'X', spec), true];
      if (a.t === 'string') return [hexString(a.v, verb === 'X'), false];
      return bad();
    case 'c':
      return a.t === 'int' ? [String.fromCodePoint(Number(a.v)), false] : bad();
    case 't':
      return a.t === 'string' && (a.v === 'true' || a.v === 'false') ? [a.v, false] : bad();
    case 'f':
    case 'F':
    case 'e':
    case 'E':
    case 'g':
    case 'G': {
      if (a.t === 'string') return bad();
      const f = Number(a.v);
      const p = spec.prec;
      let s: string;
      if (verb === 'f' || verb === 'F') s = f.toFixed(p ?? 6);
      else if (verb === 'e' || verb === 'E') s = expo(f, p ?? 6);
      else s = p === undefined ? formatFloatG(f) : String(Number(f.toPrecision(p || 1)));
      if (verb === 'E' || verb === 'G') s = s.toUpperCase();
      return [signed(s, spec), true];
    }
    default:
      return [`%!${verb}(${goTypeName(a)}=${goValue(a)})`, false];
  }
}

/** Go fmt.Sprintf over Rego values, as OPA's sprintf converts them. */
export function sprintf(format: string, values: readonly RegoValue[]): string {
  const args = values.map(toGo);
  let out = '';
  let argi = 0;
  const re = /%([-+# 0]*)(\d+)?(?:\.(\d*))?([a-zA-Z%])/y;
  let i = 0;
  while (i < format.length) {
    const p = format.indexOf('%', i);
    if (p < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, p);
    re.lastIndex = p;
    const m = re.exec(format);
    if (!m) {
      out += '%!(NOVERB)';
      break;
    }
    i = re.lastIndex;
    const [, flags = '', width, prec, verb = 'v'] = m;
    if (verb === '%') {
      out += '%';
      continue;
    }
    const spec: Spec = {
      minus: flags.includes('-'),
      plus: flags.includes('+'),
      zero: flags.includes('0'),
      space: flags.includes(' '),
      sharp: flags.includes('#'),
      width: width === undefined ? undefined : Number(width),
      prec: prec === undefined ? undefined : Number(prec || '0'),
    };
    const a = args[argi++];
    if (a === undefined) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const [s, numeric] = formatOne(verb, a, spec);
    out += pad(s, spec, numeric);
  }
  if (argi < args.length) {
    out +=
      '%!(EXTRA ' +
      args
        .slice(argi)
        .map((a) => `${goTypeName(a)}=${goValue(a)}`)
        .join(', ') +
      ')';
  }
  return out;
}
