// Command-line parsing shared by the bench scripts: every one takes -h/--help for its usage text,
// and a numeric flag that is not a number stops the run instead of measuring with NaN.

import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';

const HELP = { help: { type: 'boolean', short: 'h' } } as const;

type CliValues<O extends ParseArgsOptionsConfig> = ReturnType<typeof parseArgs<{ options: O & typeof HELP; args: string[]; allowNegative: boolean }>>['values'];

/** parseArgs() with -h/--help added: prints `usage` and returns null when help was asked for. */
export function parseCli<const O extends ParseArgsOptionsConfig>(
  usage: string,
  options: O,
  config: { args?: string[]; allowNegative?: boolean } = {},
): CliValues<O> | null {
  const { values } = parseArgs({ ...config, options: { ...options, ...HELP } });
  if ((values as { help?: boolean }).help) {
    console.log(usage);
    return null;
  }
  return values as CliValues<O>;
}

/** The number a flag was given, undefined when it was not; throws on anything else. */
export function numberArg(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const n = Number(s);
  if (!Number.isFinite(n)) throw new Error(`not a number: ${s}`);
  return n;
}
