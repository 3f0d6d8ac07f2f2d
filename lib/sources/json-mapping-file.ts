/**
 * The JSON mapping a staging step uses, read and checked before any row is
 * loaded, on both engines: 'auto' / 'auto ignorecase', or a JSONPaths file
 * (local or S3) with the checks of json-mapping.ts (a "jsonpaths" array, one
 * path per column, in the table's column order). PostgreSQL's staging maps
 * the records with it; Redshift's checks it before its COPY, which would load
 * NULLs without an error from a file whose top key is not "jsonpaths"
 * (copy-parameters-data-format) or map a mis-ordered one by position.
 */
import { InputError } from '../errors.ts';
import { autoMapping, parseJsonPathsFile, type JsonMapping } from './json-mapping.ts';
import { readText, type SourceReader } from './source-objects.ts';

/** `setting`: the setting that names the file (LOG_JSONPATH), for messages. */
export async function readJsonMapping(
  reader: SourceReader,
  format: string,
  columns: readonly string[],
  setting?: string,
): Promise<JsonMapping> {
  const auto = autoMapping(format);
  if (auto) return auto;
  let text: string;
  try {
    text = await readText(reader, format);
  } catch (err) {
    if (err instanceof InputError)
      throw new InputError(`${setting ?? 'the JSON mapping'}: JSONPaths file ${err.message}`);
    throw err;
  }
  return parseJsonPathsFile(text, format, columns);
}
