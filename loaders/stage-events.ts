// staging_events: every log event from LOG_DATA (JSON Lines, camelCase keys),
// mapped by position with the LOG_JSONPATH file (or 'auto' / 'auto ignorecase').
import { loaderFile, type StagingStep } from '../lib/load/steps.ts';

export const stageEvents: StagingStep = {
  table: 'staging_events',
  file: loaderFile(import.meta.url),
  description: 'log events from LOG_DATA',
  columns: [
    'artist',
    'auth',
    'first_name',
    'gender',
    'item_in_session',
    'last_name',
    'length',
    'level',
    'location',
    'method',
    'page',
    'registration',
    'session_id',
    'song',
    'status',
    'ts',
    'user_agent',
    'user_id',
  ],
  // ts becomes songplays' and time's start_time.
  epochMsColumns: ['ts'],
  // Their trailing blanks are dropped when staging (docs/redshift.md, "Where the engines differ": trailing blanks).
  varcharColumns: [
    'artist',
    'auth',
    'first_name',
    'gender',
    'last_name',
    'level',
    'location',
    'method',
    'page',
    'song',
    'user_agent',
  ],
  // What songplays, users and time filter, join and group on.
  predicateColumns: ['page', 'user_id', 'session_id', 'ts', 'song', 'artist', 'length'],
  source: (s) => s.logData,
  format: (s) => s.logJsonPath,
  settings: { source: 'LOG_DATA', format: 'LOG_JSONPATH' },
};
