/**
 * The ledger's object lists on Redshift (lib/stage/ledger.ts): written as one
 * gzip'd JSON Lines object under the run's folder of LOAD_STAGE_PREFIX (else
 * LOAD_MANIFEST_PREFIX), next to the compacted chunks and manifests, and
 * loaded by a COPY … FORMAT AS JSON 'auto' GZIP into a temporary table.
 * 'auto' maps each JSON key to the column of the same name (Amazon Redshift
 * Database Developer Guide, Data format parameters, JSON 'auto':
 * https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-format.html);
 * GZIP: "The COPY operation reads each compressed file and uncompresses the
 * data as it loads" (copy-parameters-file-compression). The file is written
 * to a local temporary file first and uploaded with its length (bounded
 * memory at any object count), and removed once its COPY ran.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { renderCopy, type CopyAuth } from '../../dialect/redshift/copy.ts';
import type { Logger } from '../../log.ts';
import type { LedgerFile, LedgerFiles } from '../plan.ts';
import { createStageStore, stageUri, type StageStore } from './stage-store.ts';

export interface LedgerFilesOptions {
  /** LOAD_STAGE_PREFIX, else LOAD_MANIFEST_PREFIX. */
  readonly prefix: string;
  readonly runId: string;
  /** The COPY's REGION: the prefix's bucket's. */
  readonly region: string;
  readonly auth: CopyAuth;
  /** Region of the S3 client that writes the files. */
  readonly storeRegion: string;
  readonly log: Logger;
  /** Tests and the dry run may pass their own. */
  readonly store?: () => Promise<StageStore>;
}

const uriOf = (o: Pick<LedgerFilesOptions, 'prefix'>, runId: string, name: string) =>
  stageUri(o.prefix, `${runId}/ledger/${name}`);

function copyOf(o: Pick<LedgerFilesOptions, 'region' | 'auth'>, uri: string) {
  return (table: string, columns: readonly string[]) =>
    renderCopy({
      table,
      columns,
      source: uri,
      format: 'auto',
      gzip: true,
      region: o.region,
      auth: o.auth,
      maxErrors: 0,
    });
}

export function ledgerFiles(o: LedgerFilesOptions): LedgerFiles {
  const open = o.store ?? (() => createStageStore(o.storeRegion));
  return {
    async put(name, lines): Promise<LedgerFile> {
      const uri = uriOf(o, o.runId, name);
      const dir = await mkdtemp(path.join(os.tmpdir(), 'sparkify-ledger-'));
      const store = await open();
      try {
        const file = path.join(dir, name);
        await pipeline(Readable.from(lines), createGzip(), createWriteStream(file, { flags: 'wx', mode: 0o600 }));
        await store.put(uri, { path: file, size: (await stat(file)).size });
      } catch (err) {
        store.close();
        throw err;
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      return {
        copy: copyOf(o, uri),
        async remove() {
          try {
            await store.remove([uri]);
          } catch (err) {
            o.log.warn(`the ledger's object list ${uri} could not be removed (${(err as Error).message})`);
          } finally {
            store.close();
          }
        },
      };
    },
    planned(name) {
      return { copy: copyOf(o, uriOf(o, 'RUN-ID', name)), remove: async () => undefined };
    },
  };
}
