// resolv.conf files as miekg/dns's ClientConfigFromFile reads them: forward takes its upstreams
// from the `nameserver` lines, autopath its search path from the `search` (or `domain`) line.
import { readFileSync } from 'node:fs';
import { canonicalName } from '../dns/name.ts';

export interface ResolvConfLine {
  /** The line's words, comments (`#`, `;`) left out. */
  words: string[];
  /** 1-based line number, for error messages. */
  line: number;
}

/** The file's lines, or the reason it cannot be read (an errno code such as ENOENT). */
export function readResolvConfFile(path: string): { lines: ResolvConfLine[] } | { error: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return { error: (err as NodeJS.ErrnoException).code ?? (err as Error).message };
  }
  return { lines: text.split('\n').map((l, i) => ({ words: l.replace(/[#;].*$/, '').trim().split(/\s+/), line: i + 1 })) };
}

/** The search domains (canonical): the last `search` or `domain` line wins. */
export function searchDomains(lines: ResolvConfLine[]): string[] {
  let out: string[] = [];
  for (const { words } of lines) {
    if ((words[0] === 'search' || words[0] === 'domain') && words.length > 1) out = words.slice(1).map(canonicalName);
  }
  return out;
}
