// Helpers for reading directive arguments with errors that point at the token (file:line:col).
import { type Directive, type Token, errorAt } from '../corefile/index.ts';
import { canonicalName } from '../dns/name.ts';

export function fail(token: Token, what: string, hint?: string): never {
  throw errorAt(token, what, hint);
}

export function noArgs(d: Directive): void {
  if (d.args.length > 0) fail(d.args[0]!, `${d.name.text} takes no arguments`);
}

export function noBlock(d: Directive): void {
  if (d.block) fail(d.name, `${d.name.text} takes no block`);
}

export function maxArgs(d: Directive, n: number, usage: string): void {
  if (d.args.length > n) fail(d.args[n]!, `too many arguments for ${d.name.text}`, `usage: ${usage}`);
}

/**
 * A block option's arguments (no block of its own), between `min` and `max` of them, else a
 * config error with `usage` as the hint.
 */
export function optionArgs(x: Directive, min: number, max: number, usage: string): Token[] {
  noBlock(x);
  if (x.args.length < min) fail(x.name, `${x.name.text} needs ${min === max ? min : `at least ${min}`} argument${min === 1 ? '' : 's'}`, `usage: ${usage}`);
  if (x.args.length > max) fail(x.args[max]!, `too many arguments for ${x.name.text}`, `usage: ${usage}`);
  return x.args;
}

export function parseIntArg(t: Token, min: number, max: number): number {
  if (!/^-?\d+$/.test(t.text)) fail(t, `expected a whole number, got '${t.text}'`);
  const n = Number(t.text);
  if (n < min || n > max) fail(t, `${n} is out of range`, `use a value from ${min} to ${max}`);
  return n;
}

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go-style duration ("5s", "1m30s", "250ms") -> milliseconds. */
export function parseDuration(t: Token): number {
  const text = t.text;
  if (text === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let at = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * UNITS[m[2]!]!;
    at = re.lastIndex;
  }
  if (at === 0 || at !== text.length) fail(t, `'${text}' is not a duration`, 'write it like 5s, 250ms or 1m30s');
  return total;
}

/** Zones given as arguments, made absolute; defaults to the server block's zones. */
export function zonesArg(tokens: Token[], blockZones: string[]): string[] {
  if (tokens.length === 0) return blockZones;
  return tokens.map((t) => canonicalName(t.text));
}

/** Walks a directive's `{ }` block, calling the handler for each known option. */
export function eachOption(d: Directive, options: Record<string, (o: Directive) => void>): void {
  for (const o of d.block ?? []) {
    const handle = options[o.name.text];
    if (!handle) {
      const known = Object.keys(options);
      fail(o.name, `unknown option '${o.name.text}' for ${d.name.text}`, known.length ? `known options: ${known.join(', ')}` : `${d.name.text} takes no options`);
    }
    handle(o);
  }
}
