// RFC 1035 master files (5.1): `$ORIGIN`, `$TTL` (RFC 2308 4), `$INCLUDE`, comments, records
// spread over lines with parentheses, quoted strings, a blank owner meaning the previous one,
// and BIND's TTL units (1h30m). Hand-written rather than a library: every error must name the
// file and line, and the records go to the same parser as the Corefile's inline ones
// (src/dns/rr-text.ts). Off the hot path: read at start-up and on reload.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { RRTextError, absoluteName, parseRRText } from '../../dns/rr-text.ts';
import { isSubdomain } from '../../dns/name.ts';
import type { RR } from '../../table/entry.ts';

export class ZoneFileError extends Error {
  readonly file: string;
  readonly line: number;
  readonly hint: string | undefined;
  constructor(file: string, line: number, message: string, hint?: string) {
    super(`${file}:${line}: ${message}`);
    this.file = file;
    this.line = line;
    this.hint = hint;
  }
}

const DEFAULT_TTL = 3600;
const MAX_INCLUDE_DEPTH = 8;
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

interface Entry {
  line: number;
  /** The line began with a blank: the owner is the previous record's. */
  blankOwner: boolean;
  words: string[];
}

/** `3600`, `1h`, `1h30m`, `2w` -> seconds; null when it is not a TTL. */
export function ttlSeconds(word: string): number | null {
  if (/^\d+$/.test(word)) return Number(word);
  if (!/^(\d+[smhdw])+$/i.test(word)) return null;
  let total = 0;
  for (const m of word.toLowerCase().matchAll(/(\d+)([smhdw])/g)) total += Number(m[1]) * UNIT_SECONDS[m[2]!]!;
  return total;
}

/** Splits a master file into entries (one per record or directive, parentheses joined). */
function entries(text: string, file: string): Entry[] {
  const out: Entry[] = [];
  let words: string[] = [];
  let word: string | null = null;
  let line = 1;
  let startLine = 1;
  let blankOwner = false;
  let atLineStart = true;
  let depth = 0;
  const endWord = (): void => {
    if (word !== null) words.push(word);
    word = null;
  };
  const endEntry = (): void => {
    endWord();
    if (words.length > 0) out.push({ line: startLine, blankOwner, words });
    words = [];
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (atLineStart && depth === 0) {
      startLine = line;
      blankOwner = c === ' ' || c === '\t';
      atLineStart = false;
    }
    if (c === '"') {
      endWord();
      let s = '';
      let j = i + 1;
      for (; j < text.length && text[j] !== '"'; j++) {
        if (text[j] === '\n') throw new ZoneFileError(file, line, 'a quoted string runs past the end of the line', 'close it with "');
        if (text[j] === '\\' && j + 1 < text.length) {
          const d = /^\d{3}/.exec(text.slice(j + 1, j + 4));
          if (d) {
            s += String.fromCharCode(Number(d[0]));
            j += 3;
          } else s += text[++j];
        } else s += text[j];
      }
      if (j >= text.length) throw new ZoneFileError(file, line, 'a quoted string is not closed', 'close it with "');
      words.push(s);
      i = j;
      continue;
    }
    if (c === ';') {
      while (i + 1 < text.length && text[i + 1] !== '\n') i++;
      continue;
    }
    if (c === '(') {
      endWord();
      depth++;
      continue;
    }
    if (c === ')') {
      endWord();
      if (depth === 0) throw new ZoneFileError(file, line, "')' without '('");
      depth--;
      continue;
    }
    if (c === '\n') {
      line++;
      atLineStart = true;
      if (depth === 0) endEntry();
      else endWord();
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      endWord();
      continue;
    }
    word = (word ?? '') + c;
  }
  if (depth > 0) throw new ZoneFileError(file, startLine, "'(' is not closed", "end the record with ')'");
  endEntry();
  return out;
}

/**
 * The records of the zone `origin` (canonical) in `path`. Names outside the zone, a missing SOA
 * at the apex, and any line that does not parse are errors with the file and line.
 */
export function readZoneFile(path: string, origin: string): RR[] {
  const records: RR[] = [];
  include(path, records, { zone: origin, origin, ttl: null, lastTtl: null, owner: null }, 0);
  if (zoneSoa(records, origin) === undefined) throw new ZoneFileError(path, 1, `no SOA record at ${origin}`, 'a zone starts with its SOA: @ IN SOA ns.example.org. hostmaster.example.org. 1 7200 1800 86400 300');
  return records;
}

/** The zone's SOA among its records (at its apex). */
export function zoneSoa(records: RR[], zone: string): RR | undefined {
  return records.find((r) => r.type === 'SOA' && r.name === zone);
}

interface ParseState {
  /** The zone being read: every record must be inside it. */
  zone: string;
  origin: string;
  /** `$TTL`, if given. */
  ttl: number | null;
  /** The last TTL written on a record (RFC 1035: the default without `$TTL`). */
  lastTtl: number | null;
  owner: string | null;
}

function include(path: string, records: RR[], state: ParseState, depth: number): void {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ZoneFileError(path, 1, `cannot read it: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'check the path and the permissions');
  }
  for (const e of entries(text, path)) {
    const [first, ...rest] = e.words;
    const directive = e.blankOwner ? '' : first!.toUpperCase();
    if (directive === '$ORIGIN') {
      if (rest.length !== 1) throw new ZoneFileError(path, e.line, '$ORIGIN needs one name');
      state.origin = absoluteName(rest[0]!, state.origin);
      continue;
    }
    if (directive === '$TTL') {
      const t = rest.length === 1 ? ttlSeconds(rest[0]!) : null;
      if (t === null) throw new ZoneFileError(path, e.line, '$TTL needs one TTL', 'e.g. $TTL 3600 or $TTL 1h');
      state.ttl = t;
      continue;
    }
    if (directive === '$INCLUDE') {
      if (rest.length < 1 || rest.length > 2) throw new ZoneFileError(path, e.line, '$INCLUDE needs a file and, optionally, an origin');
      if (depth >= MAX_INCLUDE_DEPTH) throw new ZoneFileError(path, e.line, `$INCLUDE nested more than ${MAX_INCLUDE_DEPTH} deep`, 'is a file including itself?');
      // RFC 1035 5.1: the included file starts from the origin given (or the current one), and
      // the including file's origin is unchanged after it.
      const saved = state.origin;
      if (rest[1]) state.origin = absoluteName(rest[1], state.origin);
      include(resolve(dirname(path), rest[0]!), records, state, depth + 1);
      state.origin = saved;
      continue;
    }
    if (directive.startsWith('$')) throw new ZoneFileError(path, e.line, `unknown directive ${first}`, 'known: $ORIGIN, $TTL, $INCLUDE');
    const words = e.blankOwner ? [state.owner ?? '', ...e.words] : [...e.words];
    if (e.blankOwner && state.owner === null) throw new ZoneFileError(path, e.line, 'a record without an owner name before any owner', 'start the line with a name or @');
    // TTLs with units, and the TTL to give a record that has none.
    let explicit: number | null = null;
    for (let k = 1; k <= 2 && k < words.length; k++) {
      const t = ttlSeconds(words[k]!);
      if (t !== null && /[smhdw]$/i.test(words[k]!)) words[k] = String(t);
      if (t !== null) explicit = t;
    }
    let rr: RR;
    try {
      rr = parseRRText(words, state.origin, state.ttl ?? state.lastTtl ?? DEFAULT_TTL);
    } catch (err) {
      if (err instanceof RRTextError) throw new ZoneFileError(path, e.line, `${err.message} (in '${e.words.join(' ')}')`);
      throw err;
    }
    if (!isSubdomain(rr.name, state.zone)) throw new ZoneFileError(path, e.line, `${rr.name} is outside the zone ${state.zone}`, 'out-of-zone records are not served; remove it or serve its zone');
    if (explicit !== null) state.lastTtl = explicit;
    state.owner = rr.name;
    records.push(rr);
  }
}
