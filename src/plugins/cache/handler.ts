// The cache of one worker: answers hits from stored wire-format sections (no allocation), stores
// what the plugins after it answer (NEXT_POST), refreshes popular and stale items in the
// background (r.spawn) and, for `serve_stale ... verify`, asks first and serves stale only when
// the refresh fails (r.defer + r.spawn). Behaviour follows CoreDNS's plugin/cache; see README.md.
import { FLAG_AD, FLAG_TC, QTYPE, RCODE } from '../../dns/constants.ts';
import { skipName } from '../../dns/message.ts';
import type { Query } from '../../dns/query.ts';
import { type ResponseWriter, TCP_PREFIX } from '../../dns/response.ts';
import { listenerIndex } from '../../plugin/listen-address.ts';
import { ASYNC, NEXT, NEXT_POST, type Handler, type Pending, type RequestState, type WorkerEnv } from '../../plugin/types.ts';
import { ZoneMatcher } from '../../table/zone-match.ts';
import type { CacheConfig, CacheMetricSlots } from './setup.ts';
import { Item, KEPT_FLAGS, Store, keyOf } from './store.ts';

/** dnsutil.MinimalDefaultTTL: what CoreDNS assumes when a response has no TTL to go by. */
const FALLBACK_TTL = 5;
/** A background refresh that has not come back after this long no longer blocks another. */
const REFRESH_GUARD_MS = 30_000;
/** Records of one response we index (a 64 KiB message holds fewer). */
const MAX_RECORDS = 8192;

/** How a response is cached (CoreDNS's response.Typify). */
const NONE = 0;
const SUCCESS = 1;
const DENIAL = 2;
const SERVFAIL = 3;

export default function create(config: CacheConfig, env: WorkerEnv): Handler {
  return new Cache(config, env.metrics.slots);
}

class Cache implements Handler {
  private readonly c: CacheConfig;
  private readonly zones: ZoneMatcher;
  private readonly noSuccess: ZoneMatcher | null;
  private readonly noDenial: ZoneMatcher | null;
  private readonly success: Store;
  private readonly denial: Store;
  private readonly staleS: number;
  /** Scratch for the record scan of a response being stored. */
  private readonly ttlScratch = new Uint16Array(MAX_RECORDS);
  /** This worker's metrics block and our slots in it (CoreDNS's coredns_cache_* metrics). */
  private readonly slots: Float64Array;
  /** Slots of the address the current query came in on (CoreDNS: one server per `bind` address). */
  private m: CacheMetricSlots;
  private readonly byAddress: CacheMetricSlots[];
  private lastAddress = '';
  /** The TTL of the item the last lookup() returned (seconds; 0 or less once expired). */
  private lookupTtl = 0;

  constructor(c: CacheConfig, slots: Float64Array) {
    this.c = c;
    this.slots = slots;
    this.byAddress = c.metrics;
    this.m = c.metrics[0]!;
    this.zones = new ZoneMatcher(c.zones);
    this.noSuccess = c.noSuccess.length > 0 ? new ZoneMatcher(c.noSuccess) : null;
    this.noDenial = c.noDenial.length > 0 ? new ZoneMatcher(c.noDenial) : null;
    this.success = new Store(c.success.shardCapacity);
    this.denial = new Store(c.denial.shardCapacity);
    this.staleS = c.staleMs / 1000;
  }

  serve(q: Query, w: ResponseWriter, r: RequestState): number {
    if (this.zones.match(q) < 0) return NEXT;
    this.useAddressOf(q);
    // Nothing of this name would ever be stored: stay out of its way (CoreDNS looks and misses).
    if (this.noSuccess !== null && this.noDenial !== null && this.noSuccess.match(q) >= 0 && this.noDenial.match(q) >= 0) {
      this.slots[this.m.misses] += 1;
      return NEXT;
    }
    const now = r.start;
    const item = this.lookup(q, now);
    if (item === null) {
      this.slots[this.m.misses] += 1;
      return NEXT_POST;
    }
    // requests_total is hits + misses (summed at scrape time): one add per query.
    this.slots[item.denial ? this.m.hitDenial : this.m.hitSuccess] += 1;
    const ttl = this.lookupTtl;
    if (ttl > 0) {
      serveItem(q, w, item, this.c.keepTtl ? item.origTtl : ttl);
      if (this.c.prefetchAmount > 0 && this.popular(item, ttl, now)) this.refresh(item, r, now);
      return item.rcode;
    }
    // Expired, but within serve_stale's window.
    if (this.c.verifyStale) {
      const p = r.defer();
      r.spawn((q2, w2, r2) => this.verified(p, item, q2, w2, r2));
      return ASYNC;
    }
    this.slots[this.m.servedStale] += 1;
    serveItem(q, w, item, this.c.keepTtl ? item.origTtl : 0);
    this.refresh(item, r, now);
    return item.rcode;
  }

  post(q: Query, w: ResponseWriter, r: RequestState): void {
    this.store(q, w, r);
  }

  /** Points `m` at the series of the address `q` came in on. */
  private useAddressOf(q: Query): void {
    if (this.byAddress.length === 1 || q.localAddress === this.lastAddress) return;
    this.lastAddress = q.localAddress;
    this.m = this.byAddress[listenerIndex(this.c.addresses, q.localAddress)]!;
  }

  /**
   * The usable item for `q`: fresh, or expired less than serve_stale's window ago; its TTL is
   * left in `lookupTtl`. CoreDNS looks at denials first, with a SERVFAIL never hiding a positive
   * answer. Looking at the positive answer first gives the same item with one map lookup on a
   * hit: storing an NXDOMAIN or NODATA answer removes the positive one of the same question (and
   * the other way round), so only a SERVFAIL denial can sit beside a positive answer.
   */
  private lookup(q: Query, now: number): Item | null {
    const key = keyOf(q);
    const p = this.success.get(key);
    if (p !== undefined && p.answers(q) && this.usable(p, now)) return p;
    const n = this.denial.get(key);
    if (n !== undefined && n.answers(q) && this.usable(n, now)) return n;
    return null;
  }

  /** Sets `lookupTtl` to `i`'s TTL; true when `i` may be served. */
  private usable(i: Item, now: number): boolean {
    const ttl = i.ttl(now);
    this.lookupTtl = ttl;
    // A cached SERVFAIL is only served while fresh.
    return ttl > 0 || (this.staleS > 0 && -ttl < this.staleS && i.rcode !== RCODE.SERVFAIL);
  }

  /** CoreDNS's shouldPrefetch: AMOUNT hits without a gap of DURATION, TTL under PERCENTAGE. */
  private popular(i: Item, ttl: number, now: number): boolean {
    if (i.last < now - this.c.prefetchWindowMs) i.hits = 1;
    else i.hits++;
    i.last = now;
    const threshold = Math.ceil((this.c.prefetchPercentage / 100) * i.origTtl);
    return i.hits >= this.c.prefetchAmount && ttl <= threshold;
  }

  /** One background refresh per item at a time; the answer replaces the item. */
  private refresh(item: Item, r: RequestState, now: number): void {
    if (item.refreshing !== 0 && now - item.refreshing < REFRESH_GUARD_MS) return;
    item.refreshing = now;
    this.slots[this.m.prefetch] += 1;
    r.spawn((q2, w2, r2) => {
      item.refreshing = 0;
      const fresh = this.store(q2, w2, r2);
      // CoreDNS carries the popularity over to the new item.
      if (fresh !== null) {
        fresh.hits = item.hits;
        fresh.last = now;
      }
    });
  }

  /**
   * serve_stale verify: the refresh came back. A NOERROR or NXDOMAIN answer is stored and sent;
   * anything else (SERVFAIL, REFUSED, an upstream that did not answer) gets the stale item.
   */
  private verified(p: Pending, stale: Item, q2: Query, w2: ResponseWriter, r2: RequestState): void {
    this.useAddressOf(p.q);
    const rcode = w2.rcode;
    if (r2.error === null && (w2.flags & FLAG_TC) === 0 && (rcode === RCODE.NOERROR || rcode === RCODE.NXDOMAIN)) {
      this.store(q2, w2, r2);
      const from = TCP_PREFIX + q2.questionEnd;
      const out = p.writer(w2.end - from);
      out.start(p.q, rcode, w2.flags & KEPT_FLAGS);
      out.appendRecords(w2.buf, from, w2.end, w2.an, w2.ns, w2.ar);
      p.send(out);
      return;
    }
    this.slots[this.m.servedStale] += 1;
    const out = p.writer(stale.body.length);
    serveItem(p.q, out, stale, this.c.keepTtl ? stale.origTtl : 0);
    p.send(out);
  }

  /**
   * What CoreDNS's cache ResponseWriter does with a response on its way out: every TTL becomes
   * the item's TTL (for all responses, cached or not), AD is cleared for clients that asked for
   * neither DO nor AD, and a cacheable response is stored. Returns the new item, if any.
   */
  private store(q: Query, w: ResponseWriter, r: RequestState): Item | null {
    this.useAddressOf(q);
    const b = w.buf;
    const base = TCP_PREFIX + q.questionEnd;
    const end = w.end;
    const count = w.an + w.ns + w.ar;
    if (count > MAX_RECORDS) return this.dropped();
    const ttls = this.ttlScratch;
    let o = base;
    let optAt = -1;
    let answerMatch = false;
    let soa = false;
    let nsCount = 0;
    let records = 0;
    let minTtl = Infinity;
    for (let i = 0; i < count; i++) {
      const start = o;
      o = skipName(b, o, end);
      if (o < 0 || o + 10 > end) return this.dropped();
      const type = (b[o]! << 8) | b[o + 1]!;
      const rdlen = (b[o + 8]! << 8) | b[o + 9]!;
      if (type === QTYPE.OPT) {
        // Hop-by-hop: never cached. Only a last one can be left out without moving pointers.
        if (i !== count - 1 || optAt >= 0) return this.dropped();
        optAt = start;
      } else {
        const t = o + 4;
        ttls[records++] = t - base;
        const ttl = ((b[t]! << 24) | (b[t + 1]! << 16) | (b[t + 2]! << 8) | b[t + 3]!) >>> 0;
        if (ttl < minTtl) minTtl = ttl;
        if (i < w.an) {
          if (type === q.qtype) answerMatch = true;
        } else if (i < w.an + w.ns) {
          if (type === QTYPE.SOA) soa = true;
          else if (type === QTYPE.NS) nsCount++;
        }
      }
      o += 10 + rdlen;
      if (o > end) return this.dropped();
    }
    if (o !== end) return this.dropped();

    // response.Typify, plus plugin/cache's key(): truncated answers, zone transfers and other
    // rcodes are not cached.
    const rcode = w.rcode;
    const addrLookup = q.qtype === QTYPE.A || q.qtype === QTYPE.AAAA;
    let kind = NONE;
    let typed = false; // NoError, NameError or NoData: dnsutil.MinimalTTL reads the records
    let noData = false;
    if (w.an > 0 && rcode === RCODE.NOERROR) {
      if (answerMatch || !addrLookup) kind = SUCCESS;
      else { kind = DENIAL; noData = true; }
      typed = true;
    } else if (soa && rcode === RCODE.NOERROR) {
      kind = DENIAL; noData = true; typed = true;
    } else if (soa && rcode === RCODE.NXDOMAIN) {
      kind = DENIAL; typed = true;
    } else if (rcode === RCODE.SERVFAIL || rcode === RCODE.NOTIMP) {
      kind = SERVFAIL;
    } else if (nsCount > 0 && rcode === RCODE.NOERROR) {
      kind = SUCCESS; // a delegation
    } else if (rcode === RCODE.NOERROR) {
      kind = SUCCESS; typed = true;
    }
    const cls = kind === DENIAL ? this.c.denial : this.c.success;
    let ttl: number;
    if (kind === SERVFAIL) {
      ttl = this.c.servfailTtl;
    } else {
      // dnsutil.MinimalTTL: the lowest TTL of all records, with 5 s when there is none to go by.
      let msgTtl = Math.min(minTtl, cls.maxTtl);
      if (!typed || records === 0 || (noData && w.ns === 0)) msgTtl = FALLBACK_TTL;
      ttl = Math.min(Math.max(msgTtl, cls.minTtl), cls.maxTtl);
    }
    // "Apply capped TTL to this reply": the client sees the TTL the item will count down from.
    for (let i = 0; i < records; i++) {
      const t = base + ttls[i]!;
      b[t] = ttl >>> 24;
      b[t + 1] = (ttl >>> 16) & 0xff;
      b[t + 2] = (ttl >>> 8) & 0xff;
      b[t + 3] = ttl & 0xff;
    }
    if (!q.doBit && (q.flags & FLAG_AD) === 0) w.flags &= ~FLAG_AD;

    if (kind === NONE || ttl <= 0 || (w.flags & FLAG_TC) !== 0) return null;
    if (q.qtype === QTYPE.AXFR || q.qtype === QTYPE.IXFR) return null;
    // A failure the chain reported (no upstream answered, a plugin error), not an answer it got:
    // CoreDNS never sees those as written responses, so they are not cached.
    if (r.error !== null) return null;
    const except = kind === SUCCESS ? this.noSuccess : this.noDenial;
    if (except !== null && except.match(q) >= 0) return null;

    const bodyEnd = optAt >= 0 ? optAt : end;
    const body = new Uint8Array(b.subarray(base, bodyEnd)); // a copy (Buffer#slice would share)
    const item = new Item(q, keyOf(q), rcode, w.flags, body, w.an, w.ns, optAt >= 0 ? w.ar - 1 : w.ar, ttls.slice(0, records), ttl, performance.now(), kind !== SUCCESS);
    if (kind === SUCCESS) {
      // One store serves every address of the block: its counts go under the first one.
      if (this.success.add(item)) this.slots[this.byAddress[0]!.evictSuccess] += 1;
      // The newest answer wins: a positive one ends a cached denial (CoreDNS drops it on
      // prefetch; otherwise the denial had expired anyway).
      this.denial.remove(item.key);
    } else {
      if (this.denial.add(item)) this.slots[this.byAddress[0]!.evictDenial] += 1;
      // A SERVFAIL leaves a positive answer in place (lookup prefers it); a denial replaces it.
      if (kind === DENIAL) this.success.remove(item.key);
    }
    this.slots[this.byAddress[0]!.entriesSuccess] = this.success.size;
    this.slots[this.byAddress[0]!.entriesDenial] = this.denial.size;
    return item;
  }

  /** A response we cannot index (CoreDNS: coredns_cache_drops_total, "the reply is malformed"). */
  private dropped(): null {
    this.slots[this.m.drops] += 1;
    return null;
  }
}

/** Writes `item` as the answer to `q`, every record's TTL set to `ttl`. Allocates nothing. */
function serveItem(q: Query, w: ResponseWriter, item: Item, ttl: number): void {
  let flags = item.flags;
  // "When DNSSEC was not wanted, it can't be authenticated data" (unless the client set AD).
  if (!q.doBit && (q.flags & FLAG_AD) === 0) flags &= ~FLAG_AD;
  w.start(q, item.rcode, flags);
  const base = w.end;
  w.appendItemBody(item.body, item.an, item.ns, item.ar);
  const b = w.buf;
  const at = item.ttlAt;
  const b0 = ttl >>> 24;
  const b1 = (ttl >>> 16) & 0xff;
  const b2 = (ttl >>> 8) & 0xff;
  const b3 = ttl & 0xff;
  for (let i = 0; i < at.length; i++) {
    const t = base + at[i]!;
    b[t] = b0;
    b[t + 1] = b1;
    b[t + 2] = b2;
    b[t + 3] = b3;
  }
}
