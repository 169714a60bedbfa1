import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KvStore } from '../store/index.js';
import { PolicyStoreError } from './errors.js';

/** File names, below the policies directory, of the defaults (read at run time, never inlined). */
export const DEFAULT_ATTESTATION_POLICY_FILE = join('as', 'default.rego');
export const DEFAULT_RESOURCE_POLICY_FILE = join('kbs', 'default-resource.rego');
export const DEFAULT_POLICY_ID = 'default';
export const MAX_POLICY_BYTES = 256 << 10;

const ID_RE = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Attestation policies (by id) and the resource policy: what the admin set, persisted in the store;
 * otherwise the default files from the policies directory.
 */
export class PolicyStore {
  readonly #store: KvStore;
  readonly #dir: string;
  readonly #defaults = new Map<string, string>();

  constructor(store: KvStore, policiesDir: string) {
    this.#store = store;
    this.#dir = policiesDir;
  }

  async attestationPolicy(id: string = DEFAULT_POLICY_ID): Promise<string> {
    checkId(id);
    const stored = await this.#store.get('policies', `attestation/${id}`);
    if (stored) return new TextDecoder().decode(stored);
    if (id !== DEFAULT_POLICY_ID)
      throw new PolicyStoreError(
        'not_found',
        'ERR_POLICY_ID',
        `attestation policy ${JSON.stringify(id)} is not set`,
      );
    return this.#default(DEFAULT_ATTESTATION_POLICY_FILE);
  }

  async setAttestationPolicy(id: string, text: string): Promise<void> {
    checkId(id);
    checkSize(text);
    await this.#store.put('policies', `attestation/${id}`, new TextEncoder().encode(text));
  }

  async resourcePolicy(): Promise<string> {
    const stored = await this.#store.get('policies', 'resource');
    return stored ? new TextDecoder().decode(stored) : this.#default(DEFAULT_RESOURCE_POLICY_FILE);
  }

  async setResourcePolicy(text: string): Promise<void> {
    checkSize(text);
    await this.#store.put('policies', 'resource', new TextEncoder().encode(text));
  }

  async #default(file: string): Promise<string> {
    const hit = this.#defaults.get(file);
    if (hit !== undefined) return hit;
    const path = join(this.#dir, file);
    try {
      const text = await readFile(path, 'utf8');
      this.#defaults.set(file, text);
      return text;
    } catch (err) {
      throw new PolicyStoreError(
        'failed_precondition',
        'ERR_POLICY_DEFAULT_MISSING',
        `default policy ${path} cannot be read: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
  }
}

function checkId(id: string): void {
  if (!ID_RE.test(id))
    throw new PolicyStoreError(
      'invalid_argument',
      'ERR_POLICY_ID',
      `policy id ${JSON.stringify(id.slice(0, 70))}: expected 1..64 characters of [A-Za-z0-9._-]`,
    );
}

function checkSize(text: string): void {
  if (Buffer.byteLength(text) > MAX_POLICY_BYTES)
    throw new PolicyStoreError(
      'resource_exhausted',
      'ERR_POLICY_TOO_LARGE',
      `policy is larger than ${String(MAX_POLICY_BYTES)} bytes`,
    );
}
