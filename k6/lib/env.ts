// The k6 scripts' settings from their environment (`k6 run -e NAME=value`, k6's __ENV): an unset
// or empty variable takes the default, and a number that is not one stops the script before any
// load starts. No k6 or Node API: the scripts pass __ENV in, the tests a plain object.

export interface EnvSettings {
  /** The variable, or `fallback` when it is unset or empty. */
  env(name: string, fallback: string): string;
  /** The variable as a number, or `fallback`; throws when it is not a finite number. */
  envNum(name: string, fallback: number): number;
}

export function envSettings(vars: Readonly<Record<string, string | undefined>>): EnvSettings {
  const env = (name: string, fallback: string): string => {
    const v = vars[name];
    return v === undefined || v === '' ? fallback : v;
  };
  const envNum = (name: string, fallback: number): number => {
    const n = Number(env(name, String(fallback)));
    if (!Number.isFinite(n)) throw new Error(`${name} must be a number`);
    return n;
  };
  return { env, envNum };
}
