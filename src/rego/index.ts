export { compileModules, CompiledPolicy } from './policy.js';
export type {
  CompileOptions,
  EvaluateOptions,
  EvaluateResult,
  QueryResult,
  RefPath,
  RegoModuleSource,
} from './policy.js';
export { RegoError, type RegoErrorCode, type OpaErrorCode, type Location } from './errors.js';
export { RegoObject, RegoSet, typeOf } from './value.js';
export type { RegoValue, RegoNumber, RegoArray, RegoTypeName } from './value.js';
export { compare, equal } from './compare.js';
export { fromJs, toJs, toJsonText, type JsonValue } from './json.js';
export { formatValue } from './format.js';
export { parseModule, parseQuery, type ParseOptions } from './parser.js';
export { runConformance, runCase } from './conformance/runner.js';
export type { CaseOutcome, ConformanceReport, OpaCase } from './conformance/runner.js';
export {
  PolicySession,
  PolicySessionError,
  applyJsonPatch,
  applyStatePatch,
  describeDenial,
  parseVerdict,
  type PolicySessionErrorCode,
  type PolicySessionOptions,
  type SessionDecision,
} from './policy-session.js';
export { explainRule, type ClauseExplanation, type ExplainOptions } from './explain.js';
