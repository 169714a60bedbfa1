/** AR4SI trustworthiness claims, in EAR order (draft-ietf-rats-ar4si §2.3). */
export const TRUST_CLAIMS = [
  'instance_identity',
  'configuration',
  'executables',
  'file_system',
  'hardware',
  'runtime_opaque',
  'storage_opaque',
  'sourced_data',
] as const;
export type TrustClaim = (typeof TRUST_CLAIMS)[number];

/** EAR's JSON names of the claims (`instance-identity`, …). */
export function earClaimName(c: TrustClaim): string {
  return c.replace('_', '-');
}

export type EarStatus = 'none' | 'affirming' | 'warning' | 'contraindicated';

/** AR4SI tier of one claim value (-128..127). */
export function tierOf(value: number): EarStatus {
  const v = Math.abs(value);
  if (v <= 1) return 'none';
  if (v <= 31) return 'affirming';
  if (v <= 95) return 'warning';
  return 'contraindicated';
}

const RANK: Readonly<Record<EarStatus, number>> = {
  none: 0,
  affirming: 1,
  warning: 2,
  contraindicated: 3,
};

/** The appraisal status: the worst tier among the claims that are set. */
export function statusOf(vector: Readonly<Partial<Record<TrustClaim, number>>>): EarStatus {
  let worst: EarStatus = 'none';
  for (const c of TRUST_CLAIMS) {
    const v = vector[c];
    if (v === undefined) continue;
    const t = tierOf(v);
    if (RANK[t] > RANK[worst]) worst = t;
  }
  return worst;
}
