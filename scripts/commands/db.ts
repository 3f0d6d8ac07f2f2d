/**
 * npm run db -- start|stop|url: keep the embedded PostgreSQL up for psql or a BI
 * tool (127.0.0.1 only; password generated once, kept in the git-ignored folder).
 */
import type { Argv, CommandModule } from 'yargs';
import { connectionUrl, embeddedStatus, ensureEmbeddedServer, stopEmbeddedServer } from '../../lib/db/embedded-postgres.ts';
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
        throw new ConfigError(['DATABASE_URL or PGHOST is set: the embedded PostgreSQL is not in use (connect to your own server directly)']);
      }
      const dir = config.database.dir;
      switch (args.action) {
        case 'start': {
          const server = await ensureEmbeddedServer(dir, log);
          log.info(server.startedHere ? 'The embedded PostgreSQL is running; `npm run db -- stop` stops it.' : 'The embedded PostgreSQL was already running.');
          print(connectionUrl(server.connection));
          return;
        }
        case 'stop': {
          const status = await embeddedStatus(dir);
          if (!status.running || !status.connection || !status.dataDir) {
            log.info('The embedded PostgreSQL is not running.');
            return;
          }
          await stopEmbeddedServer({ connection: status.connection, dataDir: status.dataDir, startedHere: true }, log, true);
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
          print(args.action === 'url' ? connectionUrl(status.connection) : `running on 127.0.0.1:${status.connection.port} (data in ${status.dataDir})`);
          return;
        }
        default: {
          const never: never = args.action;
          throw new Error(`unknown action ${String(never)}`);
        }
      }
    }),
};
