// Reorders the records of a finished-but-not-sent response in place, as CoreDNS's loadbalance
// `round_robin` does (plugin/loadbalance/loadbalance.go): per section, CNAMEs first, then the
// other types, then A/AAAA, then MX, with the A/AAAA and MX groups turned round. A section that
// holds only A or only AAAA records is just turned round.
//
// The records are moved as bytes, so compression pointers must stay right. Every name in the
// message is walked (owners, and the names inside the RDATA of the types that may carry
// compressed names) with its pointer chain followed; a pointer that lands in the span being
// reordered is rewritten to where its target moves. A response we cannot read completely (an
// unknown layout that may hold pointers, malformed names, a target past 16 KiB after the move)
// is left in the order it came in. Nothing here allocates: the scratch arrays belong to one
// instance per worker thread.
import { HEADER_SIZE, QTYPE } from '../../dns/constants.ts';
import { skipName } from '../../dns/message.ts';

/** A 64 KiB message holds at most ~5,960 records (11 bytes each at least). */
const MAX_RECORDS = 8192;
/** Pointers into the moved span we rewrite at most (the message is left alone beyond that). */
const MAX_FIXES = 16384;
/** Pointer hops followed per name (real messages need 1-3). */
const MAX_HOPS = 16;
const MAX_POINTER = 0x3fff;

// Record groups, in the order CoreDNS puts them in a mixed section.
const G_CNAME = 0;
const G_REST = 1;
const G_ADDR = 2;
const G_MX = 3;

// Where the RDATA of a type may hold (compressible) names (RFC 1035 3.3, RFC 3597 4).
const RD_NONE = 0;
/** One name at the start (NS, MD, MF, CNAME, MB, MG, MR, PTR, DNAME). */
const RD_NAME = 1;
/** Two names (SOA, then 20 bytes of numbers; MINFO, RP). */
const RD_TWO_NAMES = 2;
/** A 16-bit number, then a name (MX, AFSDB, RT, KX). */
const RD_U16_NAME = 3;
/** Priority, weight, port, then a name (SRV). */
const RD_SRV = 4;
/** A 16-bit number, then two names (PX). */
const RD_U16_TWO_NAMES = 5;
/** May hold compressed names we do not parse (SIG, NXT, NAPTR): never move such a message. */
const RD_UNSURE = 6;

function rdataLayout(type: number): number {
  switch (type) {
    case 2: case 3: case 4: case 5: case 7: case 8: case 9: case 12: case 39:
      return RD_NAME;
    case 6: case 14: case 17:
      return RD_TWO_NAMES;
    case 15: case 18: case 21: case 36:
      return RD_U16_NAME;
    case 33:
      return RD_SRV;
    case 26:
      return RD_U16_TWO_NAMES;
    case 24: case 30: case 35:
      return RD_UNSURE;
    default:
      return RD_NONE;
  }
}

function groupOf(type: number): number {
  if (type === QTYPE.A || type === QTYPE.AAAA) return G_ADDR;
  if (type === QTYPE.CNAME) return G_CNAME;
  if (type === QTYPE.MX) return G_MX;
  return G_REST;
}

export class RoundRobin {
  /** Record i spans [starts[i], starts[i + 1]). */
  private readonly starts = new Int32Array(MAX_RECORDS + 1);
  private readonly types = new Uint16Array(MAX_RECORDS);
  /** After reordering, position k holds the record that was at index perm[k]. */
  private readonly perm = new Int32Array(MAX_RECORDS);
  private readonly tmp = new Int32Array(MAX_RECORDS);
  /** Where record i (old index) starts once moved. */
  private readonly newStart = new Int32Array(MAX_RECORDS);
  private readonly fixAt = new Int32Array(MAX_FIXES);
  private readonly fixTo = new Int32Array(MAX_FIXES);
  /** Start of the name (or of the pointer hop) each noted pointer belongs to. */
  private readonly fixFrom = new Int32Array(MAX_FIXES);
  private fixes = 0;
  private readonly copy = new Uint8Array(65536);
  // The span being moved (absolute offsets) and its first/last record, for the pointer walk.
  private spanStart = 0;
  private spanEnd = 0;
  private first = 0;
  private last = 0;

  /**
   * Reorders the sections of the message at `b[base..end)` (records from `from`, counts an/ns/ar)
   * turned round by `turn`. Returns true when some group of two or more records was there to turn
   * (the caller then advances its counter), whether or not it could be moved safely.
   */
  apply(b: Uint8Array, base: number, from: number, end: number, an: number, ns: number, ar: number, turn: number): boolean {
    const n = an + ns + ar;
    if (n < 2 || n > MAX_RECORDS) return false;
    const starts = this.starts;
    const types = this.types;
    let o = from;
    for (let i = 0; i < n; i++) {
      starts[i] = o;
      o = skipName(b, o, end);
      if (o < 0 || o + 10 > end) return false;
      types[i] = (b[o]! << 8) | b[o + 1]!;
      o += 10 + ((b[o + 8]! << 8) | b[o + 9]!);
      if (o > end) return false;
    }
    if (o !== end) return false;
    starts[n] = o;

    const perm = this.perm;
    for (let i = 0; i < n; i++) perm[i] = i;
    let turned = this.orderSection(0, an, turn);
    if (this.orderSection(an, an + ns, turn)) turned = true;
    if (this.orderSection(an + ns, n, turn)) turned = true;

    let first = 0;
    while (first < n && perm[first] === first) first++;
    if (first === n) return turned;
    let last = n - 1;
    while (perm[last] === last) last--;
    this.first = first;
    this.last = last;
    this.spanStart = starts[first]!;
    this.spanEnd = starts[last + 1]!;
    let at = this.spanStart;
    for (let k = first; k <= last; k++) {
      const i = perm[k]!;
      this.newStart[i] = at;
      at += starts[i + 1]! - starts[i]!;
    }
    if (!this.findPointers(b, base, n, end)) return turned;
    for (let f = 0; f < this.fixes; f++) {
      // Still encodable, and still pointing back: RFC 1035 4.1.4 pointers go to a prior
      // occurrence, and strict readers (systemd-resolved, Knot, dns-packet) refuse any other.
      const to = this.relocate(this.fixTo[f]!);
      if (to - base > MAX_POINTER || to >= this.relocate(this.fixFrom[f]!)) return turned;
    }
    this.move(b, base);
    return turned;
  }

  /** Sets perm for records [s, e) of one section; true when a group of 2+ is turned. */
  private orderSection(s: number, e: number, turn: number): boolean {
    const len = e - s;
    if (len < 2) return false;
    const types = this.types;
    const perm = this.perm;
    const t0 = types[s]!;
    let same = true;
    for (let i = s + 1; i < e && same; i++) same = types[i] === t0;
    if (same && (t0 === QTYPE.A || t0 === QTYPE.AAAA)) {
      this.turn(s, len, turn);
      return true;
    }
    let k = s;
    let turned = false;
    for (let g = G_CNAME; g <= G_MX; g++) {
      const groupStart = k;
      for (let i = s; i < e; i++) if (groupOf(types[i]!) === g) perm[k++] = i;
      if ((g === G_ADDR || g === G_MX) && k - groupStart >= 2) {
        this.turn(groupStart, k - groupStart, turn);
        turned = true;
      }
    }
    return turned;
  }

  /** Turns perm[at .. at + len) round by `turn` places (the record at `turn % len` comes first). */
  private turn(at: number, len: number, turn: number): void {
    if (len < 2) return;
    const r = turn % len;
    if (r === 0) return;
    const perm = this.perm;
    const tmp = this.tmp;
    for (let k = 0; k < len; k++) tmp[k] = perm[at + k]!;
    for (let k = 0; k < len; k++) perm[at + k] = tmp[(k + r) % len]!;
  }

  /** Finds every pointer that lands in the span; false when the message cannot be read fully. */
  private findPointers(b: Uint8Array, base: number, n: number, end: number): boolean {
    this.fixes = 0;
    const starts = this.starts;
    for (let i = 0; i < n; i++) {
      let o = starts[i]!;
      if (!this.walkName(b, base, o, starts[i + 1]!, end)) return false;
      o = skipName(b, o, end);
      const rd = o + 10;
      const rdEnd = starts[i + 1]!;
      switch (rdataLayout(this.types[i]!)) {
        case RD_NONE:
          break;
        case RD_NAME:
          if (!this.walkName(b, base, rd, rdEnd, end)) return false;
          break;
        case RD_TWO_NAMES:
          if (!this.walkTwo(b, base, rd, rdEnd, end)) return false;
          break;
        case RD_U16_NAME:
          if (!this.walkName(b, base, rd + 2, rdEnd, end)) return false;
          break;
        case RD_SRV:
          if (!this.walkName(b, base, rd + 6, rdEnd, end)) return false;
          break;
        case RD_U16_TWO_NAMES:
          if (!this.walkTwo(b, base, rd + 2, rdEnd, end)) return false;
          break;
        default:
          return false;
      }
    }
    return true;
  }

  private walkTwo(b: Uint8Array, base: number, o: number, limit: number, end: number): boolean {
    if (!this.walkName(b, base, o, limit, end)) return false;
    const next = skipName(b, o, limit);
    return next >= 0 && this.walkName(b, base, next, limit, end);
  }

  /**
   * Walks the name at `o` (its own labels must end before `limit`) and the pointer chain it
   * ends in, noting every pointer whose target lies in the span. Labels reached through a
   * pointer must not run across a boundary that moves (into, out of, or within the span).
   */
  private walkName(b: Uint8Array, base: number, o: number, limit: number, end: number): boolean {
    let hops = 0;
    let from = o;
    for (let labels = 0; labels < 256; labels++) {
      if (o >= limit) return false;
      const l = b[o]!;
      if (l === 0) return true;
      if ((l & 0xc0) === 0xc0) {
        if (o + 1 >= limit) return false;
        const target = base + (((l & 0x3f) << 8) | b[o + 1]!);
        if (target < base + HEADER_SIZE || target >= end) return false;
        if (target >= this.spanStart && target < this.spanEnd) {
          if (this.fixes === MAX_FIXES) return false;
          this.fixAt[this.fixes] = o;
          this.fixFrom[this.fixes] = from;
          this.fixTo[this.fixes++] = target;
          limit = this.starts[this.recordAt(target) + 1]!;
        } else {
          limit = target < this.spanStart ? this.spanStart : end;
        }
        if (++hops > MAX_HOPS) return false;
        o = from = target;
        continue;
      }
      if ((l & 0xc0) !== 0) return false;
      o += 1 + l;
    }
    return false;
  }

  /** Index of the record (in the span) that holds the byte at `x`. */
  private recordAt(x: number): number {
    const starts = this.starts;
    let lo = this.first;
    let hi = this.last;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= x) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Where the byte at `x` (old layout) is after the move. */
  private relocate(x: number): number {
    if (x < this.spanStart || x >= this.spanEnd) return x;
    const i = this.recordAt(x);
    return x - this.starts[i]! + this.newStart[i]!;
  }

  private move(b: Uint8Array, base: number): void {
    const s = this.spanStart;
    const len = this.spanEnd - s;
    const copy = this.copy;
    for (let i = 0; i < len; i++) copy[i] = b[s + i]!;
    const starts = this.starts;
    for (let i = this.first; i <= this.last; i++) {
      let to = this.newStart[i]!;
      for (let from = starts[i]! - s, stop = starts[i + 1]! - s; from < stop; from++) b[to++] = copy[from]!;
    }
    for (let f = 0; f < this.fixes; f++) {
      const at = this.relocate(this.fixAt[f]!);
      const ptr = this.relocate(this.fixTo[f]!) - base;
      b[at] = 0xc0 | (ptr >> 8);
      b[at + 1] = ptr & 0xff;
    }
  }
}
