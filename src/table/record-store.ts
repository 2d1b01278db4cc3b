// Incremental bridge from "records owned by X" to table entries. A source (inline records, a
// Kubernetes Service or EndpointSlice) replaces the records it owns; only the names those
// records touch are rebuilt, plus the empty non-terminals above them and the entries whose
// additional section lists their addresses. Cost is proportional to the change, not the zone.
import { QTYPE, RCODE, typeFromName } from '../dns/constants.ts';
import { canonicalName, canonicalNameToWireView, nameToWire } from '../dns/name.ts';
import { type RR, type VariantSpec, encodeEntryView } from './entry.ts';
import { QTYPE_DEFAULT } from './layout.ts';
import type { TableWriter } from './writer.ts';

const MAX_CNAME_CHAIN = 8;
/** Table tags (tagFor): owner number + 1 in the low 22 bits, names below in the 9 above. */
const TAG_BELOW_SHIFT = 22;
const TAG_OWNER_MASK = (1 << TAG_BELOW_SHIFT) - 1;
const TAG_BELOW_MAX = 511;
/** Bytes per entry to reserve before the table has a measured average (a Service name with SRV is ~200). */
const ENTRY_BYTES_GUESS = 160;
/** The staging buffer a flush keeps for the next (a step of a first sync needs ~1 MiB). */
const STAGING_KEEP_BYTES = 1 << 20;
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
 * One name's state when it is more than a leaf of a single owner: the owners with records (or a
 * bare name) there, and how many of its children are in the table (to keep it as an empty
 * non-terminal). Records are not kept here: they are the owners' (see OwnerState).
 */
class NameState {
  /** Children (one label longer) that are alive: hold records or have alive children. */
  below = 0;
  /** One owner (a string), several (an array), or none. */
  owners: string | string[] | null = null;
}

/**
 * A name's entry: the owner's key itself for the common case (a leaf name of a single owner:
 * ~90 % of a cluster's names, its endpoints, PTRs and SRV names), a NameState for the rest. At
 * 100,000 endpoints there are ~270,000 names. Once written, a leaf leaves `names` altogether:
 * its table slot carries the owner's number (TableWriter tags), so the primary keeps no string
 * or hash-table slot per leaf (~28 MiB at 10,000 Services; bench/RESULTS.md, issue 13).
 */
type NameEntry = string | NameState;

/**
 * What one owner contributes. `grouped` holds its records by name from set() until they are
 * written; an owner that can make them again (`regenerate`) then drops them, so the primary
 * keeps cluster state once (in the source's own compact model) instead of also as records.
 */
interface OwnerState {
  /** The owner's number: the tag its leaf names carry in the table. */
  id: number;
  grouped: Map<string, RR[]> | null;
  /** Names the owner keeps in existence without records of their own. */
  names: string[];
  regenerate: (() => RR[]) | null;
}

function ownersOf(e: NameEntry | undefined): readonly string[] {
  if (e === undefined) return [];
  if (typeof e === 'string') return [e];
  return e.owners === null ? [] : typeof e.owners === 'string' ? [e.owners] : e.owners;
}

function ownerCount(e: NameEntry | undefined): number {
  if (e === undefined) return 0;
  if (typeof e === 'string') return 1;
  return e.owners === null ? 0 : typeof e.owners === 'string' ? 1 : e.owners.length;
}

function belowOf(e: NameEntry | undefined): number {
  return e === undefined || typeof e === 'string' ? 0 : e.below;
}

/** In the table: records here, or somewhere below (an empty non-terminal, RFC 8020). */
function aliveOf(e: NameEntry | undefined): boolean {
  return belowOf(e) > 0 || ownerCount(e) > 0;
}

/** Most sources already give canonical records: keep those objects rather than copies. */
function canonicalRecord(rr: RR): RR {
  const name = canonicalName(rr.name);
  const type = rr.type.toUpperCase();
  return name === rr.name && type === rr.type ? rr : { ...rr, name, type };
}

function groupByName(records: RR[], bare: string[]): Map<string, RR[]> {
  const grouped = new Map<string, RR[]>(bare.map((n) => [n, []]));
  for (const rr of records) {
    let list = grouped.get(rr.name);
    if (!list) grouped.set(rr.name, (list = []));
    list.push(rr);
  }
  return grouped;
}

export class RecordStore {
  private readonly writer: TableWriter;
  /** Zone apex -> its SOA (also the negative-answer SOA). */
  private readonly zones: Map<string, RR>;
  private readonly owners = new Map<string, OwnerState>();
  /** Owner number -> key (a removed owner's slot is reused once a flush has rewritten its names). */
  private readonly ownerKeys: Array<string | undefined> = [];
  private readonly freeIds: number[] = [];
  private readonly freedThisFlush: number[] = [];
  /**
   * Names with state not (yet) in the table: every change until it is flushed, and for good the
   * names that are more than a leaf. A name absent here is the table's (see entry()).
   */
  private readonly names = new Map<string, NameEntry>();
  /**
   * Target name -> names whose answers embed its data (SRV/MX/NS targets, CNAMEs): one as the
   * name itself, several as a list with an element per record (a multiset: a Service's 2-4 SRV
   * names on its name, the common case). A list costs a fraction of a Map; a removal scans its
   * list, which stays short.
   */
  private readonly dependents = new Map<string, string | string[]>();
  private readonly dirty = new Set<string>();
  private readonly authorityNs: boolean;
  /** Each zone's apex NS set, made once per flush (authorityNs). */
  private readonly apexNs = new Map<string, RR[]>();
  /**
   * Names whose count of live names below changed but not their answers (a name added under an
   * existing parent): only their table tag is rewritten. Re-encoding them left an entry of dead
   * bytes per new child (a reverse zone's `c.b.a.in-addr.arpa.` was written ~23 times in a 10k
   * build, 5 MB of the arena; bench/RESULTS.md, issue 13).
   */
  private readonly retag = new Set<string>();
  private readonly zoneSuffixes: Array<[string, string]>;
  /** encode()'s variant list and answer variant, reused (encoding is synchronous and not nested). */
  private readonly variants: VariantSpec[] = [];
  private readonly answerSpec: VariantSpec = { qtype: 0, answer: NO_RECORDS, additional: NO_RECORDS, authority: NO_RECORDS };
  /** Owners' records made again for this flush (by regenerate), dropped when it ends. */
  private readonly regenerated = new Map<string, Map<string, RR[]>>();
  /** Where a flush of a served table puts its encoded entries before the batch stores them. */
  private staging: Uint8Array = new Uint8Array(STAGING_KEEP_BYTES);
  /** Owners set() since the last flush whose records release() drops (not every owner: O(change)). */
  private readonly keptSinceFlush: OwnerState[] = [];

  /**
   * `authorityNs`: positive answers carry the zone's apex NS records in the authority section,
   * as CoreDNS's *file* plugin gives them. Only for a source that rewrites every name when the
   * apex NS set changes (a zone file reload does): names are not re-encoded for it otherwise.
   */
  constructor(writer: TableWriter, zoneSoas: RR[], opts: { authorityNs?: boolean } = {}) {
    this.authorityNs = opts.authorityNs === true;
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
   * NXDOMAIN (RFC 8020). Names outside all zones are an error. With `regenerate` (a function that
   * returns these same records again, from the source's own state), the store does not keep the
   * records once they are in the table.
   */
  set(owner: string, records: RR[], names: string[] = [], regenerate?: () => RR[]): void {
    const next = records.map(canonicalRecord);
    const bare = names.map(canonicalName);
    for (const rr of next) this.checkInZone(rr.name);
    for (const name of bare) this.checkInZone(name);
    this.remove(owner);
    if (next.length === 0 && bare.length === 0) return;
    const grouped = groupByName(next, bare);
    const id = this.freeIds.pop() ?? this.ownerKeys.length;
    this.ownerKeys[id] = owner;
    const state: OwnerState = { id, grouped, names: bare, regenerate: regenerate ?? null };
    this.owners.set(owner, state);
    if (regenerate !== undefined) this.keptSinceFlush.push(state);
    for (const [name, list] of grouped) {
      const e = this.entry(name);
      const was = aliveOf(e);
      this.addOwner(name, owner, e);
      this.propagate(name, was);
      this.touch(name);
      for (const rr of list) this.depend(rr, +1, owner, grouped);
    }
  }

  remove(owner: string): void {
    const old = this.owners.get(owner);
    if (!old) return;
    const grouped = this.groupedOf(owner)!;
    this.owners.delete(owner);
    this.regenerated.delete(owner);
    for (const [name, list] of grouped) {
      for (const rr of list) this.depend(rr, -1);
      const e = this.entry(name);
      const was = aliveOf(e);
      this.removeOwner(name, owner, e);
      this.propagate(name, was);
      this.touch(name);
    }
    // Every name of the owner is in `names` now (removeOwner), but table slots carry its number
    // until the flush rewrites them: only then is the number reused.
    this.ownerKeys[old.id] = undefined;
    this.freedThisFlush.push(old.id);
  }

  /** Makes room in the table for about `names` more names (a bulk load's projection). */
  reserve(names: number): void {
    const t = this.writer.stats();
    this.writer.reserve(names, names * (t.names > 100 ? Math.ceil(t.liveBytes / t.names) : ENTRY_BYTES_GUESS));
  }

  /** Writes every pending change to the table in one batch (readers see all or nothing). */
  flush(): number {
    for (const name of this.retag) if (!this.dirty.has(name)) this.retagOne(name);
    this.retag.clear();
    const count = this.dirty.size;
    if (count === 0) return 0;
    const names = [...this.dirty];
    this.dirty.clear();
    try {
      this.writeAll(names, count);
    } finally {
      this.release();
    }
    for (const id of this.freedThisFlush) this.freeIds.push(id);
    this.freedThisFlush.length = 0;
    return count;
  }

  /** A live name's new count below goes into its table tag (its entry stays); else it is written. */
  private retagOne(name: string): void {
    const e = this.names.get(name);
    if (e === undefined) return; // nothing changed since it was written
    const tag = this.tagFor(name, e);
    if (!this.writer.retag(canonicalNameToWireView(name), tag)) this.dirty.add(name);
    else if (tag >= 0) this.names.delete(name); // else its state stays in `names`, as when written
  }

  /**
   * A name's state: pending or kept in `names`, else the owner whose number the table slot
   * carries (a written leaf), else none. Every change goes through `names` first, so the map
   * always shadows the table.
   */
  private entry(name: string): NameEntry | undefined {
    return this.names.get(name) ?? this.fromTable(name);
  }

  /**
   * The state a written name's tag holds (see tagFor): a leaf's owner, or a fresh NameState
   * for a name with names below it (state() keeps it in `names` if it is to change).
   */
  private fromTable(name: string): NameEntry | undefined {
    const tag = this.writer.tagOf(canonicalNameToWireView(name)); // names here are canonical
    if (tag < 0) return undefined;
    const owner = this.ownerKeys[(tag & TAG_OWNER_MASK) - 1];
    const below = tag >>> TAG_BELOW_SHIFT;
    if (below === 0) return owner;
    const st = new NameState();
    st.below = below;
    st.owners = owner ?? null;
    return st;
  }

  /**
   * The tag to store with a name being written, -1 to keep its state in `names` instead: its
   * owner's number + 1 (0: none) in the low bits, the count of live names below it in the high
   * ones. A name of several owners, an apex, or one with too many names below stays in `names`
   * (~1 % of a cluster's names: namespaces, zone apexes, reverse zones' upper labels).
   */
  private tagFor(name: string, e: NameEntry | undefined): number {
    if (e === undefined) return -1;
    const owner = typeof e === 'string' ? e : e.owners;
    const below = typeof e === 'string' ? 0 : e.below;
    if (Array.isArray(owner) || below > TAG_BELOW_MAX || this.zones.has(name)) return -1;
    const id = owner === null ? 0 : this.owners.get(owner)!.id + 1;
    return id > TAG_OWNER_MASK ? -1 : (below << TAG_BELOW_SHIFT) | id;
  }

  private writeAll(names: string[], count: number): void {
    // Room for all of it at once: a first sync of 270,000 names would otherwise move the table
    // a dozen times on its way up from 256 KiB.
    this.reserve(count);
    if (!this.writer.ready) {
      // Nothing is served from the table yet (readers answer SERVFAIL until it is ready), so no
      // reader can see half of this batch: each entry goes in as it is encoded, without holding
      // a second copy of the whole table.
      this.writer.batch(() => {
        for (const name of names) this.write(name);
      });
      return;
    }
    // Encode first, outside the batch: readers only wait (seqlock) while entries are stored.
    // Names leave `names` only after the batch: until then later names' answers (an SRV's
    // additional addresses) read them from there, not from the table's old entries.
    // The encoded entries go one after another into one staging buffer, not a buffer each: a
    // small ArrayBuffer is a malloc'd block of its own, and a first sync written in steps made
    // 270,000 of them, leaving the primary's malloc heap fragmented (RSS +30 MiB, issue 13).
    let staged = 0;
    const ends: number[] = [];
    const tags: number[] = [];
    const written: string[] = [];
    const removes: Uint8Array[] = [];
    for (const name of names) {
      const e = this.entry(name);
      if (this.isGone(name, e)) {
        this.names.delete(name);
        removes.push(nameToWire(name));
      } else {
        const tag = this.tagFor(name, e);
        const entry = this.encode(name, e);
        if (staged + entry.length > this.staging.length) this.staging = grown(this.staging, staged, staged + entry.length);
        this.staging.set(entry, staged);
        staged += entry.length;
        ends.push(staged);
        tags.push(tag);
        if (tag >= 0) written.push(name);
      }
    }
    const staging = this.staging;
    this.writer.batch(() => {
      for (const wire of removes) this.writer.remove(wire);
      for (let i = 0, from = 0; i < ends.length; from = ends[i++]!) this.writer.put(staging.subarray(from, ends[i]!), tags[i]!);
    });
    // Kept for the next flush unless a big one (a re-list) made it big.
    if (this.staging.length > STAGING_KEEP_BYTES) this.staging = new Uint8Array(STAGING_KEEP_BYTES);
    for (const name of written) this.names.delete(name);
  }

  /** After a flush: records that can be made again are not kept. */
  private release(): void {
    this.apexNs.clear();
    this.regenerated.clear();
    for (const o of this.keptSinceFlush) o.grouped = null;
    this.keptSinceFlush.length = 0;
  }

  /** A name with no records, nothing below it, and not an apex: it leaves the table. */
  private isGone(name: string, e: NameEntry | undefined): boolean {
    return !aliveOf(e) && !this.zones.has(name);
  }

  private write(name: string): void {
    const e = this.entry(name);
    if (this.isGone(name, e)) {
      this.names.delete(name);
      this.writer.remove(nameToWire(name));
      return;
    }
    const tag = this.tagFor(name, e);
    this.writer.put(this.encode(name, e), tag);
    // In the table now, and nothing of this batch reads the map for it before the table.
    if (tag >= 0) this.names.delete(name);
  }

  /** Names in the table: holding records or standing as empty non-terminals (after a flush). */
  get size(): number {
    return this.writer.stats().names;
  }

  private checkInZone(name: string): void {
    if (!this.zoneOf(name)) throw new Error(`${name} is outside the zones ${[...this.zones.keys()].join(' ')}`);
  }

  /** The owner's records by name: kept since set(), or made again (once per flush). */
  private groupedOf(owner: string): Map<string, RR[]> | null {
    const o = this.owners.get(owner);
    if (!o) return null;
    if (o.grouped !== null) return o.grouped;
    let g = this.regenerated.get(owner);
    if (!g) this.regenerated.set(owner, (g = groupByName(o.regenerate!().map(canonicalRecord), o.names)));
    return g;
  }

  /** `e`: the name's entry() (looked up once by the caller). */
  private encode(name: string, e: NameEntry | undefined): Uint8Array {
    const zone = this.zoneOf(name)!;
    const soa = this.zones.get(zone)!;
    const single = name === zone ? null : this.singleOwnerList(name, e);
    if (single !== null && sameType(single) && (single.length === 0 || single[0]!.type !== 'CNAME')) {
      // ~99 % of a cluster's names (an endpoint's A, a PTR, an SRV name, an empty non-terminal):
      // one owner, one type, so no per-type map; the same variants as the general path below.
      const variants = this.variants;
      variants.length = 0;
      if (single.length > 0) {
        const type = single[0]!.type;
        const set = dedupe(single);
        const spec = this.answerSpec;
        spec.qtype = typeFromName(type)!;
        spec.answer = set;
        spec.additional = this.additionalFor(type, set);
        spec.authority = this.authorityFor(zone, name, type);
        variants.push(spec);
      }
      variants.push(NODATA_SPEC);
      return encodeEntryView(name, variants);
    }
    const types = this.typesAt(name, e);
    if (name === zone && !types.has('SOA')) types.set('SOA', [soa]);
    const variants: VariantSpec[] = [];
    const cname = types.get('CNAME');
    if (cname) {
      for (const qtype of ['A', 'AAAA', 'TXT', 'SRV', 'MX', 'PTR']) {
        variants.push({ qtype: typeFromName(qtype)!, answer: this.chase(cname, qtype), authority: this.authorityFor(zone, name, 'CNAME') });
      }
      variants.push({ qtype: QTYPE.CNAME, answer: cname, authority: this.authorityFor(zone, name, 'CNAME') });
      variants.push({ qtype: QTYPE_DEFAULT, answer: cname, authority: this.authorityFor(zone, name, 'CNAME') });
    } else {
      for (const [type, set] of types) variants.push({ qtype: typeFromName(type)!, answer: set, additional: this.additionalFor(type, set), authority: this.authorityFor(zone, name, type) });
      variants.push(NODATA_SPEC);
    }
    // A view of scratch space: write() stores it at once, writeAll() copies what it holds.
    return encodeEntryView(name, variants, name === zone ? soa : undefined);
  }

  /** With authorityNs, the zone's apex NS set for a positive answer (none for the apex's own NS). */
  private authorityFor(zone: string, name: string, type: string): RR[] {
    if (!this.authorityNs || (name === zone && type === 'NS')) return NO_RECORDS;
    let ns = this.apexNs.get(zone);
    if (ns === undefined) this.apexNs.set(zone, (ns = this.typesAt(zone).get('NS') ?? NO_RECORDS));
    return ns;
  }

  /** Every record at this name, all owners together, by type. */
  private typesAt(name: string, e: NameEntry | undefined = this.entry(name)): Map<string, RR[]> {
    const types = new Map<string, RR[]>();
    for (const owner of ownersOf(e)) {
      for (const rr of this.groupedOf(owner)?.get(name) ?? []) {
        let set = types.get(rr.type);
        if (!set) types.set(rr.type, (set = []));
        set.push(rr);
      }
    }
    for (const [t, set] of types) types.set(t, dedupe(set));
    return types;
  }

  /** The records at `name` when one owner has them all (`e` its entry()), else null. */
  private singleOwnerList(name: string, e: NameEntry | undefined): RR[] | null {
    if (e === undefined) return NO_RECORDS;
    const owner = typeof e === 'string' ? e : e.owners;
    if (owner === null) return NO_RECORDS;
    if (typeof owner !== 'string') return null;
    return this.groupedOf(owner)?.get(name) ?? NO_RECORDS;
  }

  /** The additional section of an answer of `type`: its targets' addresses (SRV, MX, NS), else none. */
  private additionalFor(type: string, set: RR[]): RR[] {
    const target = TARGET_OF[type];
    if (target === undefined) return NO_RECORDS;
    return set.length === 1 ? this.addresses(target(set[0]!.data)) : dedupe(set.flatMap((rr) => this.addresses(target(rr.data))));
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

  /** The A then the AAAA records at `target`, for an additional section. */
  private addresses(target: string): RR[] {
    const name = canonicalName(target);
    const single = this.singleOwnerList(name, this.entry(name));
    // An SRV target is mostly an endpoint's name: one owner, its A (or AAAA) records only.
    if (single !== null && sameType(single) && (single.length === 0 || single[0]!.type === 'A' || single[0]!.type === 'AAAA')) return dedupe(single);
    const t = this.typesAt(name);
    return [...(t.get('A') ?? []), ...(t.get('AAAA') ?? [])];
  }

  /** The name's NameState in `names` (from the table's tag, or its leaf form, if need be), to change. */
  private state(name: string): NameState {
    const m = this.names.get(name);
    if (m instanceof NameState) return m;
    const e = m ?? this.fromTable(name);
    const st = e instanceof NameState ? e : new NameState();
    if (typeof e === 'string') st.owners = e;
    this.names.set(name, st);
    return st;
  }

  /** `e`: the name's entry() (looked up once by the caller). */
  private addOwner(name: string, owner: string, e: NameEntry | undefined): void {
    if (e === undefined) {
      this.names.set(name, owner);
      return;
    }
    if (e === owner) {
      this.names.set(name, owner); // pending: shadows the table until the flush
      return;
    }
    const st = this.state(name);
    if (st.owners === null) st.owners = owner;
    else if (typeof st.owners === 'string') {
      if (st.owners !== owner) {
        this.shareTarget(name, st.owners);
        st.owners = [st.owners, owner];
      }
    } else if (!st.owners.includes(owner)) st.owners.push(owner);
    // A name an update took away and gave back (set() removes first) is a leaf again.
    this.shrink(name, st);
  }

  private removeOwner(name: string, owner: string, e: NameEntry | undefined): void {
    if (e === undefined) return;
    if (typeof e === 'string') {
      // Left without owners: it stays in `names` until the flush writes it out of the table.
      if (e === owner) this.names.set(name, new NameState());
      return;
    }
    const st = this.state(name); // `e` itself may be a copy from the table
    if (st.owners === owner) st.owners = null;
    else if (Array.isArray(st.owners)) {
      const rest = st.owners.filter((o) => o !== owner);
      st.owners = rest.length === 0 ? null : rest.length === 1 ? rest[0]! : rest;
    }
    this.shrink(name, st);
  }

  /** Back to the leaf form when a NameState holds nothing a leaf cannot. */
  private shrink(name: string, st: NameState): void {
    if (st.below === 0 && typeof st.owners === 'string') this.names.set(name, st.owners);
  }

  /** Has `name` no owner other than `owner` (so far)? */
  private onlyOwner(name: string, owner: string): boolean {
    const owners = ownersOf(this.entry(name));
    return owners.length === 0 || (owners.length === 1 && owners[0] === owner);
  }

  /**
   * `name`, so far `sole`'s alone, gets a second owner: the dependents `sole` did not count on
   * it (see depend) are counted now, and rebuilt with the newcomer's data.
   */
  private shareTarget(name: string, sole: string): void {
    for (const [at, list] of this.groupedOf(sole) ?? []) {
      if (at === name) continue;
      let wanted = 0;
      for (const rr of list) if (targetName(rr) === name) wanted++;
      if (wanted === 0) continue;
      // Counted already when `name` had another owner at `sole`'s last set(): only the rest.
      const d = this.dependents.get(name);
      const counted = d === undefined ? 0 : typeof d === 'string' ? (d === at ? 1 : 0) : d.filter((n) => n === at).length;
      for (let k = counted; k < wanted; k++) this.addDependent(name, at);
      this.dirty.add(at);
    }
  }

  /** Counts `name` once more among the names whose answers embed `target`'s data (a multiset). */
  private addDependent(target: string, name: string): void {
    const d = this.dependents.get(target);
    if (d === undefined) this.dependents.set(target, name);
    else if (typeof d === 'string') this.dependents.set(target, [d, name]);
    else d.push(name);
  }

  /** Marks a name, and every answer that embeds its data, for rebuilding. */
  private touch(name: string): void {
    this.dirty.add(name);
    const d = this.dependents.get(name);
    if (d === undefined) return;
    if (typeof d === 'string') this.dirty.add(d);
    else for (const n of d) this.dirty.add(n);
  }

  /**
   * Counts `rr` (delta +1) or stops counting it (-1) as a dependent of its target. With +1,
   * `owner` is the record's owner and `grouped` its names: a target only that owner has records
   * at is not counted (a Service's SRV names on its own name and endpoints: they change with the
   * owner, whose set() touches them all); it is once another owner joins it (addOwner). At 10,000
   * Services that leaves the map ~35,000 entries it held for nothing (bench/RESULTS.md, issue 13).
   * A removal always looks, so it needs no such test.
   */
  private depend(rr: RR, delta: 1 | -1, owner?: string, grouped?: Map<string, RR[]>): void {
    const target = targetName(rr);
    // A name's own records (the SRV set at a Service's name): touch() rebuilds it anyway.
    if (target === null || target === rr.name) return;
    if (delta > 0 && grouped!.has(target) && this.onlyOwner(target, owner!)) return;
    if (delta > 0) {
      this.addDependent(target, rr.name);
      return;
    }
    const d = this.dependents.get(target);
    if (d === undefined) return;
    if (typeof d === 'string') {
      if (d === rr.name) this.dependents.delete(target);
      return;
    }
    const at = d.lastIndexOf(rr.name);
    if (at < 0) return;
    d.splice(at, 1);
    if (d.length === 1) this.dependents.set(target, d[0]!);
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
      const nowAlive = aliveOf(this.entry(at));
      if (nowAlive === wasAlive) return;
      // An ancestor that appeared or went (an empty non-terminal): its entry changes. (The
      // name itself is the caller's to touch.)
      if (at !== name) this.dirty.add(at);
      const dot = at.indexOf('.');
      const parent = dot === at.length - 1 ? '.' : at.slice(dot + 1);
      const st = this.state(parent);
      wasAlive = aliveOf(st);
      st.below += nowAlive ? 1 : -1;
      this.shrink(parent, st);
      this.retag.add(parent);
      at = parent;
    }
  }

  /** The longest zone holding `name` (zones sorted longest first, suffixes made once). */
  private zoneOf(name: string): string | null {
    for (let i = 0; i < this.zoneSuffixes.length; i++) {
      const [z, dotted] = this.zoneSuffixes[i]!;
      if (z === '.' || name === z || name.endsWith(dotted)) return z;
    }
    return null;
  }
}

/** The name whose data `rr`'s answers embed (SRV/MX/NS target, CNAME), canonical; else null. */
function targetName(rr: RR): string | null {
  const targetOf = TARGET_OF[rr.type] ?? (rr.type === 'CNAME' ? (d: unknown) => String(d) : null);
  return targetOf === null ? null : canonicalName(targetOf(rr.data));
}

/** An empty record list to share (never changed). */
const NO_RECORDS: RR[] = [];
/** Every type a name has no records of: NODATA with the zone's SOA (RFC 2308). */
const NODATA_SPEC: VariantSpec = { qtype: QTYPE_DEFAULT, rcode: RCODE.NOERROR, zoneSoa: true };

/** `buf` with its first `used` bytes, in a buffer of at least `need` (doubling). */
function grown(buf: Uint8Array, used: number, need: number): Uint8Array {
  let size = buf.length * 2;
  while (size < need) size *= 2;
  const next = new Uint8Array(size);
  next.set(buf.subarray(0, used));
  return next;
}

function sameType(rrs: RR[]): boolean {
  for (let i = 1; i < rrs.length; i++) if (rrs[i]!.type !== rrs[0]!.type) return false;
  return true;
}

function dedupe(rrs: RR[]): RR[] {
  // Most sets hold one record (a ClusterIP, a PTR, an endpoint's A): nothing to compare.
  if (rrs.length < 2) return rrs;
  const seen = new Set<string>();
  return rrs.filter((rr) => {
    const data = typeof rr.data === 'string' ? rr.data : JSON.stringify(rr.data);
    const key = `${rr.name}/${rr.type}/${data}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
