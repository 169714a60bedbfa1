import { readFile } from 'node:fs/promises';
import { Secret, wrapError } from '#src/lib/index.js';
import { checkKbsKeyId, WRAP_TYPE_A256GCM } from '#src/oci/index.js';
import { ImageCryptError } from './errors.js';

/**
 * The `<params>` of `provider:kata-cc:<params>`, in coco-keyprovider's syntax:
 * `keypath=FILE::keyid=kbs:///repo/type/tag[::algorithm=A256GCM]`.
 */
export interface KekParams {
  /** File holding the key-encryption key: 32 bytes, or their base64. */
  readonly keyPath: string;
  /** KBS resource uri of the same key (required to wrap; to unwrap it selects the packets). */
  readonly keyId: string | undefined;
  readonly algorithm: typeof WRAP_TYPE_A256GCM;
}

const KNOWN = ['keypath', 'keyid', 'algorithm', 'sample'] as const;
const SYNTAX = 'keypath=FILE::keyid=kbs:///<repository>/<type>/<tag>[::algorithm=A256GCM]';

function bad(why: string): ImageCryptError {
  return new ImageCryptError(
    'invalid_argument',
    'ERR_KEYPROVIDER_PARAMS',
    `keyprovider parameters: ${why} (expected ${SYNTAX})`,
  );
}

/** Parses one parameter string; `forWrap` makes `keyid` required. */
export function parseKekParams(raw: string, forWrap: boolean): KekParams {
  const fields = new Map<string, string>();
  if (raw === '' || raw === 'Enabled') throw bad('none given');
  for (const field of raw.split('::')) {
    const eq = field.indexOf('=');
    const name = eq < 0 ? field : field.slice(0, eq);
    if (eq <= 0) throw bad(`${JSON.stringify(field.slice(0, 100))} is not NAME=VALUE`);
    if (!(KNOWN as readonly string[]).includes(name))
      throw bad(`unknown parameter ${JSON.stringify(name.slice(0, 100))}`);
    if (fields.has(name)) throw bad(`${name} given twice`);
    fields.set(name, field.slice(eq + 1));
  }
  const sample = fields.get('sample');
  if (sample !== undefined && sample !== 'false')
    throw bad('sample=true (the hard-coded sample key) is refused: give your own keypath');
  const keyPath = fields.get('keypath');
  if (keyPath === undefined || keyPath === '') throw bad('keypath is missing');
  const keyId = fields.get('keyid');
  if (keyId === undefined && forWrap) throw bad('keyid is missing (the KBS resource of the key)');
  if (keyId !== undefined) {
    try {
      checkKbsKeyId(keyId, 'keyid');
    } catch (err) {
      throw bad(err instanceof Error ? err.message : String(err));
    }
  }
  const algorithm = fields.get('algorithm') ?? WRAP_TYPE_A256GCM;
  if (algorithm !== WRAP_TYPE_A256GCM)
    throw new ImageCryptError(
      'unimplemented',
      'ERR_KEYPROVIDER_PARAMS',
      `keyprovider parameters: algorithm ${JSON.stringify(algorithm.slice(0, 40))} is not supported: the guest unwraps only ${WRAP_TYPE_A256GCM}`,
    );
  return { keyPath, keyId, algorithm };
}

const MAX_KEK_FILE = 4096;

/**
 * Reads a key-encryption key file: exactly 32 bytes, or the base64 of 32 bytes (surrounding
 * whitespace allowed) — the same bytes the KBS resource `keyid` must hold.
 */
export async function readKekFile(path: string): Promise<Secret<Uint8Array>> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw wrapError(err, `cannot read the key-encryption key file ${path}`, 'ERR_KEYPROVIDER_KEK');
  }
  if (bytes.length === 32) return new Secret(new Uint8Array(bytes));
  const text = bytes.length <= MAX_KEK_FILE ? bytes.toString('latin1').trim() : '';
  if (/^[A-Za-z0-9+/]{43}=$/.test(text) || /^[A-Za-z0-9_-]{43}$/.test(text)) {
    const key = Buffer.from(text, text.endsWith('=') ? 'base64' : 'base64url');
    if (key.length === 32) return new Secret(new Uint8Array(key));
  }
  throw new ImageCryptError(
    'invalid_argument',
    'ERR_KEYPROVIDER_KEK',
    `key-encryption key file ${path}: expected 32 bytes or their base64 (44 characters), got ${String(bytes.length)} bytes that are neither (make one with: head -c 32 /dev/urandom > FILE)`,
  );
}
