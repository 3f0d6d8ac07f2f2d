/**
 * How the settings files join the environment, as one rule for every library
 * the tool drives (pg, the AWS SDK, loadConfig): the command line puts what
 * this returns into process.env before any client is created, so a setting in
 * a file means the same as the variable in the environment.
 *
 * Precedence: the process environment, then the files in the order given (the
 * CLI gives the --config / SPARKIFY_CONFIG file first, since it was named
 * explicitly, then .env). An empty value means "the default", as in
 * .env.example: it neither sets a variable nor hides a file's value.
 */

type Env = Readonly<Record<string, string | undefined>>;

export interface SettingsFile {
  /** The file as the user named it (for messages). */
  readonly file: string;
  readonly settings: Readonly<Record<string, string>>;
}

export interface Layered {
  /** Variables to add to the environment (none of them set there). */
  readonly add: Readonly<Record<string, string>>;
  /** A file's value hidden by a file that comes first, when the two differ. */
  readonly notes: readonly string[];
}

const isSet = (v: string | undefined): v is string => v !== undefined && v.trim() !== '';

export function layerSettings(env: Env, files: readonly SettingsFile[]): Layered {
  const add: Record<string, string> = {};
  const from: Record<string, string> = {};
  const notes: string[] = [];
  for (const { file, settings } of files) {
    for (const [name, value] of Object.entries(settings)) {
      if (!isSet(value) || isSet(env[name])) continue;
      const taken = add[name];
      if (taken === undefined) {
        add[name] = value;
        from[name] = file;
      } else if (taken !== value) {
        notes.push(`${name} is set in both ${from[name]} and ${file}: ${from[name]}'s value is used`);
      }
    }
  }
  return { add, notes };
}
