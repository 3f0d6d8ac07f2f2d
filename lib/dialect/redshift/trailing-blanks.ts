/**
 * Trailing blanks on Redshift: "Trailing spaces in VARCHAR and CHAR values are
 * treated as semantically insignificant when values are compared", while
 * "length calculations return the length of VARCHAR character strings with
 * trailing spaces included" (Amazon Redshift Database Developer Guide,
 * Character types, Significance of trailing blanks:
 * https://docs.aws.amazon.com/redshift/latest/dg/r_Character_types.html).
 * PostgreSQL compares them. So that the songplays match, the upsert's
 * comparison and every GROUP BY give the same rows on both engines, staging
 * drops the trailing blanks (U+0020) of every VARCHAR on both: PostgreSQL's
 * staging as it converts a value (staging/copy-row.ts), Redshift's with this
 * UPDATE after the COPY, in the staging transaction. COPY's TRIMBLANKS is not
 * used: it removes "trailing white space characters", a set the guide does
 * not define (copy-parameters-data-conversion), while RTRIM(value, ' ')
 * removes exactly the blanks
 * (https://docs.aws.amazon.com/redshift/latest/dg/r_RTRIM.html). The WHERE
 * uses lengths, which count trailing blanks, never `=`, which ignores them.
 */

/** The UPDATE that drops trailing blanks from the columns (undefined: no VARCHAR column). */
export function trimBlanksStatement(table: string, columns: readonly string[]): string | undefined {
  if (columns.length === 0) return undefined;
  return [
    `UPDATE ${table}`,
    `SET ${columns.map((c) => `${c} = RTRIM(${c}, ' ')`).join(',\n    ')}`,
    `WHERE ${columns.map((c) => `OCTET_LENGTH(${c}) > OCTET_LENGTH(RTRIM(${c}, ' '))`).join('\n    OR ')}`,
  ].join('\n');
}
