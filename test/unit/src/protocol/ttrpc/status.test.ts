import { describe, expect, test } from 'vitest';
import { CcError, ERROR_KINDS } from '#src/lib/index.js';
import {
  errorFromStatus,
  GRPC_CODE_OF_KIND,
  kindOfGrpcCode,
  statusFromError,
  TtrpcError,
} from '#src/protocol/ttrpc/index.js';

describe('status mapping', () => {
  test.each(ERROR_KINDS.map((k) => [k]))('maps kind %s to a code and back', (kind) => {
    expect(kindOfGrpcCode(GRPC_CODE_OF_KIND[kind])).toBe(kind);
  });

  test.each([
    [2, 'internal'],
    [10, 'failed_precondition'],
    [11, 'invalid_argument'],
    [15, 'internal'],
    [99, 'internal'],
  ] as const)('folds gRPC code %i into kind %s', (code, kind) => {
    expect(kindOfGrpcCode(code)).toBe(kind);
  });

  test('turns a non-OK status into a TtrpcError carrying kind, message and wire code', () => {
    const err = errorFromStatus({ code: 5, message: 'container x not found' });
    expect(err).toBeInstanceOf(TtrpcError);
    expect(err).toMatchObject({ kind: 'not_found', code: 'ERR_TTRPC_STATUS', grpcCode: 5 });
    expect(err.message).toBe('container x not found');
  });

  test('sends a CcError with the code of its kind and its message', () => {
    expect(statusFromError(new CcError('permission_denied', 'ERR_X', 'blocked by policy'))).toEqual(
      {
        code: 7,
        message: 'blocked by policy',
      },
    );
  });

  test('relays a received status error with its exact wire code', () => {
    expect(statusFromError(errorFromStatus({ code: 10, message: 'aborted' }))).toEqual({
      code: 10,
      message: 'aborted',
    });
  });

  test('hides the detail of a non-CcError behind a generic INTERNAL', () => {
    expect(statusFromError(new Error('secret path /x/y'))).toEqual({
      code: 13,
      message: 'internal error',
    });
  });
});
