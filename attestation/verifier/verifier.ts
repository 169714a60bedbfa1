/** The TEEs the KBS accepts evidence from. */
export type TeeKind = 'tdx' | 'snp' | 'sample';

export const TEE_KINDS: readonly TeeKind[] = ['tdx', 'snp', 'sample'];

/** What the evidence must be bound to (absent fields are not checked). */
export interface ExpectedBinding {
  /** Expected REPORTDATA; zero-padded (or truncated) to 64 bytes before comparing. */
  readonly reportData?: Uint8Array | undefined;
  /** Expected initdata digest; compared with TDX MRCONFIGID (48 bytes) or SNP HOST_DATA (32 bytes). */
  readonly initDataDigest?: Uint8Array | undefined;
}

export interface VerifyOptions {
  /** Time the certificates and collateral must be valid at (default: now). */
  readonly now?: Date | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** Trustee's parsed claim names, JSON-compatible values. */
export type Claims = Readonly<Record<string, unknown>>;

export interface Verifier {
  readonly tee: TeeKind;
  /** Verifies evidence completely and returns its claims; throws VerifierError naming the failed check. */
  verify(evidence: unknown, expected: ExpectedBinding, opts?: VerifyOptions): Promise<Claims>;
}

export { createVerifier, type CreateVerifierOptions } from './create-verifier.js';
export { checkBinding, regularize } from './binding.js';
