// /etc/hosts parsing as CoreDNS's hosts plugin does it (plugin/hosts/hostsfile.go, itself from
// Go's net/hosts.go), and the table entries the answers come from. Runs on the primary only.
//
// A line is `ADDRESS NAME...`; `#` starts a comment; fields are split on blanks. In a file,
// lines that cannot be used (one field, an address that does not parse) are skipped, as in
// CoreDNS; the Corefile's inline lines are checked strictly by setup instead.
import { isIP } from 'node:net';
import { QTYPE } from '../../dns/constants.ts';
import { MAX_LABEL, MAX_NAME_WIRE, canonicalName, isSubdomain, nameToWire } from '../../dns/name.ts';
import { type RR, type VariantSpec, encodeEntry } from '../../table/entry.ts';
import { QTYPE_DEFAULT } from '../../table/layout.ts';

export interface Address {
  family: 4 | 6;
  /** Presentation form for the A/AAAA record. */
  text: string;
  /** The in-addr.arpa / ip6.arpa name (PTR owner). */
  reverse: string;
}

/**
 * Parses a hosts-file address as Go's net.ParseIP does (an IPv6 zone `%eth0` is dropped).
 * IPv4-mapped IPv6 addresses (`::ffff:10.0.0.2`) are IPv4, as CoreDNS treats them (To4()).
 */
export function parseAddress(field: string): Address | null {
  const pct = field.indexOf('%');
  const text = pct >= 0 ? field.slice(0, pct) : field;
  const kind = isIP(text);
  if (kind === 4) return v4(text.split('.').map(Number));
  if (kind !== 6) return null;
  const bytes = v6Bytes(text);
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return v4(bytes.slice(12));
  const groups: string[] = [];
  for (let g = 0; g < 8; g++) groups.push(((bytes[2 * g]! << 8) | bytes[2 * g + 1]!).toString(16));
  const nibbles = bytes.flatMap((b) => [b >> 4, b & 15]).reverse().map((n) => n.toString(16));
  return { family: 6, text: groups.join(':'), reverse: `${nibbles.join('.')}.ip6.arpa.` };
}

function v4(octets: number[]): Address {
  return { family: 4, text: octets.join('.'), reverse: `${[...octets].reverse().join('.')}.in-addr.arpa.` };
}

/** The 16 bytes of an IPv6 address already checked by isIP (a dotted-quad tail included). */
function v6Bytes(text: string): number[] {
  let t = text;
  const lastColon = t.lastIndexOf(':');
  if (t.indexOf('.', lastColon) >= 0) {
    const q = t.slice(lastColon + 1).split('.').map(Number);
    t = `${t.slice(0, lastColon + 1)}${((q[0]! << 8) | q[1]!).toString(16)}:${((q[2]! << 8) | q[3]!).toString(16)}`;
  }
  const [head, tail] = t.includes('::') ? (t.split('::') as [string, string]) : [t, null];
  const h = head ? head.split(':') : [];
  const rest = tail ? tail.split(':') : [];
  const groups = tail === null ? h : [...h, ...new Array<string>(8 - h.length - rest.length).fill('0'), ...rest];
  return groups.flatMap((g) => {
    const n = parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
}

/** A name as CoreDNS keys it (lower case, fully qualified), or null when it is not a DNS name. */
export function hostName(field: string): string | null {
  const name = canonicalName(field);
  // Label lengths checked in place (a blocklist has 10^5 names); non-ASCII the slow way.
  let label = 0;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c > 0x7f) return validWire(name) ? name : null;
    if (c !== 0x2e) label++;
    else if ((label === 0 && name !== '.') || label > MAX_LABEL) return null;
    else label = 0;
  }
  return name.length + 1 <= MAX_NAME_WIRE ? name : null;
}

function validWire(name: string): boolean {
  try {
    nameToWire(name);
    return true;
  } catch {
    return false;
  }
}

/** Owner names of the form `*.rest`: they match one more label below `rest` (recent CoreDNS). */
export const isWildcard = (name: string): boolean => name.startsWith('*.');

/** `a.b.c.` -> `*.b.c.`; '' for names of one label (CoreDNS's replaceWithAsteriskLabel). */
function asteriskOf(name: string): string {
  const dot = name.indexOf('.');
  return dot < 0 || dot === name.length - 1 ? '' : `*.${name.slice(dot + 1)}`;
}

/** What one source (the file, or the inline lines) says. Sets, as a blocklist maps 10^5 names to one address. */
export class HostsMap {
  readonly v4 = new Map<string, Set<string>>();
  readonly v6 = new Map<string, Set<string>>();
  /** Reverse name -> host names (PTR targets), unless no_reverse. */
  readonly ptr = new Map<string, Set<string>>();
  private readonly zones: string[];
  private readonly reverse: boolean;
  private hasWildcards = false;

  constructor(zones: string[], reverse: boolean) {
    this.zones = zones;
    this.reverse = reverse;
  }

  /** True when `name` (canonical) is inside one of the plugin's zones. */
  inZones(name: string): boolean {
    return this.zones.some((z) => isSubdomain(name, z));
  }

  /** Adds one address with its names; names outside the zones are left out, as in CoreDNS. */
  add(addr: Address, names: string[]): void {
    for (const name of names) {
      if (!this.inZones(name)) continue;
      add(addr.family === 4 ? this.v4 : this.v6, name, addr.text);
      // Wildcard owners get no PTR (CoreDNS: "Wildcard entries do not generate PTR records").
      if (isWildcard(name)) this.hasWildcards = true;
      else if (this.reverse) add(this.ptr, addr.reverse, name);
    }
  }

  /** Reads hosts-file text leniently: unusable lines and names are skipped. */
  addText(text: string): void {
    const addresses = new Map<string, Address | null>();
    for (let line of text.split('\n')) {
      const hash = line.indexOf('#');
      if (hash >= 0) line = line.slice(0, hash);
      const fields = line.split(/[ \t\r\v\f]+/).filter((f) => f !== '');
      if (fields.length < 2) continue;
      let addr = addresses.get(fields[0]!);
      if (addr === undefined) addresses.set(fields[0]!, (addr = parseAddress(fields[0]!)));
      if (!addr) continue;
      const names: string[] = [];
      for (const f of fields.slice(1)) {
        const n = hostName(f);
        if (n !== null) names.push(n);
      }
      this.add(addr, names);
    }
  }

  /**
   * Addresses of one family for `name`, as CoreDNS looks them up: the name's own, else those
   * of the wildcard one label up.
   */
  lookup(family: 4 | 6, name: string): Iterable<string> {
    const m = family === 4 ? this.v4 : this.v6;
    const own = m.get(name);
    if (own !== undefined || !this.hasWildcards) return own ?? NONE;
    return m.get(asteriskOf(name)) ?? NONE;
  }
}

const NONE: readonly string[] = [];

function add(m: Map<string, Set<string>>, key: string, value: string): void {
  const set = m.get(key);
  if (set) set.add(value);
  else m.set(key, new Set([value]));
}

/** Everything one name answers: A, AAAA and PTR data (empty for none), in file order. */
export interface NameData {
  a: Set<string>;
  aaaa: Set<string>;
  ptr: Set<string>;
}

/**
 * Merges the file and the inline lines (CoreDNS looks a name up in both and concatenates, the
 * file's first). Exact names carry, per family, the wildcard's addresses when they have none of
 * their own in a source, so the worker needs the wildcard only for names not listed at all.
 */
export function mergeSources(sources: HostsMap[]): Map<string, NameData> {
  const out = new Map<string, NameData>();
  const entry = (name: string): NameData => {
    let d = out.get(name);
    if (!d) out.set(name, (d = { a: new Set(), aaaa: new Set(), ptr: new Set() }));
    return d;
  };
  for (const s of sources) {
    for (const name of [...s.v4.keys(), ...s.v6.keys()]) {
      if (out.has(name)) continue;
      const d = entry(name);
      for (const t of sources) {
        for (const ip of t.lookup(4, name)) d.a.add(ip);
        for (const ip of t.lookup(6, name)) d.aaaa.add(ip);
      }
    }
  }
  for (const s of sources) {
    for (const [rev, names] of s.ptr) {
      const d = entry(rev);
      for (const n of names) d.ptr.add(n);
    }
  }
  return out;
}

/**
 * The table entry for one name. A name with addresses answers A and AAAA, and every other type
 * with an empty NOERROR (CoreDNS: authoritative, no SOA: a hosts file has none). A reverse name
 * has only its PTR variant: other types at it count as a name hosts does not have.
 */
export function encodeName(name: string, d: NameData, ttl: number): Uint8Array {
  const rr = (type: string, data: string): RR => ({ name, type, ttl, data });
  const variants: VariantSpec[] = [];
  if (d.a.size) variants.push({ qtype: QTYPE.A, answer: [...d.a].map((ip) => rr('A', ip)) });
  if (d.aaaa.size) variants.push({ qtype: QTYPE.AAAA, answer: [...d.aaaa].map((ip) => rr('AAAA', ip)) });
  if (d.ptr.size) variants.push({ qtype: QTYPE.PTR, answer: [...d.ptr].map((n) => rr('PTR', n)) });
  if (d.a.size || d.aaaa.size) variants.push({ qtype: QTYPE_DEFAULT });
  return encodeEntry(name, variants);
}
