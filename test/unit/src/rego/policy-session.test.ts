import { describe, expect, test } from 'vitest';
import {
  applyJsonPatch,
  applyStatePatch,
  compileModules,
  parseVerdict,
  PolicySession,
  PolicySessionError,
} from '#src/rego/index.js';

const STATEFUL = `package agent_policy

default AllowRequestsFailingPolicy := false
default CreateRequest := false

CreateRequest := {"allowed": true, "ops": ops} if {
  not data.pstate.ns
  ops := [{"op": "add", "path": "/pstate/ns", "value": input.ns}]
}

CreateRequest := {"allowed": true, "ops": []} if {
  data.pstate.ns == input.ns
}

PlainRequest if input.ok
`;

const policy = (text: string) => compileModules([{ path: 'p.rego', text }]);

describe('PolicySession', () => {
  test('carries the state across requests through the ops of allowed answers', () => {
    const s = new PolicySession(policy(STATEFUL));
    const first = s.decide('CreateRequest', { ns: 'default' });
    expect(first.allowed).toBe(true);
    expect(first.ops).toEqual([{ op: 'add', path: '/pstate/ns', value: 'default' }]);
    expect(s.state).toEqual({ ns: 'default' });
    expect(s.decide('CreateRequest', { ns: 'default' }).allowed).toBe(true);
    const other = s.decide('CreateRequest', { ns: 'kube-system' });
    expect(other.allowed).toBe(false);
    expect(s.state).toEqual({ ns: 'default' });
  });

  test('treats an undefined rule as denied unless the request name is listed', () => {
    const s = new PolicySession(policy(STATEFUL), { allowUndefined: ['CheckRequest'] });
    expect(s.decide('PlainRequest', { ok: false })).toMatchObject({
      allowed: false,
      isUndefined: true,
    });
    expect(s.decide('PlainRequest', { ok: true }).allowed).toBe(true);
    expect(s.decide('CheckRequest', {}).allowed).toBe(true);
  });

  test('allows failing requests when AllowRequestsFailingPolicy is true but reports the rule', () => {
    const s = new PolicySession(
      policy(
        STATEFUL.replace(
          'AllowRequestsFailingPolicy := false',
          'AllowRequestsFailingPolicy := true',
        ),
      ),
    );
    expect(s.decide('PlainRequest', { ok: false })).toMatchObject({
      allowed: true,
      policyAllowed: false,
    });
  });

  test('captures the print output of the evaluation', () => {
    const s = new PolicySession(
      policy('package agent_policy\nR if { print("checking", input.x); input.x == 1 }'),
    );
    expect(s.decide('R', { x: 2 }).prints).toEqual(['checking 2']);
  });

  test('rejects request names that are not identifiers', () => {
    const s = new PolicySession(policy(STATEFUL));
    expect(() => s.decide('a.b', {})).toThrow(PolicySessionError);
  });

  test('keeps the state when the policy is replaced', () => {
    const s = new PolicySession(policy(STATEFUL));
    s.decide('CreateRequest', { ns: 'a' });
    s.replacePolicy(policy('package agent_policy\nNsRequest := data.pstate.ns'));
    expect(s.evaluateRule('NsRequest', {})).toBe('a');
  });
});

describe('parseVerdict', () => {
  test('accepts booleans and {allowed, ops} and drops null ops', () => {
    expect(parseVerdict(true, 'x')).toEqual({ allowed: true, ops: [] });
    expect(parseVerdict({ allowed: false, ops: [null] }, 'x')).toEqual({ allowed: false, ops: [] });
  });
  test('rejects any other value with the rule path', () => {
    expect(() => parseVerdict('yes', 'data.p.R')).toThrow(/data\.p\.R: expected a boolean/);
    expect(() => parseVerdict({ allowed: true, ops: 1 }, 'data.p.R')).toThrow(
      /ops: expected array/,
    );
  });
});

describe('applyJsonPatch (RFC 6902)', () => {
  test('applies add, remove, replace, move, copy and test', () => {
    const out = applyJsonPatch({ a: { b: 1 }, l: [1, 2] }, [
      { op: 'add', path: '/a/c', value: 2 },
      { op: 'add', path: '/l/-', value: 3 },
      { op: 'add', path: '/l/0', value: 0 },
      { op: 'remove', path: '/a/b' },
      { op: 'replace', path: '/a/c', value: 5 },
      { op: 'copy', from: '/a', path: '/d' },
      { op: 'move', from: '/d/c', path: '/e~1f' },
      { op: 'test', path: '/e~1f', value: 5 },
    ]);
    expect(out).toEqual({ a: { c: 5 }, l: [0, 1, 2, 3], d: {}, 'e/f': 5 });
  });

  test('is all-or-nothing and names the failing operation', () => {
    const doc = { a: 1 };
    expect(() =>
      applyJsonPatch(doc, [
        { op: 'add', path: '/b', value: 2 },
        { op: 'remove', path: '/missing' },
      ]),
    ).toThrow(/ops\[1\]: path does not exist/);
    expect(doc).toEqual({ a: 1 });
    expect(() => applyJsonPatch(doc, [{ op: 'test', path: '/a', value: 2 }])).toThrow(
      /test failed/,
    );
    expect(() => applyJsonPatch(doc, [{ op: 'frob', path: '/a' }])).toThrow(/unknown operation/);
    expect(() => applyJsonPatch(doc, [{ op: 'add', path: 'a', value: 1 }])).toThrow(/JSON pointer/);
    expect(() => applyJsonPatch([1], [{ op: 'add', path: '/5', value: 1 }])).toThrow(/array index/);
  });

  test('keeps state patches inside the state document', () => {
    expect(applyStatePatch({}, 'pstate', [{ op: 'add', path: '/pstate/k', value: 1 }])).toEqual({
      k: 1,
    });
    expect(() => applyStatePatch({}, 'pstate', [{ op: 'add', path: '/other', value: 1 }])).toThrow(
      /stay inside \/pstate/,
    );
    expect(() => applyStatePatch({}, 'pstate', [{ op: 'remove', path: '/pstate' }])).toThrow(
      /stay inside/,
    );
  });
});
