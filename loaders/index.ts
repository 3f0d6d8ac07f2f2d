// The load's steps, registered once: staging (both tables in one transaction),
// then the star tables, each in its own transaction, in this order in a
// script (--dry-run). How `load` runs them at the same time (lanes), the
// --only choices, the verify checks and the table lists are derived from each
// step's declarations (lib/load/steps.ts): a new star table is one migration,
// one loader file and one line here.
import { definePipeline } from '../lib/load/steps.ts';
import { artists } from './artists.ts';
import { songplays } from './songplays.ts';
import { songs } from './songs.ts';
import { stageEvents } from './stage-events.ts';
import { stageSongs } from './stage-songs.ts';
import { time } from './time.ts';
import { userLevels } from './user-levels.ts';
import { users } from './users.ts';

export const pipeline = definePipeline({
  staging: [stageEvents, stageSongs],
  transforms: [users, songs, artists, songplays, time, userLevels],
});
