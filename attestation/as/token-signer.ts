import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  webcrypto,
  type KeyObject,
} from 'node:crypto';
import { SignJWT, decodeProtectedHeader, jwtVerify, type JWK, type JWTPayload } from 'jose';
import type { KvStore } from '../store/index.js';
import { AsError } from './errors.js';

const KEY_NAME = 'as-token-signer';

/** The ES256 key that signs EAR tokens; its public JWK goes into every token header (`jwk`). */
export class TokenSigner {
  readonly #privateKey: KeyObject;
  /** The same key imported into WebCrypto once: jose converts a KeyObject on every sign otherwise. */
  #cryptoKey: Promise<webcrypto.CryptoKey> | undefined;
  readonly publicKey: KeyObject;
  readonly publicJwk: JWK;

  constructor(privateKey: KeyObject) {
    if (
      privateKey.asymmetricKeyType !== 'ec' ||
      privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1'
    )
      throw new AsError(
        'invalid_argument',
        'ERR_AS_KEY',
        'token signing key: expected an EC P-256 private key',
      );
    this.#privateKey = privateKey;
    this.publicKey = createPublicKey(privateKey);
    const jwk = this.publicKey.export({ format: 'jwk' });
    this.publicJwk = { kty: 'EC', crv: 'P-256', x: jwk.x ?? '', y: jwk.y ?? '', alg: 'ES256' };
  }

  /** Loads the key from PEM text (config `attestation_token.signer_key`). */
  static fromPem(pem: string): TokenSigner {
    try {
      return new TokenSigner(createPrivateKey(pem));
    } catch (err) {
      if (err instanceof AsError) throw err;
      throw new AsError(
        'invalid_argument',
        'ERR_AS_KEY',
        'token signing key: not a PEM private key',
        { cause: err },
      );
    }
  }

  /** The key kept in the store's `keys` namespace, generated on first use. */
  static async fromStore(store: KvStore): Promise<TokenSigner> {
    const pem = await store.get('keys', KEY_NAME);
    if (pem) return TokenSigner.fromPem(new TextDecoder().decode(pem));
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    await store.put(
      'keys',
      KEY_NAME,
      new TextEncoder().encode(privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()),
    );
    return new TokenSigner(privateKey);
  }

  async sign(claims: JWTPayload): Promise<string> {
    this.#cryptoKey ??= webcrypto.subtle
      .importKey(
        'pkcs8',
        this.#privateKey.export({ format: 'der', type: 'pkcs8' }),
        { name: 'ECDSA', namedCurve: 'P-256' },
        false,
        ['sign'],
      )
      .catch((err: unknown) => {
        this.#cryptoKey = undefined;
        throw err;
      });
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', jwk: this.publicJwk })
      .sign(await this.#cryptoKey);
  }

  /** Verifies a token this signer issued (signature, `exp`, and that the header `jwk` is ours). */
  async verify(token: string, now: number): Promise<JWTPayload> {
    try {
      const header = decodeProtectedHeader(token);
      if (header.jwk?.x !== this.publicJwk.x || header.jwk?.y !== this.publicJwk.y)
        throw new AsError(
          'unauthenticated',
          'ERR_AS_TOKEN',
          'token was not issued by this attestation service',
        );
      const { payload } = await jwtVerify(token, this.publicKey, {
        algorithms: ['ES256'],
        currentDate: new Date(now),
      });
      return payload;
    } catch (err) {
      if (err instanceof AsError) throw err;
      throw new AsError(
        'unauthenticated',
        'ERR_AS_TOKEN',
        `token rejected: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
  }
}
