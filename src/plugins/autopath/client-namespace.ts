// Is the client a pod of the namespace a query names? CoreDNS answers this from a watch on
// every Pod (`pods verified`); kdns reads it from the kubernetes plugin's record table, which
// already holds it: the PTR record of a pod's address points at `<endpoint>.<svc>.<ns>.svc.<zone>`
// for every pod behind a Service (from the EndpointSlices watched anyway), and with `pods
// verified` the table also holds `<a-b-c-d>.<ns>.pod.<zone>` for every pod. No extra watch, no
// extra memory. A pod behind no Service, without `pods verified`, is not known: its queries are
// answered as without autopath, and its resolver walks the search path itself.
//
// Per lookup: the address parsed from its text, two names built in scratch space, one or two
// table lookups; nothing allocated.
import { QTYPE } from '../../dns/constants.ts';
import { addressBytes } from '../../dns/address-match.ts';
import { hashName } from '../../dns/name.ts';
import type { Query } from '../../dns/query.ts';
import { type TableReader, variantAn, variantData, variantLen } from '../../table/reader.ts';

const HEX = [0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66];
const IN_ADDR_ARPA = [7, 0x69, 0x6e, 0x2d, 0x61, 0x64, 0x64, 0x72, 4, 0x61, 0x72, 0x70, 0x61, 0];
const IP6_ARPA = [3, 0x69, 0x70, 0x36, 4, 0x61, 0x72, 0x70, 0x61, 0];
const POD = [3, 0x70, 0x6f, 0x64];
const HEADER = 12;

export class ClientNamespace {
  private readonly table: TableReader;
  private readonly podsVerified: boolean;
  /** The client's address as 4 bytes (IPv4) or 16. */
  private readonly addr = new Uint8Array(16);
  /** A name being looked up (wire form, lower case). */
  private readonly name = new Uint8Array(256);
  /** A PTR answer laid out as a message (question at 12, then the records), to follow its pointers. */
  private readonly msg = new Uint8Array(65536);
  /** The PTR target being compared, decompressed. */
  private readonly target = new Uint8Array(256);

  constructor(table: TableReader, podsVerified: boolean) {
    this.table = table;
    this.podsVerified = podsVerified;
  }

  /**
   * Is `address` a pod of the namespace whose `<ns>.svc.<zone>` is the query name from offset
   * `nsAt` on (its namespace label)?
   */
  isIn(q: Query, nsAt: number, address: string): boolean {
    const len = this.parse(address);
    if (len === 0) return false;
    return this.byPtr(q, nsAt, len) || (this.podsVerified && this.byPodName(q, nsAt, len));
  }

  /** Fills `addr` from the text form (IPv4-mapped IPv6 is IPv4); returns 4, 16 or 0. */
  private parse(a: string): number {
    return addressBytes(a, this.addr);
  }

  /** A PTR of the address points into the namespace (RFC 1035 3.5, RFC 3596 2.5 names). */
  private byPtr(q: Query, nsAt: number, len: number): boolean {
    const b = this.name;
    let o = 0;
    if (len === 4) {
      for (let i = 3; i >= 0; i--) o = writeDecimalLabel(b, o, this.addr[i]!);
      for (const x of IN_ADDR_ARPA) b[o++] = x;
    } else {
      for (let i = 15; i >= 0; i--) {
        b[o++] = 1;
        b[o++] = HEX[this.addr[i]! & 0xf]!;
        b[o++] = 1;
        b[o++] = HEX[this.addr[i]! >> 4]!;
      }
      for (const x of IP6_ARPA) b[o++] = x;
    }
    const t = this.table;
    const entry = t.findName(b, o, hashName(b, 0, o));
    if (entry === 0) return false;
    const v = t.exactVariant(entry, QTYPE.PTR);
    if (v < 0) return false;
    // The records, behind the question they were compressed against (entry.ts).
    const m = this.msg;
    const dataLen = variantLen(t.u8, v);
    if (HEADER + o + 4 + dataLen > m.length) return false;
    for (let i = 0; i < o; i++) m[HEADER + i] = b[i]!;
    let p = HEADER + o + 4;
    const data = variantData(t.u8, v, entry);
    for (let i = 0; i < dataLen; i++) m[p + i] = t.u8[data + i]!;
    const end = p + dataLen;
    for (let k = variantAn(t.u8, v); k > 0 && p < end; k--) {
      p = skipOwner(m, p, end);
      if (p < 0 || p + 10 > end) return false;
      const type = (m[p]! << 8) | m[p + 1]!;
      const rdlen = (m[p + 8]! << 8) | m[p + 9]!;
      p += 10;
      if (type === QTYPE.PTR && this.targetIn(m, p, end, q, nsAt)) return true;
      p += rdlen;
    }
    return false;
  }

  /** Does the (compressed) name at m[at] end with the query's labels from nsAt? */
  private targetIn(m: Uint8Array, at: number, end: number, q: Query, nsAt: number): boolean {
    const tg = this.target;
    let n = 0;
    let p = at;
    let labels = 0;
    const labelAt = TARGET_STARTS;
    for (let jumps = 0; jumps < 64; ) {
      if (p >= end) return false;
      const l = m[p]!;
      if (l === 0) break;
      if ((l & 0xc0) === 0xc0) {
        p = ((l & 0x3f) << 8) | m[p + 1]!;
        jumps++;
        continue;
      }
      if (n + 1 + l > 255) return false;
      labelAt[labels++] = n;
      tg[n++] = l;
      for (let i = 1; i <= l; i++) {
        const c = m[p + i]!;
        tg[n++] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
      }
      p += 1 + l;
    }
    tg[n++] = 0;
    const suffix = q.nameLen - nsAt;
    const from = n - suffix;
    if (from <= 0) return false;
    let boundary = false;
    for (let i = 0; i < labels; i++) if (labelAt[i] === from) boundary = true;
    if (!boundary) return false;
    for (let i = 0; i < suffix; i++) if (tg[from + i] !== q.lower[nsAt + i]) return false;
    return true;
  }

  /** `<address with dashes>.<ns>.pod.<zone>` is in the table (`pods verified`). */
  private byPodName(q: Query, nsAt: number, len: number): boolean {
    const b = this.name;
    let o = 1;
    if (len === 4) {
      for (let i = 0; i < 4; i++) {
        if (i > 0) b[o++] = 0x2d;
        o = writeDecimal(b, o, this.addr[i]!);
      }
    } else {
      // A pod's IPv6 name is its address as the API wrote it (`fd00--5`): one text form of
      // many for the same bytes, so IPv6 clients are matched by their PTR only.
      return false;
    }
    b[0] = o - 1;
    // `<ns>` label, then `pod`, then the zone: the query's labels with `svc` replaced.
    const nsLen = q.lower[nsAt]! + 1;
    for (let i = 0; i < nsLen; i++) b[o++] = q.lower[nsAt + i]!;
    for (const x of POD) b[o++] = x;
    const zoneAt = nsAt + nsLen + 4;
    for (let i = zoneAt; i < q.nameLen; i++) b[o++] = q.lower[i]!;
    return this.table.findName(b, o, hashName(b, 0, o)) !== 0;
  }
}

const TARGET_STARTS = new Uint8Array(128);

function skipOwner(m: Uint8Array, p: number, end: number): number {
  while (p < end) {
    const l = m[p]!;
    if (l === 0) return p + 1;
    if ((l & 0xc0) === 0xc0) return p + 2;
    p += 1 + l;
  }
  return -1;
}

function writeDecimal(b: Uint8Array, o: number, v: number): number {
  if (v >= 100) b[o++] = 0x30 + Math.floor(v / 100);
  if (v >= 10) b[o++] = 0x30 + (Math.floor(v / 10) % 10);
  b[o++] = 0x30 + (v % 10);
  return o;
}

function writeDecimalLabel(b: Uint8Array, o: number, v: number): number {
  const start = o++;
  o = writeDecimal(b, o, v);
  b[start] = o - start - 1;
  return o;
}
