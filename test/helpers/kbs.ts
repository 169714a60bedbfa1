import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  startKbs as startKbsServer,
  type KbsOptions,
  type RunningKbs,
} from '#attestation/kbs/index.js';
import { KbsClient, signAdminToken } from '#src/protocol/kbs/index.js';
import { PROJECT_ROOT } from './source-files.js';
import { tmpdir } from './tmpdir.js';

export interface TestKbs extends RunningKbs {
  readonly dir: string;
  readonly storeDir: string;
  readonly adminPrivateKey: KeyObject;
  /** A fresh admin JWT. */
  adminToken(): string;
  /** A client for this KBS (new identity each call). */
  client(): KbsClient;
  /** Closes the server and removes its directory. */
  stop(): Promise<void>;
}

/**
 * An in-process KBS on 127.0.0.1:0 with its own store directory, the project's default policies
 * and a generated admin key. `overrides` changes any KbsOptions (e.g. `now`, `allowSample`).
 */
export async function startKbs(overrides: Partial<KbsOptions> = {}): Promise<TestKbs> {
  const tmp = tmpdir('kata-cc-kbs-');
  const admin = generateKeyPairSync('ed25519');
  const adminPub = join(tmp.path, 'admin.pub.pem');
  writeFileSync(adminPub, admin.publicKey.export({ format: 'pem', type: 'spki' }).toString());
  const storeDir = join(tmp.path, 'store');
  const kbs = await startKbsServer({
    host: '127.0.0.1',
    port: 0,
    storeDir,
    policiesDir: join(PROJECT_ROOT, 'policies'),
    adminPublicKeyFile: adminPub,
    allowSample: true,
    ...overrides,
  });
  return {
    ...kbs,
    dir: tmp.path,
    storeDir,
    adminPrivateKey: admin.privateKey,
    adminToken: () => signAdminToken(admin.privateKey, { now: overrides.now?.() }),
    client: () => new KbsClient({ url: kbs.url }),
    stop: async () => {
      await kbs.close();
      tmp.remove();
    },
  };
}
