import { OciError } from './errors.js';

/** The registry name Docker Hub images normalize to, and the host its API answers on. */
export const DOCKER_HUB = 'docker.io';
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';

/** A parsed, normalized image reference (`docker.io/library/busybox:latest`). */
export interface ImageReference {
  /** Registry host with optional port, e.g. `docker.io`, `127.0.0.1:5000`. */
  readonly registry: string;
  /** Repository path, e.g. `library/busybox`. */
  readonly repository: string;
  /** Tag, `latest` when neither tag nor digest was given; undefined for a digest-only reference. */
  readonly tag: string | undefined;
  /** `sha256:…` when the reference pins a digest. */
  readonly digest: string | undefined;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const HOST =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]{1,5})?$/;
const MAX_NAME = 255;

function bad(raw: string, why: string): OciError {
  return new OciError(
    'invalid_argument',
    'ERR_OCI_REFERENCE',
    `invalid image reference ${JSON.stringify(raw.slice(0, 300))}: ${why}`,
  );
}

function splitRegistry(name: string): [string, string] {
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  const isHost =
    first.includes('.') || first.includes(':') || first === 'localhost' || /[A-Z]/.test(first);
  if (slash < 0 || !isHost) return [DOCKER_HUB, name];
  return [first, name.slice(slash + 1)];
}

/**
 * Parses and normalizes a Docker/OCI image reference the way containers/image does:
 * `busybox` → `docker.io/library/busybox:latest`, `host:5000/a/b@sha256:…`, `name:tag@digest`.
 */
export function parseImageReference(raw: string): ImageReference {
  if (raw === '') throw bad(raw, 'it is empty');
  if (raw.length > 4096) throw bad(raw, 'it is longer than 4096 characters');
  let rest = raw;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad(raw, `digest ${JSON.stringify(digest)} is malformed`);
    if (digest.startsWith('sha256:') && !/^sha256:[a-f0-9]{64}$/.test(digest))
      throw bad(raw, 'a sha256 digest has 64 lower-case hex digits');
    if (digest.startsWith('sha512:') && !/^sha512:[a-f0-9]{128}$/.test(digest))
      throw bad(raw, 'a sha512 digest has 128 lower-case hex digits');
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(raw, `tag ${JSON.stringify(tag)} is malformed`);
  }
  const [registry, path0] = splitRegistry(rest);
  if (!HOST.test(registry))
    throw bad(raw, `registry host ${JSON.stringify(registry)} is malformed`);
  let repository = path0;
  if (repository === '') throw bad(raw, 'the repository name is empty');
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
  for (const component of repository.split('/')) {
    if (!COMPONENT.test(component))
      throw bad(
        raw,
        `repository component ${JSON.stringify(component)} must be lower-case [a-z0-9._-]`,
      );
  }
  if (repository.length + registry.length + 1 > MAX_NAME)
    throw bad(raw, 'the name is longer than 255');
  if (tag === undefined && digest === undefined) tag = 'latest';
  return {
    registry: registry === 'index.docker.io' ? DOCKER_HUB : registry,
    repository,
    tag,
    digest,
  };
}

/**
 * The name of a short reference (`busybox`, `team/app:1` → `busybox`, `team/app`: no registry
 * component, tag and digest dropped), or undefined for a fully-qualified one.
 */
export function shortNameOf(raw: string): string | undefined {
  const name = raw.replace(/@.*$/, '').replace(/:[^/]*$/, '');
  return splitRegistry(name)[0] === DOCKER_HUB && !/^(?:docker\.io|index\.docker\.io)\//.test(name)
    ? name
    : undefined;
}

/** The canonical string form, e.g. `docker.io/library/busybox:latest` or `…@sha256:…`. */
export function formatImageReference(ref: ImageReference): string {
  const base = `${ref.registry}/${ref.repository}`;
  return `${base}${ref.tag === undefined ? '' : `:${ref.tag}`}${ref.digest === undefined ? '' : `@${ref.digest}`}`;
}

/** The tag or digest to ask the registry for (the digest wins when both are given). */
export function manifestReferenceOf(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}
