import { toHex } from '#src/lib/index.js';
import type { SnpReport, SnpTcb } from '#src/tee/index.js';
import type { Claims } from '../verifier.js';

function tcbClaims(prefix: string, t: SnpTcb): Record<string, number> {
  const out: Record<string, number> = {
    [`${prefix}_bootloader`]: t.bootloader,
    [`${prefix}_tee`]: t.tee,
    [`${prefix}_snp`]: t.snp,
    [`${prefix}_microcode`]: t.microcode,
  };
  if (t.fmc !== undefined) out[`${prefix}_fmc`] = t.fmc;
  return out;
}

/**
 * Trustee's SNP claim names. Byte fields are lowercase hex, numbers are JSON numbers and flags
 * JSON booleans (Trustee stringifies them; see README Decisions).
 */
export function snpClaims(r: SnpReport, productName: string): Claims {
  return {
    measurement: toHex(r.measurement),
    report_data: toHex(r.reportData),
    init_data: toHex(r.hostData),
    chip_id: toHex(r.chipId),
    ...tcbClaims('reported_tcb', r.reportedTcb),
    ...tcbClaims('committed_tcb', r.committedTcb),
    ...tcbClaims('current_tcb', r.currentTcb),
    ...tcbClaims('launch_tcb', r.launchTcb),
    platform_smt_enabled: r.platformInfo.smtEnabled,
    platform_tsme_enabled: r.platformInfo.tsmeEnabled,
    platform_ecc_enabled: r.platformInfo.eccEnabled,
    platform_rapl_disabled: r.platformInfo.raplDisabled,
    platform_ciphertext_hiding_enabled: r.platformInfo.ciphertextHidingEnabled,
    policy_abi_major: r.policy.abiMajor,
    policy_abi_minor: r.policy.abiMinor,
    policy_smt_allowed: r.policy.smtAllowed,
    policy_migrate_ma: r.policy.migrateMa,
    policy_debug_allowed: r.policy.debugAllowed,
    policy_single_socket: r.policy.singleSocket,
    policy_cxl_allowed: r.policy.cxlAllowed,
    policy_mem_aes_256_xts: r.policy.memAes256Xts,
    policy_rapl_dis: r.policy.raplDisabled,
    policy_ciphertext_hiding: r.policy.ciphertextHiding,
    policy_page_swap_disable: r.policy.pageSwapDisabled,
    version: r.version,
    guest_svn: r.guestSvn,
    vmpl: r.vmpl,
    signing_key: r.signingKey,
    product: productName,
    family_id: toHex(r.familyId),
    image_id: toHex(r.imageId),
    id_key_digest: toHex(r.idKeyDigest),
    author_key_digest: toHex(r.authorKeyDigest),
    report_id: toHex(r.reportId),
    report_id_ma: toHex(r.reportIdMa),
    firmware_current: `${r.currentVersion.major}.${r.currentVersion.minor}.${r.currentVersion.build}`,
    firmware_committed: `${r.committedVersion.major}.${r.committedVersion.minor}.${r.committedVersion.build}`,
  };
}
