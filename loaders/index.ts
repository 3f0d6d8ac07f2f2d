// The load, in order: staging (both tables in one transaction), then the star
// tables, each in its own transaction. Dimensions first; time after songplays.
import { artists } from './artists.ts';
import { songplays } from './songplays.ts';
import { songs } from './songs.ts';
import { stageEvents } from './stage-events.ts';
import { stageSongs } from './stage-songs.ts';
import { time } from './time.ts';
import { users } from './users.ts';

export const stagingSteps = [stageEvents, stageSongs] as const;
export const transformSteps = [users, songs, artists, songplays, time] as const;
