import { parse as parseToml } from 'smol-toml';
import { isPlainObject, Secret } from '#src/lib/index.js';
import {
  parseSignaturePolicy,
  registriesConfigFromObject,
  type RegistriesConfig,
  type CredentialsLookup,
  type RegistryCredentials,
  type SignaturePolicy,
} from '#src/oci/index.js';
import type { ResourceFetcher } from './cdh-client.js';
import { ImageError } from './errors.js';

/** Registry settings of guest pulls, from initdata `cdh.toml` `[image]` and the agent config. */
export interface ImageSettings {
  /** `image_security_policy_uri`: containers-policy.json as a KBS resource. */
  readonly policyUri: string | undefined;
  /** `authenticated_registry_credentials_uri`: containers auth.json as a KBS resource. */
  readonly credentialsUri: string | undefined;
  /** `registry_configuration_uri`: containers-registries.conf v2 as a KBS resource. */
  readonly registryConfigUri: string | undefined;
  /** `[image.registry_config]`: the same document inline in cdh.toml. */
  readonly registryConfig: RegistriesConfig | undefined;
  /** `extra_root_certificates`: PEM CA certificates for TLS registries. */
  readonly extraRootCertificates: readonly string[];
  /** Hosts spoken to over plain HTTP (`insecure_registries` and `agent.insecure_registries`). */
  readonly insecureRegistries: readonly string[];
  /** `[image]` keys of upstream's CDH that this puller does not implement (logged). */
  readonly ignoredKeys: readonly string[];
}

const SUPPORTED = [
  'image_security_policy_uri',
  'authenticated_registry_credentials_uri',
  'extra_root_certificates',
  'insecure_registries',
  'registry_configuration_uri',
  'registry_config',
];
const HOST_PORT = /^[A-Za-z0-9.-]{1,253}(?::[0-9]{1,5})?$|^\[[0-9a-fA-F:.]+\](?::[0-9]{1,5})?$/;
const KBS_URI =
  /^kbs:\/\/[A-Za-z0-9.:-]*\/([A-Za-z0-9._-]+)\/([A-Za-z0-9._-]+)\/([A-Za-z0-9._-]+)$/;

const bad = (m: string, cause?: unknown): ImageError =>
  new ImageError('invalid_argument', 'ERR_IMAGE_CONFIG', m, cause === undefined ? {} : { cause });

function kbsUri(v: unknown, at: string): string | undefined {
  if (v === undefined || v === '') return undefined;
  const m = typeof v === 'string' ? KBS_URI.exec(v) : null;
  if (typeof v !== 'string' || m === null || m.slice(1).some((p) => p === '.' || p === '..'))
    throw bad(`${at}: expected a kbs:///<repository>/<type>/<tag> resource uri`);
  return v;
}

function strings(v: unknown, at: string, check?: (s: string) => boolean): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((s): s is string => typeof s === 'string'))
    throw bad(`${at}: expected an array of strings`);
  for (const s of v) if (check && !check(s)) throw bad(`${at}: ${JSON.stringify(s)} is not valid`);
  return v;
}

export function checkRegistryHost(host: string, at: string): string {
  if (!HOST_PORT.test(host))
    throw bad(`${at}: ${JSON.stringify(host)} is not a registry host[:port]`);
  return host;
}

/**
 * Builds the settings from the `cdh.toml` text (undefined when initdata has none) and the
 * insecure registries of the agent's command line. Unknown `[image]` keys are reported in
 * `ignoredKeys`; a malformed known key is an error.
 */
export function parseImageSettings(
  cdhToml: string | undefined,
  cmdlineInsecure: readonly string[] = [],
): ImageSettings {
  let image: Record<string, unknown> = {};
  if (cdhToml !== undefined) {
    let doc: unknown;
    try {
      doc = parseToml(cdhToml);
    } catch (err) {
      throw bad(`cdh.toml: not valid TOML: ${err instanceof Error ? err.message : ''}`, err);
    }
    const section = isPlainObject(doc) ? doc['image'] : undefined;
    if (section !== undefined && !isPlainObject(section))
      throw bad('cdh.toml: [image] must be a table');
    image = { ...(section ?? {}) };
  }
  const at = 'cdh.toml image';
  const isPem = (s: string): boolean => s.includes('-----BEGIN CERTIFICATE-----');
  const insecure = [
    ...strings(image['insecure_registries'], `${at}.insecure_registries`),
    ...cmdlineInsecure,
  ].map((h) => checkRegistryHost(h, 'insecure registry'));
  const registryConfigUri = kbsUri(
    image['registry_configuration_uri'],
    `${at}.registry_configuration_uri`,
  );
  if (registryConfigUri !== undefined && image['registry_config'] !== undefined)
    throw bad(`${at}: give registry_configuration_uri or [image.registry_config], not both`);
  return Object.freeze({
    registryConfigUri,
    registryConfig: inlineRegistryConfig(image['registry_config'], `${at}.registry_config`),
    policyUri: kbsUri(image['image_security_policy_uri'], `${at}.image_security_policy_uri`),
    credentialsUri: kbsUri(
      image['authenticated_registry_credentials_uri'],
      `${at}.authenticated_registry_credentials_uri`,
    ),
    extraRootCertificates: strings(
      image['extra_root_certificates'],
      `${at}.extra_root_certificates`,
      isPem,
    ),
    insecureRegistries: [...new Set(insecure)],
    ignoredKeys: Object.keys(image).filter((k) => !SUPPORTED.includes(k)),
  });
}

function inlineRegistryConfig(v: unknown, at: string): RegistriesConfig | undefined {
  if (v === undefined) return undefined;
  try {
    return registriesConfigFromObject(v, at);
  } catch (err) {
    throw bad(err instanceof Error ? err.message : String(err), err);
  }
}

/**
 * Parses a containers `auth.json` (`{"auths": {"host": {"auth": base64("user:pass")}}}`, or
 * `username`/`password` fields) into a lookup by registry host.
 */
export function parseRegistryAuthFile(bytes: Uint8Array): CredentialsLookup {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw bad('registry credentials resource: not JSON (expected a containers auth.json)');
  }
  const auths = isPlainObject(doc) ? doc['auths'] : undefined;
  if (!isPlainObject(auths))
    throw bad('registry credentials resource: expected {"auths": {"<registry>": {…}}}');
  const table = new Map<string, RegistryCredentials>();
  for (const [host, entry] of Object.entries(auths)) {
    if (!isPlainObject(entry)) throw bad(`registry credentials for ${host}: expected an object`);
    let user = entry['username'];
    let pass = entry['password'];
    const auth = entry['auth'];
    if (typeof auth === 'string') {
      const plain = Buffer.from(auth, 'base64').toString('utf8');
      const colon = plain.indexOf(':');
      if (colon <= 0)
        throw bad(`registry credentials for ${host}: "auth" is not base64(user:password)`);
      user = plain.slice(0, colon);
      pass = plain.slice(colon + 1);
    }
    if (typeof user !== 'string' || typeof pass !== 'string' || user === '')
      throw bad(`registry credentials for ${host}: need "auth" or "username" and "password"`);
    const key = host.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
    table.set(key, { username: user, password: new Secret(pass) });
  }
  return (registry) =>
    table.get(registry) ?? (registry === 'docker.io' ? table.get('index.docker.io') : undefined);
}

/** Every `keyPath` of a policy document that names a KBS resource. */
function kbsKeyPaths(value: unknown, out: Set<string>): Set<string> {
  if (Array.isArray(value)) for (const v of value) kbsKeyPaths(v, out);
  else if (isPlainObject(value))
    for (const [k, v] of Object.entries(value)) {
      if (k === 'keyPath' && typeof v === 'string' && v.startsWith('kbs://')) out.add(v);
      else kbsKeyPaths(v, out);
    }
  return out;
}

/**
 * Fetches and parses the signature policy; its `keyPath` entries may name KBS resources
 * (`kbs:///default/cosign-key/1`), which are fetched first. Other key paths are refused: the guest
 * has no key files of its own.
 */
export async function loadSignaturePolicy(
  uri: string,
  cdh: ResourceFetcher,
  signal?: AbortSignal,
): Promise<SignaturePolicy> {
  const bytes = await cdh.getResource(uri, signal);
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw bad(`image security policy ${uri}: not JSON (expected containers-policy.json)`);
  }
  const keys = new Map<string, Uint8Array>();
  for (const p of kbsKeyPaths(doc, new Set())) keys.set(p, await cdh.getResource(p, signal));
  return parseSignaturePolicy(doc, {
    readKey: (path) => {
      const k = keys.get(path);
      if (k === undefined)
        throw bad(`image security policy ${uri}: keyPath ${path} is not a kbs:/// resource`);
      return k;
    },
  });
}
