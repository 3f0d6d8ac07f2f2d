/**
 * Compressed source objects. Staging reads uncompressed JSON, as Redshift's
 * COPY does without its GZIP option, so a gzip object (`.json.gz`) is refused
 * as a whole, naming it and saying it is gzip, instead of being reported as a
 * bad first record ("found '\x1f'").
 */
import { InputError } from '../errors.ts';
import { printable } from '../printable.ts';

/** An object's first chunk starts with gzip's magic bytes (1f 8b): the error to stop with, else undefined. */
export function gzipRefusal(uri: string, firstChunk: Uint8Array): InputError | undefined {
  if (firstChunk[0] !== 0x1f || (firstChunk.length > 1 && firstChunk[1] !== 0x8b)) return undefined;
  return new InputError(
    `${printable(uri)}: gzip-compressed (it starts with gzip's bytes 1f 8b): staging reads uncompressed JSON, as Redshift's COPY does without GZIP; decompress it (gunzip) or move it out of the source`,
  );
}
