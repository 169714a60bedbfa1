import { readdir, readFile, stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { NULL_LOGGER, wrapError, type Logger } from '#src/lib/index.js';
import { AttestationService, RegoPolicyEngine, TokenSigner } from '../as/index.js';
import { PolicyStore } from '../policy/index.js';
import { ReferenceValueStore } from '../rvps/index.js';
import { FileStore, MemoryStore, type KvStore } from '../store/index.js';
import {
  createVerifier,
  loadTdxCollateral,
  directoryCollateralProvider,
  staticCollateralProvider,
  type CreateVerifierOptions,
  type TdxCollateralProvider,
  type TeeKind,
  type Verifier,
} from '../verifier/index.js';
import { AdminAuth, type AdminAclRule } from './admin-auth.js';
import { KbsHandlers } from './kbs-handlers.js';
import { KbsServer } from './kbs-server.js';
import { SessionStore } from './session-store.js';

export interface KbsOptions {
  readonly host: string;
  readonly port: number;
  /** Store directory; absent = in memory (nothing survives a restart). */
  readonly storeDir?: string | undefined;
  /** Directory holding as/default.rego and kbs/default-resource.rego. */
  readonly policiesDir: string;
  readonly tls?: { readonly certFile: string; readonly keyFile: string } | undefined;
  /** Ed25519 admin public key PEM file; absent = admin API disabled. */
  readonly adminPublicKeyFile?: string | undefined;
  /** Trustee's regex ACL for the admin endpoints (by the token's `role` claim). */
  readonly adminAcl?: readonly AdminAclRule[] | undefined;
  readonly allowSample?: boolean | undefined;
  /** TDX collateral: a bundle file, a PCS folder, or a folder of per-FMSPC folders. */
  readonly tdxCollateral?: string | undefined;
  /** AMD KDS CRLs for the SNP verifier: a DER/PEM CRL file or a folder of `*.der` / `*.crl`. */
  readonly snpCrls?: string | undefined;
  readonly tokenTtlSeconds?: number | undefined;
  readonly now?: (() => number) | undefined;
  readonly log?: Logger | undefined;
}

export interface RunningKbs {
  readonly address: AddressInfo;
  readonly url: string;
  readonly store: KvStore;
  readonly service: AttestationService;
  close(): Promise<void>;
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw wrapError(err, `cannot read ${what} ${path}`);
  }
}

async function collateral(path: string | undefined): Promise<TdxCollateralProvider | undefined> {
  if (path === undefined) return undefined;
  const st = await stat(path).catch((err: unknown) => {
    throw wrapError(err, `cannot read tdx collateral ${path}`);
  });
  if (st.isDirectory() && !(await readdir(path)).some((n) => /^tcb_?info.*\.json$/i.test(n)))
    return directoryCollateralProvider(path);
  return staticCollateralProvider(await loadTdxCollateral(path));
}

const PEM_CRL_RE = /-----BEGIN X509 CRL-----([A-Za-z0-9+/=\s]+)-----END X509 CRL-----/g;

async function amdCrls(path: string | undefined): Promise<Uint8Array[] | undefined> {
  if (path === undefined) return undefined;
  try {
    const st = await stat(path);
    const files = st.isDirectory()
      ? (await readdir(path))
          .filter((n) => /\.(der|crl|pem)$/i.test(n))
          .sort()
          .map((n) => join(path, n))
      : [path];
    const out: Uint8Array[] = [];
    for (const f of files) {
      const bytes = await readFile(f);
      const pems = [...bytes.toString('latin1').matchAll(PEM_CRL_RE)];
      if (pems.length === 0) out.push(new Uint8Array(bytes));
      for (const m of pems) out.push(new Uint8Array(Buffer.from(m[1] ?? '', 'base64')));
    }
    return out;
  } catch (err) {
    throw wrapError(err, `cannot read snp crls ${path}`);
  }
}

/** Builds the verifiers, attestation service, stores and HTTP server, and starts listening. */
export async function startKbs(o: KbsOptions): Promise<RunningKbs> {
  const log = o.log ?? NULL_LOGGER;
  const now = o.now ?? Date.now;
  const store: KvStore =
    o.storeDir === undefined ? new MemoryStore() : await FileStore.open(o.storeDir);
  const vopts: CreateVerifierOptions = {
    allowSample: o.allowSample === true,
    collateral: await collateral(o.tdxCollateral),
    amdCrls: await amdCrls(o.snpCrls),
  };
  // Fail at start, not at first request, when a configured CRL is unreadable or not AMD's.
  if (vopts.amdCrls) createVerifier('snp', vopts);
  const verifiers = new Map<TeeKind, Verifier>();
  const verifierFor = (tee: TeeKind): Verifier | undefined => {
    if (tee === 'sample' && o.allowSample !== true) return undefined;
    let v = verifiers.get(tee);
    if (!v) verifiers.set(tee, (v = createVerifier(tee, vopts)));
    return v;
  };
  const engine = new RegoPolicyEngine();
  const policies = new PolicyStore(store, o.policiesDir);
  const referenceValues = new ReferenceValueStore(store, now);
  const signer = await TokenSigner.fromStore(store);
  const service = new AttestationService({
    verifierFor,
    policies,
    referenceValues,
    engine,
    signer,
    now,
    tokenTtlSeconds: o.tokenTtlSeconds,
    log,
  });
  // Fail at start, not at first request, when a default policy is missing or broken.
  engine.validate(await policies.attestationPolicy(), 'attestation/default');
  engine.validate(await policies.resourcePolicy(), 'resource');
  const handlers = new KbsHandlers({
    as: service,
    sessions: new SessionStore({ now }),
    store,
    policies,
    referenceValues,
    engine,
    log,
  });
  const admin = new AdminAuth(
    o.adminPublicKeyFile === undefined
      ? undefined
      : await readText(o.adminPublicKeyFile, 'admin public key'),
    now,
    o.adminAcl,
  );
  const tls = o.tls
    ? {
        cert: await readText(o.tls.certFile, 'tls certificate'),
        key: await readText(o.tls.keyFile, 'tls key'),
      }
    : undefined;
  const server = new KbsServer({ handlers, admin, tokenKey: signer.publicJwk, tls, log });
  const address = await server.listen(o.host, o.port);
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${tls ? 'https' : 'http'}://${host}:${String(address.port)}`;
  log.info('kbs listening', {
    url,
    store: o.storeDir ?? 'memory',
    admin: admin.enabled,
    allow_sample: o.allowSample === true,
  });
  return { address, url, store, service, close: () => server.close() };
}
