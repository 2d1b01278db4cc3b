// Incremental bridge from "records owned by X" to table entries. A source (inline records, a
// Kubernetes Service or EndpointSlice) replaces the records it owns; only the names those
// records touch are rebuilt, plus the empty non-terminals above them and the entries whose
// additional section lists their addresses. Cost is proportional to the change, not the zone.
import { QTYPE, RCODE, typeFromName } from '../dns/constants.ts';
import { canonicalName, nameToWire } from '../dns/name.ts';
import { type RR, type VariantSpec, encodeEntry } from './entry.ts';
import { QTYPE_DEFAULT } from './layout.ts';
import type { TableWriter } from './writer.ts';

const MAX_CNAME_CHAIN = 8;
/** Bytes per entry to reserve before the table has a measured average (a Service name with SRV is ~200). */
const ENTRY_BYTES_GUESS = 160;
/** Types whose answer carries the target's addresses in the additional section. */
const TARGET_OF: Record<string, (data: unknown) => string> = {
  SRV: (d) => (d as { target: string }).target,
  MX: (d) => (d as { exchange: string }).exchange,
  NS: (d) => String(d),
};

/** Standard SOA for a zone we serve, in CoreDNS's form (ns.dns.<zone> hostmaster.<zone>). */
export function defaultSoa(zone: string, ttl: number, serial: number): RR {
  const z = canonicalName(zone);
  const base = z === '.' ? '' : z;
  return {
    name: z, type: 'SOA', ttl,
    data: { mname: `ns.dns.${base}`, rname: `hostmaster.${base}`, serial, refresh: 7200, retry: 1800, expire: 86400, minimum: ttl },
  };
}

/**
 * One name's state: the records each owner contributes there, and how many of its children are
 * in the table (to keep it as an empty non-terminal). Almost every name has a single owner with a
 * single record, so that case is two plain fields (the record itself, not a one-element array,
 * whose growable backing store would cost ~150 bytes), and a Map is made only for a second owner.
 * At 100,000 endpoints there are ~270,000 of these: every field here counts.
 */
class NameState {
  /** Children (one label longer) that are alive: hold records or have alive children. */
  below = 0;
  private owner: string | null = null;
  private records: RR | RR[] | null = null;
  private more: Map<string, RR | RR[]> | null = null;

  /** In the table: records here, or somewhere below (an empty non-terminal, RFC 8020). */
  get alive(): boolean {
    return this.below > 0 || this.owners > 0;
  }

  get owners(): number {
    return this.more ? this.more.size : this.owner === null ? 0 : 1;
  }

  set(owner: string, list: RR[]): void {
    // slice(): an exact-length copy, not the grouping array with its spare capacity.
    const records = list.length === 1 ? list[0]! : list.slice();
    if (this.more) this.more.set(owner, records);
    else if (this.owner === null || this.owner === owner) {
      this.owner = owner;
      this.records = records;
    } else {
      this.more = new Map([[this.owner, this.records!], [owner, records]]);
      this.owner = null;
      this.records = null;
    }
  }

  delete(owner: string): void {
    if (this.more) this.more.delete(owner);
    else if (this.owner === owner) {
      this.owner = null;
      this.records = null;
    }
  }

  /** Every record at this name, all owners together. */
  forEach(fn: (rr: RR) => void): void {
    if (this.more) for (const r of this.more.values()) each(r, fn);
    else if (this.records) each(this.records, fn);
  }
}

function each(records: RR | RR[], fn: (rr: RR) => void): void {
  if (Array.isArray(records)) for (const rr of records) fn(rr);
  else fn(records);
}

export class RecordStore {
  private readonly writer: TableWriter;
  /** Zone apex -> its SOA (also the negative-answer SOA). */
  private readonly zones: Map<string, RR>;
  /** owner -> what it contributes: records, and names it keeps in existence without records. */
  private readonly owners = new Map<string, { records: RR[]; names: string[] }>();
  private readonly names = new Map<string, NameState>();
  /** target name -> names whose answers embed its data (SRV/MX/NS targets, CNAMEs), counted. */
  private readonly dependents = new Map<string, Map<string, number>>();
  private readonly dirty = new Set<string>();
  private readonly zoneSuffixes: Array<[string, string]>;

  constructor(writer: TableWriter, zoneSoas: RR[]) {
    this.writer = writer;
    this.zones = new Map(zoneSoas.map((soa) => [canonicalName(soa.name), { ...soa, name: canonicalName(soa.name) }]));
    this.zoneSuffixes = [...this.zones.keys()].sort((a, b) => b.length - a.length).map((z) => [z, `.${z}`]);
    for (const apex of this.zones.keys()) {
      this.state(apex);
      this.dirty.add(apex);
    }
  }

  /**
   * Replaces every record `owner` contributes. `names` are names the owner keeps in existence
   * without records of their own (a namespace's `<ns>.svc.<zone>`): they answer NODATA, not
   * NXDOMAIN (RFC 8020). Names outside all zones are an error.
   */
  set(owner: string, records: RR[], names: string[] = []): void {
    const next = records.map((rr) => {
      const name = canonicalName(rr.name);
      const type = rr.type.toUpperCase();
      // Most sources already give canonical records: keep those objects rather than copies.
      return name === rr.name && type === rr.type ? rr : { ...rr, name, type };
    });
    const bare = names.map(canonicalName);
    for (const name of [...next.map((rr) => rr.name), ...bare]) {
      if (!this.zoneOf(name)) throw new Error(`${name} is outside the zones ${[...this.zones.keys()].join(' ')}`);
    }
    this.remove(owner);
    if (next.length === 0 && bare.length === 0) return;
    this.owners.set(owner, { records: next, names: bare });
    const grouped = new Map<string, RR[]>(bare.map((n) => [n, []]));
    for (const rr of next) {
      let list = grouped.get(rr.name);
      if (!list) grouped.set(rr.name, (list = []));
      list.push(rr);
    }
    for (const [name, list] of grouped) {
      const st = this.state(name);
      const was = st.alive;
      st.set(owner, list);
      this.propagate(name, was);
      this.touch(name);
      for (const rr of list) this.depend(rr, +1);
    }
  }

  remove(owner: string): void {
    const old = this.owners.get(owner);
    if (!old) return;
    this.owners.delete(owner);
    for (const rr of old.records) this.depend(rr, -1);
    for (const name of new Set([...old.records.map((rr) => rr.name), ...old.names])) {
      const st = this.names.get(name)!;
      const was = st.alive;
      st.delete(owner);
      this.propagate(name, was);
      this.touch(name);
    }
  }

  /** Writes every pending change to the table in one batch (readers see all or nothing). */
  flush(): number {
    const count = this.dirty.size;
    if (count === 0) return 0;
    const names = [...this.dirty];
    this.dirty.clear();
    // Room for all of it at once: a first sync of 270,000 names would otherwise move the table
    // a dozen times on its way up from 256 KiB.
    const t = this.writer.stats();
    this.writer.reserve(count, count * (t.names > 100 ? Math.ceil(t.liveBytes / t.names) : ENTRY_BYTES_GUESS));
    if (!this.writer.ready) {
      // Nothing is served from the table yet (readers answer SERVFAIL until it is ready), so no
      // reader can see half of this batch: each entry goes in as it is encoded, without holding
      // a second copy of the whole table.
      this.writer.batch(() => {
        for (const name of names) this.write(name);
      });
      return count;
    }
    // Encode first, outside the batch: readers only wait (seqlock) while entries are stored.
    const puts: Uint8Array[] = [];
    const removes: Uint8Array[] = [];
    for (const name of names) {
      if (this.isGone(name)) {
        this.names.delete(name);
        removes.push(nameToWire(name));
      } else {
        puts.push(this.encode(name));
      }
    }
    this.writer.batch(() => {
      for (const wire of removes) this.writer.remove(wire);
      for (const entry of puts) this.writer.put(entry);
    });
    return count;
  }

  /** A name with no records, nothing below it, and not an apex: it leaves the table. */
  private isGone(name: string): boolean {
    const st = this.names.get(name);
    return !st || (st.owners === 0 && st.below === 0 && !this.zones.has(name));
  }

  private write(name: string): void {
    if (this.isGone(name)) {
      this.names.delete(name);
      this.writer.remove(nameToWire(name));
    } else {
      this.writer.put(this.encode(name));
    }
  }

  /** Names currently holding records or standing as empty non-terminals (for stats). */
  get size(): number {
    return this.names.size;
  }

  private encode(name: string): Uint8Array {
    const zone = this.zoneOf(name)!;
    const soa = this.zones.get(zone)!;
    const types = this.typesAt(name);
    if (name === zone && !types.has('SOA')) types.set('SOA', [soa]);
    const variants: VariantSpec[] = [];
    const cname = types.get('CNAME');
    if (cname) {
      for (const qtype of ['A', 'AAAA', 'TXT', 'SRV', 'MX', 'PTR']) {
        variants.push({ qtype: typeFromName(qtype)!, answer: this.chase(cname, qtype) });
      }
      variants.push({ qtype: QTYPE.CNAME, answer: cname });
      variants.push({ qtype: QTYPE_DEFAULT, answer: cname });
    } else {
      for (const [type, set] of types) {
        const target = TARGET_OF[type];
        const additional = target ? dedupe(set.flatMap((rr) => this.addresses(target(rr.data)))) : [];
        variants.push({ qtype: typeFromName(type)!, answer: set, additional });
      }
      variants.push({ qtype: QTYPE_DEFAULT, rcode: RCODE.NOERROR, zoneSoa: true });
    }
    return encodeEntry(name, variants, name === zone ? soa : undefined);
  }

  private typesAt(name: string): Map<string, RR[]> {
    const types = new Map<string, RR[]>();
    this.names.get(name)?.forEach((rr) => {
      let set = types.get(rr.type);
      if (!set) types.set(rr.type, (set = []));
      set.push(rr);
    });
    for (const [t, set] of types) types.set(t, dedupe(set));
    return types;
  }

  private chase(cname: RR[], qtype: string): RR[] {
    const chain = [...cname];
    let target = canonicalName(String(cname[0]!.data));
    for (let hops = 0; hops < MAX_CNAME_CHAIN && this.zoneOf(target); hops++) {
      const t = this.typesAt(target);
      const next = t.get('CNAME');
      if (next) {
        chain.push(...next);
        target = canonicalName(String(next[0]!.data));
        continue;
      }
      return [...chain, ...(t.get(qtype) ?? [])];
    }
    return chain;
  }

  private addresses(target: string): RR[] {
    const t = this.typesAt(canonicalName(target));
    return [...(t.get('A') ?? []), ...(t.get('AAAA') ?? [])];
  }

  private state(name: string): NameState {
    let st = this.names.get(name);
    if (!st) this.names.set(name, (st = new NameState()));
    return st;
  }

  /** Marks a name, and every answer that embeds its data, for rebuilding. */
  private touch(name: string): void {
    this.dirty.add(name);
    for (const d of this.dependents.get(name)?.keys() ?? []) this.dirty.add(d);
  }

  private depend(rr: RR, delta: number): void {
    const targetOf = TARGET_OF[rr.type] ?? (rr.type === 'CNAME' ? (d: unknown) => String(d) : null);
    if (targetOf === null) return;
    const target = canonicalName(targetOf(rr.data));
    let counts = this.dependents.get(target);
    if (!counts) this.dependents.set(target, (counts = new Map()));
    const n = (counts.get(rr.name) ?? 0) + delta;
    if (n > 0) counts.set(rr.name, n);
    else counts.delete(rr.name);
    if (counts.size === 0) this.dependents.delete(target);
  }

  /**
   * `name` was `wasAlive` before a change: if that flipped, its parent counts one child more or
   * less, and so on up while parents flip too. Counting live children rather than every name
   * below keeps this O(1) for the common case (a name added under a live parent), instead of a
   * string slice and a Map lookup per ancestor.
   */
  private propagate(name: string, wasAlive: boolean): void {
    const zone = this.zoneOf(name)!;
    for (let at = name; at !== zone; ) {
      const nowAlive = this.names.get(at)?.alive ?? false;
      if (nowAlive === wasAlive) return;
      const dot = at.indexOf('.');
      const parent = dot === at.length - 1 ? '.' : at.slice(dot + 1);
      const st = this.state(parent);
      wasAlive = st.alive;
      st.below += nowAlive ? 1 : -1;
      this.dirty.add(parent);
      at = parent;
    }
  }

  /** The longest zone holding `name` (zones sorted longest first, suffixes made once). */
  private zoneOf(name: string): string | null {
    for (const [z, dotted] of this.zoneSuffixes) if (z === '.' || name === z || name.endsWith(dotted)) return z;
    return null;
  }
}

function dedupe(rrs: RR[]): RR[] {
  const seen = new Set<string>();
  return rrs.filter((rr) => {
    const key = `${rr.name}/${rr.type}/${JSON.stringify(rr.data)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
