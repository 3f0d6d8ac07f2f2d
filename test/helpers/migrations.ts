/**
 * How many migrations migrations/ holds, for the tests that count applied
 * migrations: a new migration changes no test. Read once, when a test file
 * imports it (its top-level await finishes before the file declares its tests).
 */
import { migrationNames } from '../../lib/migrate/migrate.ts';

export const MIGRATIONS = (await migrationNames()).length;
