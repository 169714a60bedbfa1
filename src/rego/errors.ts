import { CcError, type ErrorKind } from '#src/lib/index.js';

/** Stable codes of the Rego engine. */
export type RegoErrorCode =
  | 'ERR_REGO_PARSE'
  | 'ERR_REGO_COMPILE'
  | 'ERR_REGO_CONFLICT'
  | 'ERR_REGO_TYPE'
  | 'ERR_REGO_BUILTIN'
  | 'ERR_REGO_EVAL'
  | 'ERR_REGO_QUERY';

/** OPA's error code names, as its test suite and tooling use them. */
export type OpaErrorCode =
  | 'rego_parse_error'
  | 'rego_compile_error'
  | 'eval_conflict_error'
  | 'eval_type_error'
  | 'eval_builtin_error'
  | 'eval_internal_error';

const OPA_CODE_OF = {
  ERR_REGO_PARSE: 'rego_parse_error',
  ERR_REGO_COMPILE: 'rego_compile_error',
  ERR_REGO_CONFLICT: 'eval_conflict_error',
  ERR_REGO_TYPE: 'eval_type_error',
  ERR_REGO_BUILTIN: 'eval_builtin_error',
  ERR_REGO_EVAL: 'eval_internal_error',
  ERR_REGO_QUERY: 'rego_parse_error',
} as const satisfies Record<RegoErrorCode, OpaErrorCode>;

export class RegoError extends CcError {
  declare readonly code: RegoErrorCode;
  /** OPA's name for the same failure (`eval_conflict_error` …). */
  readonly opaCode: OpaErrorCode;
  constructor(kind: ErrorKind, code: RegoErrorCode, message: string, options?: ErrorOptions) {
    super(kind, code, message, options);
    this.opaCode = OPA_CODE_OF[code];
  }
}

/** Source position, 1-based. */
export interface Location {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

export function formatLocation(loc: Location | undefined): string {
  return loc ? `${loc.file}:${loc.line}:${loc.col}` : '<query>';
}

export function parseError(loc: Location, message: string): RegoError {
  return new RegoError('invalid_argument', 'ERR_REGO_PARSE', `${formatLocation(loc)}: ${message}`);
}

export function compileError(loc: Location | undefined, message: string): RegoError {
  return new RegoError(
    'invalid_argument',
    'ERR_REGO_COMPILE',
    `${formatLocation(loc)}: ${message}`,
  );
}

export function conflictError(loc: Location | undefined, message: string): RegoError {
  return new RegoError(
    'failed_precondition',
    'ERR_REGO_CONFLICT',
    `${formatLocation(loc)}: eval_conflict_error: ${message}`,
  );
}

/** A builtin failed; `isType` marks operand type errors (OPA eval_type_error). */
export class BuiltinFailure extends Error {
  readonly isType: boolean;
  constructor(message: string, isType = false) {
    super(message);
    this.name = 'BuiltinFailure';
    this.isType = isType;
  }
}

export function typeError(loc: Location | undefined, message: string): RegoError {
  return new RegoError(
    'invalid_argument',
    'ERR_REGO_TYPE',
    `${formatLocation(loc)}: eval_type_error: ${message}`,
  );
}

export function builtinError(loc: Location | undefined, message: string): RegoError {
  return new RegoError(
    'invalid_argument',
    'ERR_REGO_BUILTIN',
    `${formatLocation(loc)}: eval_builtin_error: ${message}`,
  );
}
