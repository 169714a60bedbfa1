/** What the KBS keeps: resources, policies, reference values and its signing keys. */
export type StoreNamespace = 'resources' | 'policies' | 'reference-values' | 'keys';

export const STORE_NAMESPACES: readonly StoreNamespace[] = [
  'resources',
  'policies',
  'reference-values',
  'keys',
];

/**
 * A durable key-value store. `put` resolves only once the value would survive a crash or power
 * loss; a reader never sees a partly written value.
 */
export interface KvStore {
  get(ns: StoreNamespace, key: string): Promise<Uint8Array | undefined>;
  put(ns: StoreNamespace, key: string, value: Uint8Array): Promise<void>;
  delete(ns: StoreNamespace, key: string): Promise<boolean>;
  list(ns: StoreNamespace): Promise<string[]>;
}
