import type { KbsOptions } from '#attestation/kbs/index.js';
import { startKbs, type TestKbs } from '#test/helpers/kbs.js';

/** Releases resources to the sample TEE (tests only: the sample TEE proves nothing). */
export const ALLOW_SAMPLE =
  'package policy\n\nimport rego.v1\n\ndefault allow := false\n\nallow if input.submods.cpu0["ear.veraison.annotated-evidence"].sample\n';
export const DENY_ALL = 'package policy\n\nimport rego.v1\n\ndefault allow := false\n';

/** A KBS that accepts the sample TEE and releases resources to it. */
export async function startSampleKbs(overrides: Partial<KbsOptions> = {}): Promise<TestKbs> {
  const kbs = await startKbs({ allowSample: true, ...overrides });
  await setResourcePolicy(kbs, ALLOW_SAMPLE);
  return kbs;
}

export async function setResourcePolicy(kbs: TestKbs, rego: string): Promise<void> {
  await kbs
    .client()
    .admin(
      'POST',
      '/resource-policy',
      kbs.adminToken(),
      JSON.stringify({ policy: Buffer.from(rego).toString('base64url') }),
    );
}

export async function putResource(
  kbs: TestKbs,
  path: string,
  value: Uint8Array | string,
): Promise<void> {
  await kbs
    .client()
    .admin(
      'POST',
      `/resource/${path}`,
      kbs.adminToken(),
      typeof value === 'string' ? new Uint8Array(Buffer.from(value)) : value,
    );
}
