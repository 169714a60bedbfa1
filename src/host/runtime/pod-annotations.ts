import { CcError, isPlainObject, type Logger } from '#src/lib/index.js';
import {
  INITDATA_ANNOTATION,
  INITDATA_DIGEST_PARAM,
  decodeInitDataAnnotation,
  encodeInitDataDisk,
  parseInitData,
  snpHostData,
  tdxMrConfigId,
  type InitDataAlgorithm,
} from '#src/tee/index.js';
import { RuntimeError } from './errors.js';

/** Prefix of the Kata hypervisor annotations that `hypervisor.enable_annotations` gates. */
export const HYPERVISOR_ANNOTATION_PREFIX = 'io.katacontainers.config.hypervisor.';
/** Largest annotation value accepted (Kubernetes caps all annotations of an object at 256 KiB). */
export const INITDATA_ANNOTATION_MAX = 256 << 10;

/** What the initdata annotation adds to the VM launch. */
export interface InitDataLaunch {
  readonly algorithm: InitDataAlgorithm;
  readonly digest: Uint8Array;
  /** The raw disk image (`encodeInitDataDisk`), attached read-only. */
  readonly disk: Uint8Array;
  /** TDX `mrconfigid` (48 bytes). */
  readonly mrConfigId: Uint8Array;
  /** SNP `host-data` (32 bytes). */
  readonly hostData: Uint8Array;
  /** For a guest without a TEE: `kata.initdata_digest=<algorithm>:<hex>`. */
  readonly kernelParam: string;
}

/** The pod annotations the shim acts on, after the `enable_annotations` check. */
export interface PodAnnotations {
  readonly initData: InitDataLaunch | undefined;
}

/** Hypervisor annotations this shim implements (suffixes after the prefix). */
const SUPPORTED = new Set(['cc_init_data']);

function compile(patterns: readonly string[]): RegExp[] {
  return patterns.map((p) => {
    try {
      return new RegExp(`^(?:${p})$`);
    } catch (err) {
      throw new RuntimeError(
        'invalid_argument',
        'ERR_RUNTIME_ANNOTATION',
        `hypervisor.enable_annotations: ${JSON.stringify(p)} is not a valid regular expression`,
        { cause: err },
      );
    }
  });
}

/**
 * Validates the sandbox's `io.katacontainers.config.hypervisor.*` annotations as Kata does: each
 * must be enabled by `hypervisor.enable_annotations` (regexes matched against the suffix), else
 * the sandbox is refused. Enabled ones this shim does not implement are logged and ignored.
 */
export function parsePodAnnotations(
  annotations: Readonly<Record<string, string>>,
  enabled: readonly string[],
  log: Logger,
): PodAnnotations {
  const allow = compile(enabled);
  let initData: InitDataLaunch | undefined;
  for (const [key, value] of Object.entries(annotations)) {
    if (!key.startsWith(HYPERVISOR_ANNOTATION_PREFIX)) continue;
    const name = key.slice(HYPERVISOR_ANNOTATION_PREFIX.length);
    if (!allow.some((r) => r.test(name)))
      throw new RuntimeError(
        'invalid_argument',
        'ERR_RUNTIME_ANNOTATION',
        `annotation ${key} is not enabled: add ${JSON.stringify(name)} to hypervisor.enable_annotations in the kata-cc config`,
      );
    if (!SUPPORTED.has(name)) {
      log.warn('annotation not supported; ignored', { annotation: key });
      continue;
    }
    if (key === INITDATA_ANNOTATION) initData = initDataLaunch(value);
  }
  return { initData };
}

/** Decodes and validates the initdata annotation value (base64 of gzip'd TOML). */
export function initDataLaunch(value: string): InitDataLaunch {
  if (value.length > INITDATA_ANNOTATION_MAX)
    throw new RuntimeError(
      'invalid_argument',
      'ERR_RUNTIME_INITDATA',
      `annotation ${INITDATA_ANNOTATION}: ${String(value.length)} bytes, limit ${String(INITDATA_ANNOTATION_MAX)}`,
    );
  try {
    const toml = decodeInitDataAnnotation(value);
    const parsed = parseInitData(toml);
    return {
      algorithm: parsed.algorithm,
      digest: parsed.digest,
      disk: encodeInitDataDisk(parsed.toml),
      mrConfigId: tdxMrConfigId(parsed.digest),
      hostData: snpHostData(parsed.digest),
      kernelParam: `${INITDATA_DIGEST_PARAM}=${parsed.algorithm}:${Buffer.from(parsed.digest).toString('hex')}`,
    };
  } catch (err) {
    const why = err instanceof CcError ? err.message : String(err);
    throw new RuntimeError(
      'invalid_argument',
      'ERR_RUNTIME_INITDATA',
      `annotation ${INITDATA_ANNOTATION} is invalid: ${why}`,
      { cause: err },
    );
  }
}

/**
 * A later container's annotations against the sandbox's. As in Kata only the sandbox's
 * hypervisor annotations count: the VM was launched with them. CRI copies pod annotations onto
 * every container, so the sandbox's own initdata (same algorithm and digest) is accepted; a
 * different initdata, or one when the sandbox had none, cannot be applied any more and is refused
 * (`failed_precondition` `ERR_RUNTIME_INITDATA`) rather than accepted as if it were. Other
 * hypervisor annotations that differ from the sandbox's are logged and ignored.
 */
export function checkContainerAnnotations(
  containerId: string,
  annotations: Readonly<Record<string, string>>,
  sandbox: Readonly<Record<string, string>>,
  log: Logger,
): void {
  for (const [key, value] of Object.entries(annotations)) {
    if (!key.startsWith(HYPERVISOR_ANNOTATION_PREFIX) || sandbox[key] === value) continue;
    if (key !== INITDATA_ANNOTATION) {
      log.warn('hypervisor annotation of a container ignored; only the sandbox applies', {
        container_id: containerId,
        annotation: key,
      });
      continue;
    }
    const mine = initDataLaunch(value);
    const pods = sandbox[key] === undefined ? undefined : initDataLaunch(sandbox[key]);
    // the same TOML, maybe encoded differently
    if (pods?.algorithm === mine.algorithm && hex(pods.digest) === hex(mine.digest)) continue;
    throw new RuntimeError(
      'failed_precondition',
      'ERR_RUNTIME_INITDATA',
      `container ${containerId}: annotation ${INITDATA_ANNOTATION} (${mine.algorithm}:${hex(mine.digest).slice(0, 16)}…) ` +
        (pods === undefined
          ? 'but the pod VM was launched without initdata'
          : `differs from the pod's (${pods.algorithm}:${hex(pods.digest).slice(0, 16)}…)`) +
        ': initdata is fixed when the VM launches; put it on the pod (sandbox) only',
    );
  }
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/**
 * The OCI spec as the guest gets it: without the initdata annotation, which Kata's runtimes drop
 * too. Initdata reaches the guest as its read-only disk (bound into the evidence); in the spec it
 * would only be up to 256 KiB more on every CreateContainer, and agent policies (genpolicy's and
 * ours) refuse annotations they do not list — a policy cannot list the initdata carrying it.
 */
export function guestOciSpec(
  spec: Readonly<Record<string, unknown>>,
): Readonly<Record<string, unknown>> {
  const annotations = spec['annotations'];
  if (!isPlainObject(annotations) || !(INITDATA_ANNOTATION in annotations)) return spec;
  const rest = Object.fromEntries(
    Object.entries(annotations).filter(([key]) => key !== INITDATA_ANNOTATION),
  );
  return { ...spec, annotations: rest };
}
