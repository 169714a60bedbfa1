import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { parseImageReference, parseSignaturePolicy, requirementsFor } from '#src/oci/index.js';

const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .publicKey.export({ type: 'spki', format: 'pem' })
  .toString();
const keyData = Buffer.from(pem).toString('base64');

describe('parseSignaturePolicy', () => {
  const policy = parseSignaturePolicy(
    Buffer.from(
      JSON.stringify({
        default: [{ type: 'reject' }],
        transports: {
          docker: {
            'quay.io': [{ type: 'insecureAcceptAnything' }],
            'quay.io/org': [{ type: 'sigstoreSigned', keyData }],
            'quay.io/org/app:v1': [{ type: 'reject' }],
            '*.example.com': [
              { type: 'sigstoreSigned', keyData, signedIdentity: { type: 'matchRepository' } },
            ],
          },
        },
      }),
    ),
  );

  test.each([
    ['quay.io/other/x', 'quay.io'],
    ['quay.io/org/app:v2', 'quay.io/org'],
    ['quay.io/org/sub/app', 'quay.io/org'],
    ['quay.io/org/app:v1', 'quay.io/org/app:v1'],
    ['reg.example.com/a', '*.example.com'],
    ['a.b.example.com:5000/a', '*.example.com'],
    ['docker.io/library/busybox', 'default'],
  ])('picks the most specific scope for %s (%s)', (ref, scope) => {
    expect(requirementsFor(policy, parseImageReference(ref)).scope).toBe(scope);
  });

  test('reads keyPath through the given reader', () => {
    const p = parseSignaturePolicy(
      { default: [{ type: 'sigstoreSigned', keyPath: '/k.pub' }] },
      { readKey: () => Buffer.from(pem) },
    );
    expect(p.default[0]?.type).toBe('sigstoreSigned');
  });

  test.each([
    ['not json', /not valid JSON/],
    ['{"default":[]}', /empty requirement list/],
    ['{"default":[{"type":"bogus"}]}', /unknown requirement/],
    ['{"default":[{"type":"sigstoreSigned"}]}', /needs keyPath/],
    ['{"default":[{"type":"sigstoreSigned","keyData":"bm90IGEga2V5"}]}', /not a PEM public key/],
    ['{"default":[{"type":"sigstoreSigned","keyPath":"/x"}]}', /cannot be read here/],
    ['{"default":[{"type":"reject"}],"extra":1}', /unknown key/],
    ['{"default":[{"type":"reject","keyData":"x"}]}', /unknown key/],
    [
      `{"default":[{"type":"sigstoreSigned","keyData":"${keyData}","signedIdentity":{"type":"nope"}}]}`,
      /unsupported signedIdentity/,
    ],
    [`{"default":[{"type":"sigstoreSigned","keyData":"${keyData}","fulcio":{}}]}`, /unknown key/],
  ])('refuses %s', (raw, why) => {
    expect(() => parseSignaturePolicy(Buffer.from(raw))).toThrow(why);
  });
});
