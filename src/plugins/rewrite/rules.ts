// rewrite's rules as setup writes them for the workers (plain data), and the name matching they
// share. A name is matched in its text form, lower case with the trailing dot (`www.a.test.`),
// as CoreDNS matches `state.Name()`.

export type NameMatch = 'exact' | 'prefix' | 'suffix' | 'substring' | 'regex';

export interface NameRule {
  field: 'name';
  match: NameMatch;
  /** exact/suffix: a full name or suffix, normalised; prefix/substring: as written; regex: the pattern. */
  from: string;
  /** The replacement; for regex with {1}..{9} for the groups. */
  to: string;
  stop: boolean;
  /** `answer auto`: answer names equal to the rewritten name get the client's name back. */
  answerAuto: boolean;
  /** `answer name FROM TO` (regex): owner names of answer records. */
  answerName: Array<[string, string]>;
  /** `answer value FROM TO` (regex): names inside answer records (CNAME, PTR, NS, MX, SRV). */
  answerValue: Array<[string, string]>;
}

export interface TypeRule {
  field: 'type' | 'class';
  from: number;
  to: number;
  stop: boolean;
}

export interface TtlRule {
  field: 'ttl';
  match: NameMatch;
  from: string;
  min: number;
  max: number;
  stop: boolean;
}

/** `rcode`: a response code of the answer replaced by another, for names that match. */
export interface RcodeRule {
  field: 'rcode';
  match: NameMatch;
  from: string;
  fromCode: number;
  toCode: number;
  stop: boolean;
}

export type Edns0Action = 'set' | 'append' | 'replace';

/**
 * `edns0`: an option of the query's OPT record set, added or replaced for the plugins after
 * rewrite (forward sends it upstream). Every query is a candidate; the rule counts as matched
 * (for stop/continue) when it changed something, as CoreDNS's RewriteDone.
 */
export interface Edns0Rule {
  field: 'edns0';
  option: 'local' | 'nsid' | 'subnet';
  action: Edns0Action;
  /** The option code: local's CODE, 3 for nsid (RFC 5001), 8 for subnet (RFC 7871). */
  code: number;
  /** local with a fixed value: its bytes. */
  data: number[];
  /** local with a variable: `qname`, `client_ip`, ... or a metadata label, without braces. */
  variable: string | null;
  /** subnet: the prefix lengths kept of IPv4 and IPv6 client addresses. */
  v4: number;
  v6: number;
  stop: boolean;
}

export type RuleSpec = NameRule | TypeRule | TtlRule | RcodeRule | Edns0Rule;

/** `{1}`..`{9}` in `to` replaced by the regex groups (CoreDNS's syntax). */
export function expandGroups(to: string, groups: RegExpExecArray): string {
  return to.replace(/\{(\d)\}/g, (_, d: string) => groups[Number(d)] ?? '');
}

/** Lower case with a trailing dot: how names are compared and written. */
export function fqdn(name: string): string {
  const n = name.toLowerCase();
  return n.endsWith('.') ? n : `${n}.`;
}

/** The rewritten name when `rule` matches `name` (text form), else null. */
export function rewriteName(rule: { match: NameMatch; from: string; to: string }, name: string, regex: RegExp | null): string | null {
  switch (rule.match) {
    case 'exact':
      return name === rule.from ? rule.to : null;
    case 'prefix':
      return name.startsWith(rule.from) ? fqdn(rule.to + name.slice(rule.from.length)) : null;
    case 'suffix':
      return name.endsWith(rule.from) ? fqdn(name.slice(0, name.length - rule.from.length) + rule.to) : null;
    case 'substring':
      return name.includes(rule.from) ? fqdn(name.replaceAll(rule.from, rule.to)) : null;
    case 'regex': {
      const m = regex!.exec(name);
      return m === null ? null : fqdn(expandGroups(rule.to, m));
    }
  }
}

/** Does `rule` match `name` at all (the ttl rule's test)? */
export function nameMatches(rule: { match: NameMatch; from: string }, name: string, regex: RegExp | null): boolean {
  switch (rule.match) {
    case 'exact': return name === rule.from;
    case 'prefix': return name.startsWith(rule.from);
    case 'suffix': return name.endsWith(rule.from);
    case 'substring': return name.includes(rule.from);
    case 'regex': return regex!.test(name);
  }
}
