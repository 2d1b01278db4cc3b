// One class of cached responses (success or denial) of one worker: items by key, in 256 shards
// of fixed capacity with random eviction inside a full shard, as CoreDNS's plugin/pkg/cache.
import { FLAG_AA, FLAG_AD, FLAG_CD, FLAG_RA } from '../../dns/constants.ts';
import type { Query } from '../../dns/query.ts';
import { FNV_PRIME } from '../../dns/name.ts';

/** CoreDNS's shard count: a cache holds 256 shards of equal capacity. */
export const SHARDS = 256;

/** Header bits a cached response keeps (the rest come from the query being answered). */
export const KEPT_FLAGS = FLAG_AA | FLAG_RA | FLAG_AD;

/**
 * The cache key of a query: the lower-cased name's hash with type, class, DO and CD folded in
 * (CoreDNS hashes the same five). Kept to 30 bits so it is a small integer: Map lookups with it
 * never allocate. Different questions may share a key; an item confirms the question on a hit.
 */
export function keyOf(q: Query): number {
  let h = Math.imul(q.hash ^ q.qtype, FNV_PRIME);
  h = Math.imul(h ^ q.qclass, FNV_PRIME);
  h = Math.imul(h ^ ((q.doBit ? 1 : 0) | ((q.flags & FLAG_CD) !== 0 ? 2 : 0)), FNV_PRIME);
  return (h ^ (h >>> 15)) & 0x3fffffff;
}

/** A cached response: its record sections in wire form, ready to copy behind a question. */
export class Item {
  readonly key: number;
  /** Lower-cased wire name, type, class, DO and CD of the question it answers. */
  readonly name: Uint8Array;
  readonly qtype: number;
  readonly qclass: number;
  readonly doBit: boolean;
  readonly cd: boolean;
  readonly rcode: number;
  /** AA, RA and AD of the response. */
  readonly flags: number;
  /** Records after the question; compression pointers assume a question of the same length. */
  readonly body: Uint8Array;
  readonly an: number;
  readonly ns: number;
  readonly ar: number;
  /** Offsets in `body` of every record's TTL. */
  readonly ttlAt: Uint16Array;
  /** The item's TTL in seconds (the one served when it was stored), and when (performance.now()). */
  readonly origTtl: number;
  readonly stored: number;
  readonly denial: boolean;
  /** Prefetch popularity (CoreDNS's freq): hits with no gap longer than the window. */
  hits = 0;
  last = -Infinity;
  /** When a background refresh of this item started (0: none running). */
  refreshing = 0;
  /** Position in its shard. */
  pos = 0;

  constructor(q: Query, key: number, rcode: number, flags: number, body: Uint8Array, an: number, ns: number, ar: number, ttlAt: Uint16Array, origTtl: number, stored: number, denial: boolean) {
    this.key = key;
    this.name = q.lower.slice(0, q.nameLen);
    this.qtype = q.qtype;
    this.qclass = q.qclass;
    this.doBit = q.doBit;
    this.cd = (q.flags & FLAG_CD) !== 0;
    this.rcode = rcode;
    this.flags = flags & KEPT_FLAGS;
    this.body = body;
    this.an = an;
    this.ns = ns;
    this.ar = ar;
    this.ttlAt = ttlAt;
    this.origTtl = origTtl;
    this.stored = stored;
    this.denial = denial;
  }

  /** Seconds left (CoreDNS: origTTL minus whole seconds elapsed); 0 or less once expired. */
  ttl(now: number): number {
    return this.origTtl - Math.floor((now - this.stored) / 1000);
  }

  /** Is this the answer to `q` (same name, type, class, DO and CD)? */
  answers(q: Query): boolean {
    if (q.qtype !== this.qtype || q.qclass !== this.qclass || q.doBit !== this.doBit || ((q.flags & FLAG_CD) !== 0) !== this.cd) return false;
    const name = this.name;
    if (q.nameLen !== name.length) return false;
    const lower = q.lower;
    for (let i = 0; i < name.length; i++) if (lower[i] !== name[i]) return false;
    return true;
  }
}

export class Store {
  private readonly items = new Map<number, Item>();
  private readonly shards: Item[][] = [];
  private readonly shardCapacity: number;

  constructor(shardCapacity: number) {
    this.shardCapacity = shardCapacity;
    for (let i = 0; i < SHARDS; i++) this.shards.push([]);
  }

  get size(): number {
    return this.items.size;
  }

  get(key: number): Item | undefined {
    return this.items.get(key);
  }

  /**
   * Adds or replaces the item under its key; a full shard first loses a random item. True when
   * one was evicted for it (CoreDNS's Add result, counted as an eviction).
   */
  add(item: Item): boolean {
    const shard = this.shards[item.key & (SHARDS - 1)]!;
    const old = this.items.get(item.key);
    let evicted = false;
    if (old !== undefined) {
      item.pos = old.pos;
    } else if (shard.length >= this.shardCapacity) {
      item.pos = Math.floor(Math.random() * shard.length);
      this.items.delete(shard[item.pos]!.key);
      evicted = true;
    } else {
      item.pos = shard.length;
      shard.push(item);
    }
    shard[item.pos] = item;
    this.items.set(item.key, item);
    return evicted;
  }

  remove(key: number): void {
    const item = this.items.get(key);
    if (item === undefined) return;
    this.items.delete(key);
    const shard = this.shards[key & (SHARDS - 1)]!;
    const last = shard.pop()!;
    if (last !== item) {
      shard[item.pos] = last;
      last.pos = item.pos;
    }
  }
}
