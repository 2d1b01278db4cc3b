// The `{{ ... }}` of template's records, compiled at setup into literal text and fields. CoreDNS
// runs Go's text/template; kdns takes the forms its README documents and people write:
// {{ .Name }} {{ .Zone }} {{ .Class }} {{ .Type }} {{ .Remote }} {{ .Group.NAME }} and
// {{ index .Match N }}. Anything else is a configuration error, not a silent empty string.

export type Part =
  | { kind: 'text'; text: string }
  | { kind: 'field'; field: 'name' | 'zone' | 'class' | 'type' | 'remote' }
  | { kind: 'group'; group: string }
  | { kind: 'match'; index: number };

export interface TemplateData {
  name: string;
  zone: string;
  class: string;
  type: string;
  remote: string;
  match: RegExpExecArray;
}

const FIELDS: Record<string, 'name' | 'zone' | 'class' | 'type' | 'remote'> = {
  '.Name': 'name', '.Zone': 'zone', '.Class': 'class', '.Type': 'type', '.Remote': 'remote',
};

/** Compiles `text`; throws with a message naming the first unsupported action. */
export function compileTemplate(text: string): Part[] {
  const parts: Part[] = [];
  let at = 0;
  for (const m of text.matchAll(/\{\{-?\s*(.*?)\s*-?\}\}/g)) {
    if (m.index! > at) parts.push({ kind: 'text', text: text.slice(at, m.index) });
    at = m.index! + m[0].length;
    const action = m[1]!;
    const field = FIELDS[action];
    let g: RegExpExecArray | null;
    if (field) parts.push({ kind: 'field', field });
    else if ((g = /^\.Group\.(\w+)$/.exec(action))) parts.push({ kind: 'group', group: g[1]! });
    else if ((g = /^index\s+\.Match\s+(\d+)$/.exec(action))) parts.push({ kind: 'match', index: Number(g[1]) });
    else throw new Error(`'{{ ${action} }}' is not a template field kdns knows`);
  }
  if (at < text.length) parts.push({ kind: 'text', text: text.slice(at) });
  return parts;
}

export function expand(parts: Part[], d: TemplateData): string {
  let s = '';
  for (const p of parts) {
    if (p.kind === 'text') s += p.text;
    else if (p.kind === 'field') s += d[p.field];
    else if (p.kind === 'group') s += d.match.groups?.[p.group] ?? '';
    else s += d.match[p.index] ?? '';
  }
  return s;
}

/** Splits an expanded record into zone-file words: `"..."` is one word (its content). */
export function recordWords(line: string): string[] {
  const words: string[] = [];
  for (const m of line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) words.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!);
  return words;
}

/** Go's RE2 named groups `(?P<name>...)` in JavaScript's spelling. */
export function jsRegex(source: string): RegExp {
  return new RegExp(source.replace(/\(\?P</g, '(?<'));
}
