import { malformedInput } from './errors.js';
import { createSampleVerifier } from './sample/sample-verifier.js';
import { createSnpVerifier } from './snp/snp-verifier.js';
import type { SnpVekProvider } from './snp/snp-verifier.js';
import type { TdxCollateralProvider } from './tdx/collateral.js';
import { createTdxVerifier } from './tdx/tdx-verifier.js';
import type { TeeKind, Verifier } from './verifier.js';

export interface CreateVerifierOptions {
  /** Accept the sample TEE (default false: the KBS refuses it unless policy allows it). */
  readonly allowSample?: boolean | undefined;
  /** TDX collateral source (offline files: `loadTdxCollateral` + `staticCollateralProvider`). */
  readonly collateral?: TdxCollateralProvider | undefined;
  /** Refuse TDX evidence when no collateral is available. */
  readonly requireCollateral?: boolean | undefined;
  /** Intel SGX Root CA PEM (default: the copy shipped in tdx/). */
  readonly intelRootCaPem?: string | undefined;
  /** AMD ASK+ARK PEM pairs (default: Milan, Genoa, Turin VCEK and VLEK chains shipped in snp/). */
  readonly amdChainsPem?: readonly string[] | undefined;
  /** SNP: supplies the VCEK/VLEK when the evidence carries none. */
  readonly vekProvider?: SnpVekProvider | undefined;
  /** SNP: AMD KDS CRLs (DER), each signed by a trusted ARK (offline collateral). */
  readonly amdCrls?: readonly Uint8Array[] | undefined;
}

/** The verifier for one TEE kind. */
export function createVerifier(tee: TeeKind, options: CreateVerifierOptions = {}): Verifier {
  switch (tee) {
    case 'tdx':
      return createTdxVerifier({
        collateral: options.collateral,
        requireCollateral: options.requireCollateral,
        rootCaPem: options.intelRootCaPem,
      });
    case 'snp':
      return createSnpVerifier({
        amdChainsPem: options.amdChainsPem,
        vekProvider: options.vekProvider,
        crls: options.amdCrls,
      });
    case 'sample':
      return createSampleVerifier({ allowSample: options.allowSample });
    default:
      throw malformedInput('ERR_VERIFIER_CONFIG', `unknown tee ${JSON.stringify(tee)}`);
  }
}
