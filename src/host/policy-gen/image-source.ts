/** Where the generator reads image configs: a registry (through src/oci) or given configs. */
import { describeError, isPlainObject, type JsonObject } from '#src/lib/index.js';
import {
  fetchImageConfig,
  formatImageReference,
  parseImageReference,
  readImageFile,
  RegistryClient,
  type ImageReference,
  type RegistryClientOptions,
} from '#src/oci/index.js';
import { PolicyGenError } from './errors.js';

/** What the policy needs of an image (the config's `config` object). */
export interface ImageFacts {
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  readonly env: readonly string[];
  /** `uid[:gid]` or a name; '' for root. */
  readonly user: string;
  readonly workingDir: string;
  /** Digests the reference resolved to (manifest and platform manifest). */
  readonly digests: readonly string[];
  /** The image's /etc/passwd, when it was read (named users, primary groups). */
  readonly passwd?: string | undefined;
}

export interface ImageSource {
  facts(image: string, signal?: AbortSignal): Promise<ImageFacts>;
  /** The image's /etc/passwd (read from its layers); undefined when it has none. */
  passwd?(image: string, signal?: AbortSignal): Promise<string | undefined>;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** The facts of an OCI image config document (`{config: {Entrypoint, Cmd, …}}`). */
export function factsOfConfig(raw: JsonObject, digests: readonly string[] = []): ImageFacts {
  const c = isPlainObject(raw['config']) ? raw['config'] : {};
  return {
    entrypoint: strings(c['Entrypoint']),
    cmd: strings(c['Cmd']),
    env: strings(c['Env']),
    user: typeof c['User'] === 'string' ? c['User'] : '',
    workingDir: typeof c['WorkingDir'] === 'string' ? c['WorkingDir'] : '',
    digests,
  };
}

export function parseReference(image: string): ImageReference {
  try {
    return parseImageReference(image);
  } catch (err) {
    throw new PolicyGenError(
      'invalid_argument',
      'ERR_POLICYGEN_REFERENCE',
      `image ${JSON.stringify(image)}: ${describeError(err)}`,
      { cause: err },
    );
  }
}

/** Reads each image's config blob from its registry (verified digests), once per reference. */
export class RegistryImageSource implements ImageSource {
  readonly #client: RegistryClient;
  readonly #cache = new Map<string, Promise<ImageFacts>>();

  constructor(o: RegistryClientOptions = {}) {
    this.#client = new RegistryClient(o);
  }

  facts(image: string, signal?: AbortSignal): Promise<ImageFacts> {
    const ref = parseReference(image);
    const key = formatImageReference(ref);
    let p = this.#cache.get(key);
    if (p === undefined) {
      p = this.#fetch(ref, signal);
      this.#cache.set(key, p);
    }
    return p;
  }

  async passwd(image: string, signal?: AbortSignal): Promise<string | undefined> {
    const ref = parseReference(image);
    try {
      return (await readImageFile(this.#client, ref, 'etc/passwd', { signal }))?.toString('utf8');
    } catch (err) {
      throw new PolicyGenError(
        'unavailable',
        'ERR_POLICYGEN_IMAGE',
        `cannot read /etc/passwd of image ${formatImageReference(ref)}: ${describeError(err)}`,
        { cause: err },
      );
    }
  }

  async #fetch(ref: ImageReference, signal?: AbortSignal): Promise<ImageFacts> {
    try {
      const r = await fetchImageConfig(this.#client, ref, { signal });
      return factsOfConfig(r.config.raw, [...new Set([r.manifestDigest, r.imageDigest])]);
    } catch (err) {
      throw new PolicyGenError(
        'unavailable',
        'ERR_POLICYGEN_IMAGE',
        `cannot read the config of image ${formatImageReference(ref)}: ${describeError(err)}`,
        { cause: err },
      );
    }
  }
}

/** Image configs given up front (`--image-config REF=FILE`, tests), by normalised reference. */
export class StaticImageSource implements ImageSource {
  readonly #configs = new Map<string, ImageFacts>();

  set(image: string, facts: ImageFacts): void {
    this.#configs.set(formatImageReference(parseReference(image)), facts);
  }

  facts(image: string): Promise<ImageFacts> {
    const key = formatImageReference(parseReference(image));
    const f = this.#configs.get(key);
    if (f === undefined)
      return Promise.reject(
        new PolicyGenError(
          'not_found',
          'ERR_POLICYGEN_IMAGE',
          `no config given for image ${key} (pass --image-config ${key}=FILE)`,
        ),
      );
    return Promise.resolve(f);
  }
}
