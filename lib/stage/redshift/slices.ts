/**
 * How many slices the cluster has, for compaction's chunk count (a multiple
 * of it: "Split your data into files so that the number of files is a
 * multiple of the number of slices in your cluster", Amazon Redshift Database
 * Developer Guide, https://docs.aws.amazon.com/redshift/latest/dg/t_splitting-data-files.html).
 * Read from STV_SLICES, one row a slice, "visible to all users"
 * (https://docs.aws.amazon.com/redshift/latest/dg/r_STV_SLICES.html). A
 * Serverless workgroup has no STV tables and no fixed slice count:
 * REDSHIFT_SLICES says how many to plan for (it also overrides the count read
 * from a cluster); without it, DEFAULT_SLICES, with a warning. Asked before
 * the staging transaction: a query on a missing system table would abort it.
 */
import type { Connection } from '../../db/connection.ts';
import type { Logger } from '../../log.ts';

export const SLICES_QUERY = 'SELECT COUNT(*) AS slices FROM stv_slices';
/** The slices planned for when they can be neither read nor are set: a 4-node dc2.large cluster's. */
export const DEFAULT_SLICES = 8;

export async function clusterSlices(conn: Connection, setting: number | undefined, log: Logger): Promise<number> {
  if (setting !== undefined) return setting;
  let why: string;
  try {
    const n = Number((await conn.query<{ slices: unknown }>(SLICES_QUERY)).rows[0]?.slices);
    if (Number.isInteger(n) && n > 0) return n;
    why = 'STV_SLICES has no row for this user';
  } catch (err) {
    why = `STV_SLICES cannot be read here (${(err as Error).message}; Serverless has none)`;
  }
  log.warn(`compaction: ${why}; planning chunks for ${DEFAULT_SLICES} slices: set REDSHIFT_SLICES to choose`);
  return DEFAULT_SLICES;
}
