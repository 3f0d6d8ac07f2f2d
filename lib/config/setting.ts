/** Reading one setting from the environment (or a settings file layered into it). */

/** A setting's value, trimmed; unset or blank: undefined. */
export function setting(env: Readonly<Record<string, string | undefined>>, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}
