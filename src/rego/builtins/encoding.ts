import { createHash } from 'node:crypto';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { fromJs, parseJsonText, toJs, toJsonText } from '../json.js';
import type { RegoObject, RegoValue } from '../value.js';
import { formatValue } from '../format.js';
import { arg, fail, obj, str } from './args.js';
import type { BuiltinTable } from './types.js';

function b64decode(s: string, url: boolean): string {
  const clean = url ? s : s;
  const re = url ? /^[A-Za-z0-9_-]*={0,2}$/ : /^[A-Za-z0-9+/]*={0,2}$/;
  if (!re.test(clean) || (!url && clean.length % 4 !== 0))
    fail('illegal base64 data at input byte 0');
  return Buffer.from(clean, url ? 'base64url' : 'base64').toString('utf8');
}

function hexDecode(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s[i] ?? '';
    if (!/[0-9a-fA-F]/.test(c))
      fail(
        `encoding/hex: invalid byte: U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')} ${JSON.stringify(c).replace(/"/g, "'")}`,
      );
  }
  if (s.length % 2 !== 0) fail('encoding/hex: odd length hex string');
  return Buffer.from(s, 'hex').toString('utf8');
}

function unmarshal(s: string): RegoValue {
  try {
    return parseJsonText(s);
  } catch (err) {
    return fail(err instanceof Error ? err.message : String(err));
  }
}

function marshalWithOptions(v: RegoValue, opts: RegoObject): string {
  let prefix = '';
  let indent = '\t';
  let pretty: boolean | undefined;
  let implied = false;
  for (const [k, x] of opts.entries()) {
    if (k === 'pretty' && typeof x === 'boolean') pretty = x;
    else if (k === 'prefix' && typeof x === 'string') {
      prefix = x;
      implied = true;
    } else if (k === 'indent' && typeof x === 'string') {
      indent = x;
      implied = true;
    } else fail(`object contained unknown key ${formatValue(k)}`);
  }
  const compact = toJsonText(v);
  if (!(pretty ?? implied)) return compact;
  const text = JSON.stringify(JSON.parse(compact), null, indent);
  return text
    .split('\n')
    .map((l) => prefix + l)
    .join('\n');
}

function hash(alg: string): (a: RegoValue[]) => string {
  return (a) => createHash(alg).update(str(a, 0), 'utf8').digest('hex');
}

export const ENCODING_BUILTINS: BuiltinTable = {
  'base64.encode': { arity: 1, fn: (a) => Buffer.from(str(a, 0), 'utf8').toString('base64') },
  'base64.decode': { arity: 1, fn: (a) => b64decode(str(a, 0), false) },
  'base64.is_valid': {
    arity: 1,
    fn: (a) => {
      const s = str(a, 0);
      return /^[A-Za-z0-9+/]*={0,2}$/.test(s) && s.length % 4 === 0;
    },
  },
  'base64url.encode': {
    arity: 1,
    fn: (a) =>
      Buffer.from(str(a, 0), 'utf8')
        .toString('base64url')
        .padEnd(Math.ceil(Buffer.byteLength(str(a, 0)) / 3) * 4, '='),
  },
  'base64url.encode_no_pad': {
    arity: 1,
    fn: (a) => Buffer.from(str(a, 0), 'utf8').toString('base64url'),
  },
  'base64url.decode': { arity: 1, fn: (a) => b64decode(str(a, 0), true) },
  'hex.encode': { arity: 1, fn: (a) => Buffer.from(str(a, 0), 'utf8').toString('hex') },
  'hex.decode': { arity: 1, fn: (a) => hexDecode(str(a, 0)) },
  'json.marshal': { arity: 1, fn: (a) => toJsonText(arg(a, 0)) },
  'json.marshal_with_options': { arity: 2, fn: (a) => marshalWithOptions(arg(a, 0), obj(a, 1)) },
  'json.unmarshal': { arity: 1, fn: (a) => unmarshal(str(a, 0)) },
  'json.is_valid': {
    arity: 1,
    fn: (a) => {
      const s = a[0];
      if (typeof s !== 'string') return false;
      try {
        JSON.parse(s);
        return true;
      } catch {
        return false;
      }
    },
  },
  'yaml.marshal': { arity: 1, fn: (a) => stringifyYaml(toJs(arg(a, 0))) },
  'yaml.unmarshal': {
    arity: 1,
    fn: (a) => {
      try {
        return fromJs(parseYaml(str(a, 0), { intAsBigInt: true }) as unknown);
      } catch (err) {
        return fail(`yaml: ${err instanceof Error ? err.message : String(err)}`);
      }
    },
  },
  'yaml.is_valid': {
    arity: 1,
    fn: (a) => {
      try {
        parseYaml(str(a, 0));
        return true;
      } catch {
        return false;
      }
    },
  },
  'crypto.sha256': { arity: 1, fn: hash('sha256') },
  'crypto.sha384': { arity: 1, fn: hash('sha384') },
  'crypto.sha512': { arity: 1, fn: hash('sha512') },
  'crypto.sha1': { arity: 1, fn: hash('sha1') },
  'crypto.md5': { arity: 1, fn: hash('md5') },
};
