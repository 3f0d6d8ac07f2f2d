/**
 * Starts the Redshift Data API stand-in by hand (the tests start it the same
 * way, test/helpers/data-api.ts):
 *
 *   npx tsx scripts/dev/data-api-stand-in.ts --postgres postgres://USER:PW@127.0.0.1:5432/postgres [--port 8787] [--page-rows 1000]
 *     [--last-copy-id-reading not-updated|updated]
 *
 * It prints `AWS_ENDPOINT_URL_REDSHIFT_DATA=http://127.0.0.1:PORT` on stdout
 * once it listens, and runs until SIGINT/SIGTERM. `DATABASE_URL=redshift-data://wg/DB`
 * then runs every statement in the PostgreSQL database DB of that server
 * (create it first); COPY reads S3 through AWS_ENDPOINT_URL_S3 (s3rver,
 * MinIO) with the stand-in's own AWS credentials. See docs/testing.md, "The Redshift Data API stand-in".
 */
import { parseArgs } from 'node:util';
import { startDataApiStandIn } from '../../test/support/data-api-stand-in/server.ts';

const { values } = parseArgs({
  options: {
    postgres: { type: 'string', default: process.env['STAND_IN_POSTGRES_URL'] ?? process.env['TEST_DATABASE_URL'] },
    port: { type: 'string', default: '0' },
    'page-rows': { type: 'string', default: '1000' },
    'last-copy-id-reading': { type: 'string', default: 'not-updated' },
  },
});
if (!values.postgres) {
  process.stderr.write('data-api-stand-in: --postgres URL (or STAND_IN_POSTGRES_URL) is required\n');
  process.exit(2);
}
const reading = values['last-copy-id-reading'];
if (reading !== 'updated' && reading !== 'not-updated') {
  process.stderr.write('data-api-stand-in: --last-copy-id-reading is updated or not-updated\n');
  process.exit(2);
}
const standIn = await startDataApiStandIn({
  postgresUrl: values.postgres,
  port: Number(values.port),
  pageRows: Number(values['page-rows']),
  lastCopyIdReading: reading,
});
process.stdout.write(`AWS_ENDPOINT_URL_REDSHIFT_DATA=${standIn.endpoint}\n`);
const stop = () => void standIn.close().finally(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
