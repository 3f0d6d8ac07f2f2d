/**
 * Lists and reads the objects behind a source setting, the way Redshift's COPY
 * sees them: every object whose key starts with an s3:// prefix, or every file
 * below a local folder (recursively, symlinks followed, loops refused), or one file.
 */
import {
  closeSync,
  createReadStream,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  realpathSync,
  statSync,
} from 'node:fs';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { InputError } from '../errors.ts';
import { DEFAULT_S3_MAX_CONCURRENCY, type Config } from '../config/config.ts';
import { isS3Uri, parseS3Uri } from '../config/s3-uri.ts';
import { printable } from '../printable.ts';
import { DEFAULT_TRANSPORT, type TransportSettings } from '../config/transport.ts';
import type { SourceObject, SourceObjects } from './source-object.ts';
import { AbortFanout } from './abort-fanout.ts';
import { ObjectList } from './object-list.ts';

const SMALL_FILE_BYTES = 1024 * 1024;

export type { SourceObject, SourceObjects };

export interface SourceReader {
  /** How many objects to read at once from s3:// (local files: a few). */
  readonly s3Concurrency?: number;
  /** Every object under `uri`, in order: held compactly (lib/sources/object-list.ts), made one at a time when read. */
  list(uri: string): Promise<SourceObjects>;
  open(object: SourceObject): Promise<AsyncIterable<Uint8Array> | Iterable<Uint8Array>>;
  /** An S3 bucket's region (GetBucketLocation's LocationConstraint, raw); absent where the reader cannot ask. */
  locate?(bucket: string): Promise<string | undefined>;
}

/**
 * Lists a local folder with synchronous calls: for 100k small files they take
 * a tenth of the time of promise-based ones (no thread-pool round trip per
 * file), and nothing else waits on the event loop while the list is made.
 * Folders need no call of their own: their real path is the parent's plus
 * their name, except behind a symbolic link (resolved, to refuse loops).
 * The files go into an ObjectList as they are found: no SourceObject is
 * kept per file (issue 26).
 */
function listLocal(root: string): ObjectList {
  const start = path.resolve(root);
  let info;
  try {
    info = statSync(start);
  } catch (err) {
    throw new InputError(
      `${printable(root)}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : (err as Error).message}`,
    );
  }
  if (info.isFile()) {
    const one = new ObjectList(path.dirname(start), 'files');
    one.pushFile(start, info.size, info.mtime.getTime());
    return one;
  }
  // Every path found starts with the folder's: stored once. The mtime is each file's version and modified.
  const out = new ObjectList(start.endsWith(path.sep) ? start : start + path.sep, 'files');
  const fail = (full: string, err: unknown): never => {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw new InputError(`${printable(full)}: symbolic link loop`);
    throw new InputError(`${printable(full)}: ${printable((err as Error).message)}`);
  };
  /** `real`: the folder's real path; `seen`: the real paths of the folders it is in. */
  const walk = (dir: string, real: string, seen: ReadonlySet<string>): void => {
    if (seen.has(real))
      throw new InputError(`${printable(dir)}: symbolic link loop (it leads back to ${printable(real)})`);
    const nextSeen = new Set(seen).add(real);
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        walk(full, path.join(real, entry.name), nextSeen);
        continue;
      }
      // Sockets, pipes and devices are not data; files, links and entries of unknown type are looked at.
      if (entry.isFIFO() || entry.isSocket() || entry.isBlockDevice() || entry.isCharacterDevice()) continue;
      let s;
      try {
        s = statSync(full);
      } catch (err) {
        return fail(full, err);
      }
      if (s.isDirectory()) {
        let target;
        try {
          target = realpathSync.native(full);
        } catch (err) {
          return fail(full, err);
        }
        walk(full, target, nextSeen);
      } else if (s.isFile()) {
        out.pushFile(full, s.size, s.mtime.getTime());
      }
    }
  };
  let real;
  try {
    real = realpathSync.native(start);
  } catch (err) {
    return fail(start, err);
  }
  walk(start, real, new Set());
  return out;
}

/**
 * A small file's bytes in three calls (open, read, close), its size known
 * from the listing: readFileSync asks for the size again (fstat), a fourth
 * call per file, 0.35 s of 385k song files' stage (issue 27). One byte more
 * than listed is asked for, so a file that has grown since it was listed is
 * read whole as readFileSync would (then its bytes are what it holds now).
 */
function readSmallFile(file: string, listedSize: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    // A read of a regular file returns less than asked for only at its end.
    const buf = Buffer.allocUnsafe(listedSize + 1);
    const got = readSync(fd, buf, 0, buf.length, null);
    return got <= listedSize ? buf.subarray(0, got) : Buffer.concat([buf, readFileSync(fd)]);
  } finally {
    closeSync(fd);
  }
}

export interface SourceReaderOptions {
  /** How many objects to read at once from s3:// (S3_MAX_CONCURRENCY). */
  readonly s3Concurrency?: number;
  /** Timeouts and read attempts (lib/config/transport.ts). */
  readonly transport?: TransportSettings;
  /** The run's interrupt: aborts every S3 request in flight at once. */
  readonly signal?: AbortSignal | undefined;
  /** Told when a cut S3 body is read on. */
  readonly warn?: ((message: string) => void) | undefined;
}

/**
 * Reads local paths, and s3:// URIs with an S3 client made (and the AWS SDK
 * loaded) on first use, with as many pooled keep-alive connections as objects
 * read at once (`s3Concurrency`). Every S3 listing and read goes through
 * lib/sources/s3-reads.ts (continuation tokens checked; bytes checked against
 * the listing, cut bodies read on, changed objects refused).
 */
export function createSourceReader(region: string, options: SourceReaderOptions = {}): SourceReader {
  const s3Concurrency = options.s3Concurrency ?? DEFAULT_S3_MAX_CONCURRENCY;
  const transport = options.transport ?? DEFAULT_TRANSPORT;
  const { signal } = options;
  /** One listener on the run's signal for every request and body in flight (lib/sources/abort-fanout.ts). */
  const aborts = new AbortFanout(signal);
  let client: Promise<S3Client> | undefined;
  const s3 = () =>
    (client ??= import('./s3-client.ts').then(({ createS3Client }) =>
      createS3Client(region, process.env, { maxSockets: s3Concurrency, transport, signal }),
    ));
  // GETs and listings signed and sent without the SDK's middleware (lib/sources/s3-get.ts).
  let requests: Promise<import('./s3-get.ts').S3Requests> | undefined;
  const s3Requests = () =>
    (requests ??= Promise.all([s3(), import('./s3-get.ts')]).then(([c, { createS3Requests }]) =>
      createS3Requests(c, { maxSockets: s3Concurrency, transport, signal, aborts }),
    ));
  // Imported once: under a loader (tsx) every import() is a round trip to the loader's thread,
  // which cost more CPU per small object than the GET itself.
  let readsModule: Promise<typeof import('./s3-reads.ts')> | undefined;
  const reads = () => (readsModule ??= import('./s3-reads.ts'));
  return {
    s3Concurrency,
    async locate(bucket) {
      const [client, { GetBucketLocationCommand }] = await Promise.all([s3(), import('@aws-sdk/client-s3')]);
      return (await client.send(new GetBucketLocationCommand({ Bucket: bucket }))).LocationConstraint ?? undefined;
    },
    async list(uri) {
      if (!isS3Uri(uri)) return listLocal(uri);
      const { bucket, key } = parseS3Uri(uri);
      const [{ list }, { listS3Objects, LIST_CONCURRENCY }] = await Promise.all([s3Requests(), reads()]);
      // Each page goes into a compact list as it arrives (lib/sources/s3-reads.ts).
      return listS3Objects(list, uri, bucket, key, signal, {
        concurrency: Math.min(s3Concurrency, LIST_CONCURRENCY),
      });
    },
    async open(object) {
      if (!isS3Uri(object.uri)) {
        // A small file in one synchronous read: a stream's set-up, or a thread-pool
        // round trip, costs more than reading the file (one-object song files).
        if (object.size <= SMALL_FILE_BYTES) {
          try {
            return [readSmallFile(object.uri, object.size)];
          } catch (err) {
            throw new InputError(`${printable(object.uri)}: cannot read: ${printable((err as Error).message)}`);
          }
        }
        return createReadStream(object.uri, { highWaterMark: 256 * 1024 });
      }
      const [{ get }, { readS3Object }] = await Promise.all([s3Requests(), reads()]);
      return readS3Object(get, object, {
        attempts: transport.s3ReadAttempts,
        signal,
        aborts,
        onRetry: options.warn,
      });
    },
  };
}

/** The source reader a run's settings describe: S3_MAX_CONCURRENCY and the transport settings; `region` defaults to AWS_REGION. */
export function sourceReaderFor(
  config: Pick<Config, 'region' | 's3MaxConcurrency' | 'transport'>,
  options: { readonly region?: string | undefined } & Pick<SourceReaderOptions, 'signal' | 'warn'> = {},
): SourceReader {
  return createSourceReader(options.region ?? config.region, {
    s3Concurrency: config.s3MaxConcurrency,
    transport: config.transport,
    signal: options.signal,
    warn: options.warn,
  });
}

/** Reads a whole (small) object as UTF-8 text: the JSONPaths file. */
export async function readText(reader: SourceReader, uri: string): Promise<string> {
  const listed = [...(await reader.list(uri))];
  const objects = isS3Uri(uri) ? listed.filter((o) => o.uri === uri) : listed;
  const object = objects[0];
  if (!object || objects.length !== 1)
    throw new InputError(`${uri}: expected exactly one file, found ${objects.length}`);
  const chunks: Buffer[] = [];
  for await (const chunk of await reader.open(object)) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}
