import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { NODE_TSM_FS, tsmReportDir, type TsmFs } from '#guest/attester/index.js';

export interface FakeTsmOptions {
  readonly provider: string;
  /** What `outblob` returns (the real quote/report), whatever inblob says. */
  readonly outblob: Uint8Array;
  readonly auxblob?: Uint8Array | undefined;
  /** Bump generation once more on read, as if another writer raced. */
  readonly race?: boolean | undefined;
}

/**
 * A configfs-tsm tree in a tmpdir: mkdir of a report entry creates `provider` and `generation`;
 * each attribute write bumps `generation`; `outblob` serves the given bytes; rmdir removes it.
 */
export function fakeTsm(root: string, o: FakeTsmOptions): { fs: TsmFs; inblobs: Uint8Array[] } {
  mkdirSync(tsmReportDir(root), { recursive: true });
  const inblobs: Uint8Array[] = [];
  const bump = (entry: string, by = 1): void => {
    const g = Number(readFileSync(join(entry, 'generation'), 'utf8'));
    writeFileSync(join(entry, 'generation'), `${String(g + by)}\n`);
  };
  const fs: TsmFs = {
    ...NODE_TSM_FS,
    mkdir: (p) => {
      mkdirSync(p);
      if (dirname(p) === tsmReportDir(root)) {
        writeFileSync(join(p, 'provider'), `${o.provider}\n`);
        writeFileSync(join(p, 'generation'), '0\n');
      }
      return Promise.resolve();
    },
    rmdir: (p) => {
      rmSync(p, { recursive: true, force: true });
      return Promise.resolve();
    },
    writeFile: (p, d) => {
      writeFileSync(p, d);
      const name = basename(p);
      if (name === 'inblob' || name === 'privlevel') {
        if (name === 'inblob')
          inblobs.push(new Uint8Array(typeof d === 'string' ? Buffer.from(d) : d));
        bump(dirname(p));
        writeFileSync(join(dirname(p), 'outblob'), o.outblob);
        if (o.auxblob) writeFileSync(join(dirname(p), 'auxblob'), o.auxblob);
        if (o.race === true) bump(dirname(p));
      }
      return Promise.resolve();
    },
  };
  return { fs, inblobs };
}
