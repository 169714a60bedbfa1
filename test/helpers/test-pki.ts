import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Why the test PKI cannot be built here (no openssl), or undefined. */
export function testPkiMissing(): string | undefined {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'openssl is not installed (apt-get install openssl)';
  }
}

export type TestKeyType = 'p256' | 'p384' | 'rsa-pss';

export interface TestCert {
  readonly name: string;
  readonly cert: X509Certificate;
  readonly pem: string;
  readonly key: KeyObject;
  readonly keyFile: string;
  readonly certFile: string;
  readonly keyType: TestKeyType;
}

const KEY_ARGS: Record<TestKeyType, string[]> = {
  p256: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  p384: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'],
  'rsa-pss': ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
};

/** Signature options: AMD signs with RSASSA-PSS SHA-384 (salt 48); Intel with ECDSA SHA-256. */
function signArgs(t: TestKeyType): string[] {
  return t === 'rsa-pss'
    ? ['-sha384', '-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:48']
    : t === 'p384'
      ? ['-sha384']
      : ['-sha256'];
}

/**
 * A throw-away X.509 hierarchy built with the openssl CLI in `dir`: CAs, leaves and CRLs (with
 * `openssl ca`, so revocation entries are real). For tests of chain and revocation checks.
 */
export class TestPki {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  #run(args: string[]): void {
    execFileSync('openssl', args, { cwd: this.#dir, stdio: ['ignore', 'ignore', 'pipe'] });
  }

  #load(name: string, keyType: TestKeyType): TestCert {
    const certFile = join(this.#dir, `${name}.pem`);
    const keyFile = join(this.#dir, `${name}.key`);
    const pem = readFileSync(certFile, 'utf8');
    return {
      name,
      cert: new X509Certificate(pem),
      pem,
      key: createPrivateKey(readFileSync(keyFile)),
      keyFile,
      certFile,
      keyType,
    };
  }

  /** A certificate `name` (CA when `ca`), self-signed when `issuer` is undefined. */
  issue(name: string, keyType: TestKeyType, issuer?: TestCert, ca = true): TestCert {
    this.#run(['genpkey', ...KEY_ARGS[keyType], '-out', `${name}.key`]);
    const ext = join(this.#dir, `${name}.ext`);
    writeFileSync(
      ext,
      ca
        ? '[v3]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n'
        : '[v3]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n',
    );
    const signer = issuer?.keyType ?? keyType;
    this.#run([
      'req',
      '-new',
      '-key',
      `${name}.key`,
      '-subj',
      `/O=Test/CN=${name}`,
      '-out',
      `${name}.csr`,
    ]);
    this.#run([
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      ...(issuer
        ? ['-CA', issuer.certFile, '-CAkey', issuer.keyFile, '-CAcreateserial']
        : ['-key', `${name}.key`]),
      '-days',
      '3650',
      '-extfile',
      ext,
      '-extensions',
      'v3',
      ...signArgs(signer),
      '-out',
      `${name}.pem`,
    ]);
    return this.#load(name, keyType);
  }

  /** A DER CRL signed by `issuer` listing `revoked` (valid from now for `days`). */
  crl(issuer: TestCert, revoked: readonly TestCert[], days = 30): Uint8Array {
    const db = `${issuer.name}-crl-${String(Date.now())}-${String(Math.random()).slice(2, 8)}`;
    writeFileSync(join(this.#dir, `${db}.index`), '');
    writeFileSync(join(this.#dir, `${db}.crlnumber`), '01\n');
    const cnf = join(this.#dir, `${db}.cnf`);
    writeFileSync(
      cnf,
      `[ca]\ndefault_ca=d\n[d]\ndatabase=${db}.index\ncrlnumber=${db}.crlnumber\ndefault_md=${issuer.keyType === 'p256' ? 'sha256' : 'sha384'}\ndefault_crl_days=${String(days)}\n`,
    );
    const ca = ['-config', cnf, '-keyfile', issuer.keyFile, '-cert', issuer.certFile];
    for (const r of revoked) this.#run(['ca', ...ca, '-revoke', r.certFile]);
    this.#run([
      'ca',
      ...ca,
      '-gencrl',
      ...signArgs(issuer.keyType).filter((a) => a !== '-sha256' && a !== '-sha384'),
      '-out',
      `${db}.crl`,
    ]);
    this.#run(['crl', '-in', `${db}.crl`, '-outform', 'DER', '-out', `${db}.der`]);
    return new Uint8Array(readFileSync(join(this.#dir, `${db}.der`)));
  }
}
