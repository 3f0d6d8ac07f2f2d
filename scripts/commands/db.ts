/**
 * npm run db -- start|stop|url: keep the embedded PostgreSQL up for psql or a BI
 * tool (127.0.0.1 only; password generated once, kept in the git-ignored folder).
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { startAndKeep, withLeaseBook, STOP_WHEN_UNUSED } from '../../lib/db/embedded-lease.ts';
import { connectionUrl, embeddedStatus, stopEmbeddedServer } from '../../lib/db/embedded-postgres.ts';
import { ConfigError } from '../../lib/errors.ts';
import { commonOptions, print, runCommand, setup, type CommonArgs } from './common.ts';

interface DbArgs extends CommonArgs {
  action: 'start' | 'stop' | 'url' | 'status';
}

export const dbCommand: CommandModule<object, DbArgs> = {
  command: 'db <action>',
  describe: 'Start, stop or locate the embedded PostgreSQL',
  builder: (y) =>
    commonOptions(y as Argv<object>).positional('action', {
      choices: ['start', 'stop', 'url', 'status'] as const,
      demandOption: true,
      describe: 'start: keep it running; stop; url: print its connection string (with its password); status',
    }) as unknown as Argv<DbArgs>,
  handler: (args) =>
    runCommand(args, async () => {
      const { config, log } = setup(args);
      if (config.database.kind !== 'embedded') {
        throw new ConfigError([
          'DATABASE_URL or PGHOST is set: the embedded PostgreSQL is not in use (connect to your own server directly)',
        ]);
      }
      const dir = config.database.dir;
      switch (args.action) {
        case 'start': {
          const server = await startAndKeep(dir, log);
          log.info(
            server.startedHere
              ? 'The embedded PostgreSQL is running; `npm run db -- stop` stops it.'
              : 'The embedded PostgreSQL was already running; it now stays up until `npm run db -- stop`.',
          );
          // The password is not printed here (a terminal's scrollback, a CI log): `db url` prints it, on purpose.
          print(connectionUrl({ ...server.connection, password: '***' }).replace('%2A%2A%2A', '***'));
          log.info('`npm run db -- url` prints the connection string with its password (for psql or a BI tool).');
          return;
        }
        case 'stop': {
          const status = await embeddedStatus(dir);
          if (!status.running || !status.connection || !status.dataDir) {
            log.info('The embedded PostgreSQL is not running.');
            return;
          }
          const server = { connection: status.connection, dataDir: status.dataDir };
          await withLeaseBook(dir, async () => {
            await stopEmbeddedServer(server, log, true);
            await rm(path.join(dir, STOP_WHEN_UNUSED), { force: true });
          });
          log.info('Stopped.');
          return;
        }
        case 'url':
        case 'status': {
          const status = await embeddedStatus(dir);
          if (!status.running || !status.connection) {
            print('not running (npm run db -- start)');
            return args.action === 'url' ? 1 : 0;
          }
          // The connection string is this command's result: it holds the local password on purpose.
          print(
            args.action === 'url'
              ? connectionUrl(status.connection)
              : `running on 127.0.0.1:${status.connection.port} (data in ${status.dataDir})`,
          );
          return;
        }
        default: {
          const never: never = args.action;
          throw new Error(`unknown action ${String(never)}`);
        }
      }
    }),
};
