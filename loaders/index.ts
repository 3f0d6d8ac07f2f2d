// The load, in order: staging (both tables in one transaction), then the star
// tables, each in its own transaction. transformSteps is the order of a
// script (--dry-run); transformLanes is how `load` runs them: the lanes at the
// same time on their own connections, each lane in order. songplays waits for
// songs and artists (it matches against the songs loaded before); users and
// time read only staging_events.
import { artists } from './artists.ts';
import { songplays } from './songplays.ts';
import { songs } from './songs.ts';
import { stageEvents } from './stage-events.ts';
import { stageSongs } from './stage-songs.ts';
import { time } from './time.ts';
import { users } from './users.ts';

export const stagingSteps = [stageEvents, stageSongs] as const;
export const transformSteps = [users, songs, artists, songplays, time] as const;
export const transformLanes = [
  [songs, artists, songplays],
  [users, time],
] as const;
