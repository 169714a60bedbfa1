import { equalBytes, toHex } from '#src/lib/index.js';
import type { SgxReportBody, TdReport } from '#src/tee/index.js';
import { denied } from '../errors.js';
import type { PckExtensions } from './pck-extensions.js';
import type { IsvTcbLevel, QeIdentity, TcbStatus, TdxTcbInfo, TdxTcbLevel } from './tcb-info.js';

export interface TdxTcbEvaluation {
  readonly status: TcbStatus;
  readonly advisoryIds: readonly string[];
  readonly platformStatus: TcbStatus;
  readonly platformTcbDate: string;
  readonly tdxModuleStatus: TcbStatus | undefined;
  readonly tdxModuleId: string | undefined;
  readonly qeStatus: TcbStatus;
}

function maskedEqual(value: Uint8Array, expected: Uint8Array, mask: Uint8Array): boolean {
  if (value.byteLength !== expected.byteLength || mask.byteLength !== value.byteLength)
    return false;
  for (let i = 0; i < value.byteLength; i++) {
    if (((value[i] ?? 0) & (mask[i] ?? 0)) !== ((expected[i] ?? 0) & (mask[i] ?? 0))) return false;
  }
  return true;
}

/** An OutOfDate (or Revoked) component status pulls the platform status down, as Intel's QVL does. */
export function convergeStatus(platform: TcbStatus, component: TcbStatus | undefined): TcbStatus {
  if (component === 'Revoked') return 'Revoked';
  if (component !== 'OutOfDate' && component !== 'OutOfDateConfigurationNeeded') return platform;
  switch (platform) {
    case 'UpToDate':
    case 'SWHardeningNeeded':
      return 'OutOfDate';
    case 'ConfigurationNeeded':
    case 'ConfigurationAndSWHardeningNeeded':
      return 'OutOfDateConfigurationNeeded';
    case 'OutOfDate':
    case 'OutOfDateConfigurationNeeded':
    case 'Revoked':
      return platform;
  }
}

/** Whether tee_tcb_svn[1] selects a TDX module identity (then components 0 and 1 are skipped). */
function moduleIdOf(tcb: TdxTcbInfo, teeTcbSvn: Uint8Array): string | undefined {
  const major = teeTcbSvn[1] ?? 0;
  if (tcb.tdxModuleIdentities.length === 0 || major === 0) return undefined;
  return `TDX_${major.toString(16).toUpperCase().padStart(2, '0')}`;
}

function platformLevel(
  tcb: TdxTcbInfo,
  pck: PckExtensions,
  teeTcbSvn: Uint8Array,
  skipFirstTwo: boolean,
): TdxTcbLevel {
  for (const level of tcb.tcbLevels) {
    const sgxOk =
      level.sgxComponents.every((svn, i) => svn <= (pck.tcbCompSvns[i] ?? 0)) &&
      level.pceSvn <= pck.pceSvn;
    if (!sgxOk) continue;
    const tdxOk = level.tdxComponents.every(
      (svn, i) => (skipFirstTwo && i < 2) || svn <= (teeTcbSvn[i] ?? 0),
    );
    if (tdxOk) return level;
  }
  throw denied(
    'ERR_TDX_TCB_LEVEL_NOT_SUPPORTED',
    `tdx tcb: no TCB level of FMSPC ${tcb.fmspc} matches the platform (PCK SGX SVNs [${pck.tcbCompSvns.join(', ')}], PCESVN ${pck.pceSvn}, TEE_TCB_SVN ${toHex(teeTcbSvn)}): TCB level not supported`,
  );
}

function isvLevel(levels: readonly IsvTcbLevel[], isvSvn: number): IsvTcbLevel | undefined {
  return levels.find((l) => l.isvSvn <= isvSvn);
}

function checkTdxModule(
  tcb: TdxTcbInfo,
  body: TdReport,
  moduleId: string | undefined,
): IsvTcbLevel | undefined {
  if (moduleId === undefined) {
    const m = tcb.tdxModule;
    if (
      m &&
      (!equalBytes(m.mrSigner, body.mrSignerSeam) ||
        !maskedEqual(body.seamAttributes, m.attributes, m.attributesMask))
    )
      throw denied(
        'ERR_TDX_MODULE_IDENTITY',
        'tdx tcb: TDX module MRSIGNERSEAM or SEAM attributes do not match the TCB info tdxModule',
      );
    return undefined;
  }
  const identity = tcb.tdxModuleIdentities.find((m) => m.id === moduleId);
  if (!identity)
    throw denied(
      'ERR_TDX_MODULE_IDENTITY',
      `tdx tcb: TCB info has no TDX module identity ${moduleId}`,
    );
  if (
    !equalBytes(identity.mrSigner, body.mrSignerSeam) ||
    !maskedEqual(body.seamAttributes, identity.attributes, identity.attributesMask)
  )
    throw denied(
      'ERR_TDX_MODULE_IDENTITY',
      `tdx tcb: MRSIGNERSEAM or SEAM attributes do not match TDX module identity ${moduleId}`,
    );
  const level = isvLevel(identity.tcbLevels, body.teeTcbSvn[0] ?? 0);
  if (!level)
    throw denied(
      'ERR_TDX_MODULE_IDENTITY',
      `tdx tcb: TDX module ${moduleId} SVN ${body.teeTcbSvn[0] ?? 0} is below every TCB level`,
    );
  return level;
}

function checkQe(qe: QeIdentity, report: SgxReportBody): IsvTcbLevel {
  const miscOk =
    (report.miscSelect & qe.miscSelectMask) >>> 0 === (qe.miscSelect & qe.miscSelectMask) >>> 0;
  if (
    !equalBytes(qe.mrSigner, report.mrSigner) ||
    qe.isvProdId !== report.isvProdId ||
    !miscOk ||
    !maskedEqual(report.attributes, qe.attributes, qe.attributesMask)
  )
    throw denied(
      'ERR_TDX_QE_IDENTITY_MISMATCH',
      'tdx qe identity: QE report MRSIGNER, ISVPRODID, MISCSELECT or ATTRIBUTES do not match the TD_QE identity',
    );
  return (
    isvLevel(qe.tcbLevels, report.isvSvn) ?? {
      isvSvn: 0,
      tcbDate: '',
      status: 'OutOfDate',
      advisoryIds: [],
    }
  );
}

/**
 * Intel's TCB status for a TD quote: the first TCB level whose SGX components and PCESVN are ≤ the
 * PCK certificate's and whose TDX components are ≤ TEE_TCB_SVN (skipping the first two when a TDX
 * module identity `TDX_%02X` of TEE_TCB_SVN[1] applies), converged with the TDX module identity
 * status (by TEE_TCB_SVN[0]) and the QE identity status (by the QE report's ISVSVN).
 */
export function evaluateTdxTcb(
  tcb: TdxTcbInfo,
  qe: QeIdentity,
  pck: PckExtensions,
  body: TdReport,
  qeReport: SgxReportBody,
): TdxTcbEvaluation {
  const moduleId = moduleIdOf(tcb, body.teeTcbSvn);
  const platform = platformLevel(tcb, pck, body.teeTcbSvn, moduleId !== undefined);
  const module = checkTdxModule(tcb, body, moduleId);
  const qeLevel = checkQe(qe, qeReport);
  const status = convergeStatus(convergeStatus(platform.status, module?.status), qeLevel.status);
  const advisoryIds = [
    ...new Set([...platform.advisoryIds, ...(module?.advisoryIds ?? []), ...qeLevel.advisoryIds]),
  ];
  return {
    status,
    advisoryIds,
    platformStatus: platform.status,
    platformTcbDate: platform.tcbDate,
    tdxModuleStatus: module?.status,
    tdxModuleId: moduleId,
    qeStatus: qeLevel.status,
  };
}
