// Encodes the table entry for one owner name: every answer a query for that name can get,
// already in wire format. Runs on the primary when data changes, never per query.
//
// Names inside the records are compressed against the question (always at offset 12 and, in
// every response that uses this entry, made of the same labels as the owner name) and against
// names written earlier, so the bytes are valid for any query that matches this entry whatever
// the case the client used.
import dnsPacket from 'dns-packet';
import { HEADER_SIZE, typeFromName } from '../dns/constants.ts';
import { canonicalName, canonicalNameToWireView } from '../dns/name.ts';
import { ENTRY_HEAD, QTYPE_ZONE_NEGATIVE, VARIANT_BYTES, V_FLAG_AA, V_FLAG_ZONE_SOA, align4 } from './layout.ts';

/** A resource record in dns-packet's object form (`data` as dns-packet expects it). */
export interface RR {
  name: string;
  type: string;
  ttl: number;
  class?: string;
  data: unknown;
}

export interface VariantSpec {
  /** Query type this answers; QTYPE_DEFAULT (0) for every type not listed. */
  qtype: number;
  rcode?: number;
  /** Authoritative answer bit (default true: entries hold our own authoritative data). */
  aa?: boolean;
  /** Append the zone's SOA to the authority section when answering (see V_FLAG_ZONE_SOA). */
  zoneSoa?: boolean;
  answer?: RR[];
  authority?: RR[];
  additional?: RR[];
}

/** Largest section data a variant may hold (a TCP message is at most 65535 bytes). */
export const MAX_VARIANT_BYTES = 65535 - 512;

const COMPRESSED_RDATA = new Set(['CNAME', 'NS', 'PTR', 'MX', 'SOA']);

/** Scratch space shared by every encoding (encoding is synchronous, so one at a time). */
const SECTION_SCRATCH = Buffer.alloc(65535 * 2);
const RDATA_SCRATCH = Buffer.alloc(65535 + 2);

/**
 * Compression targets of the message being written: each name suffix written so far and its
 * offset, in the order written (so offsets only grow). A suffix is kept as the name it was
 * written from and the index it starts at, not as a sliced string: a 270,000-name first sync
 * would otherwise make ~6 strings a name only to compare them (~230 MiB of garbage at 10,000
 * Services, bench/RESULTS.md). Most variants hold a handful (the question's suffixes and a few
 * more), found by a scan of three arrays reused from one variant to the next; past INDEX_AFTER
 * targets (an SRV set of many endpoints) a Map of sliced suffixes indexes them too, so a big
 * variant stays linear.
 */
class CompressionTargets {
  private static readonly INDEX_AFTER = 24;
  private readonly names: string[] = [];
  private readonly starts: number[] = [];
  private readonly offsets: number[] = [];
  private count = 0;
  private index: Map<string, number> | null = null;

  clear(): void {
    this.count = 0;
    this.index = null;
  }

  /** The offset of the suffix of `n` that starts at `start`, if written. */
  get(n: string, start: number): number | undefined {
    if (this.index !== null) return this.index.get(start === 0 ? n : n.slice(start));
    const len = n.length - start;
    for (let i = 0; i < this.count; i++) {
      const m = this.names[i]!;
      const from = this.starts[i]!;
      // The same string with as many characters left is the same suffix.
      if (m.length - from === len && (m === n || sameChars(m, from, n, start, len))) return this.offsets[i];
    }
    return undefined;
  }

  /** Adds the suffix of `n` from `start` (the caller has checked it is not there yet). */
  add(n: string, start: number, offset: number): void {
    this.names[this.count] = n;
    this.starts[this.count] = start;
    this.offsets[this.count] = offset;
    this.count++;
    if (this.index !== null) this.index.set(n.slice(start), offset);
    else if (this.count > CompressionTargets.INDEX_AFTER) {
      this.index = new Map();
      for (let i = 0; i < this.count; i++) this.index.set(this.names[i]!.slice(this.starts[i]!), this.offsets[i]!);
    }
  }

  /** Forgets the targets at `offset` or later (they were written last). */
  dropFrom(offset: number): void {
    while (this.count > 0 && this.offsets[this.count - 1]! >= offset) {
      this.count--;
      this.index?.delete(this.names[this.count]!.slice(this.starts[this.count]!));
    }
  }
}

function sameChars(a: string, from: number, b: string, start: number, len: number): boolean {
  for (let k = 0; k < len; k++) if (a.charCodeAt(from + k) !== b.charCodeAt(start + k)) return false;
  return true;
}

/**
 * The question's suffixes (the owner name's), as label starts and message offsets, computed once
 * per entry and seeded into every variant's targets. Module scratch: encoding is synchronous.
 */
const ownerStarts: number[] = [];
const ownerOffsets: number[] = [];
let ownerCount = 0;

function measureOwner(n: string): void {
  let ascii = true;
  for (let i = 0; i < n.length; i++) if (n.charCodeAt(i) > 0x7f) ascii = false;
  let off = HEADER_SIZE;
  ownerCount = 0;
  for (let start = 0; start < n.length - 1; ) {
    ownerStarts[ownerCount] = start;
    ownerOffsets[ownerCount] = off;
    ownerCount++;
    const dot = n.indexOf('.', start);
    off += 1 + (ascii ? dot - start : Buffer.byteLength(n.slice(start, dot)));
    start = dot + 1;
  }
}

/**
 * Writes one variant's sections into SECTION_SCRATCH. One instance serves every variant of
 * every entry (reset() before each), so a 270,000-name first sync makes no writer objects.
 */
class SectionWriter {
  readonly buf = SECTION_SCRATCH;
  pos = 0;
  private readonly names = new CompressionTargets();
  private base = -1;

  /**
   * `base` is the absolute message offset of buf[0] (-1: position unknown, so no compression);
   * `owner` (canonical, measured by measureOwner) seeds the question's suffixes.
   */
  reset(base: number, owner: string | null): this {
    this.base = base;
    this.pos = 0;
    this.names.clear();
    if (owner !== null) for (let i = 0; i < ownerCount; i++) this.names.add(owner, ownerStarts[i]!, ownerOffsets[i]!);
    return this;
  }

  /** Drops everything written from `at` on, and the compression targets inside it. */
  rollback(at: number): void {
    this.pos = at;
    this.names.dropFrom(this.base + at);
  }

  u8(v: number): void {
    this.buf[this.pos++] = v;
  }
  u16(v: number): void {
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
  }
  u32(v: number): void {
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
  }

  /** Writes a name, pointing at an earlier copy of its longest known suffix (RFC 1035 4.1.4). */
  name(name: string, compress: boolean): void {
    const n = canonicalName(name);
    for (let start = 0; start < n.length - 1; ) {
      const at = this.names.get(n, start);
      if (compress && at !== undefined) {
        this.u16(0xc000 | at);
        return;
      }
      const abs = this.base + this.pos;
      if (this.base >= 0 && abs < 0x4000 && at === undefined) this.names.add(n, start, abs);
      const dot = n.indexOf('.', start);
      this.label(n, start, dot);
      start = dot + 1;
    }
    this.u8(0);
  }

  private label(n: string, from: number, to: number): void {
    let ascii = true;
    for (let i = from; i < to; i++) if (n.charCodeAt(i) > 0x7f) ascii = false;
    if (!ascii) {
      const bytes = Buffer.from(n.slice(from, to));
      this.u8(bytes.length);
      bytes.copy(this.buf, this.pos);
      this.pos += bytes.length;
      return;
    }
    this.u8(to - from);
    for (let i = from; i < to; i++) this.buf[this.pos++] = n.charCodeAt(i);
  }

  /** One RR; `withOwner` false writes it without its owner (the zone-negative SOA tail). */
  record(rr: RR, withOwner = true): void {
    if (withOwner) this.name(rr.name, true);
    const type = typeFromName(rr.type);
    if (type === undefined) throw new Error(`unknown record type ${rr.type}`);
    this.u16(type);
    this.u16(rr.class === 'CH' ? 3 : rr.class === 'HS' ? 4 : 1);
    this.u32(rr.ttl);
    const lenAt = this.pos;
    this.pos += 2;
    const t = rr.type.toUpperCase();
    const d = rr.data as Record<string, unknown>;
    if (COMPRESSED_RDATA.has(t)) {
      switch (t) {
        case 'MX':
          this.u16(Number(d.preference ?? 0));
          this.name(String(d.exchange), true);
          break;
        case 'SOA':
          this.name(String(d.mname), true);
          this.name(String(d.rname), true);
          for (const f of ['serial', 'refresh', 'retry', 'expire', 'minimum']) this.u32(Number(d[f] ?? 0));
          break;
        default:
          this.name(String(rr.data), true);
      }
    } else if (t === 'SRV') {
      // RFC 2782: the target is never compressed.
      this.u16(Number(d.priority ?? 0));
      this.u16(Number(d.weight ?? 0));
      this.u16(Number(d.port ?? 0));
      this.name(String(d.target), false);
    } else {
      const enc = rdataCodec(t);
      const tmp = enc.encode(rr.data, RDATA_SCRATCH, 0);
      const rdlen = tmp.readUInt16BE(0);
      tmp.copy(this.buf, this.pos, 2, 2 + rdlen);
      this.pos += rdlen;
    }
    this.buf.writeUInt16BE(this.pos - lenAt - 2, lenAt);
  }
}

type RdataCodec = { encode(data: unknown, buf: Buffer, off: number): Buffer };
/** dns-packet's per-type rdata codec (public API, missing from its type definitions). */
function rdataCodec(type: string): RdataCodec {
  return (dnsPacket as unknown as { record(type: string): RdataCodec }).record(type);
}

const WRITER = new SectionWriter();
/** The entry being built: head, variant headers, then each variant's sections copied in. */
let entryScratch = Buffer.alloc(64 * 1024);

/** Room for `bytes` in the entry scratch, keeping what is written (a huge record set). */
function entryRoom(bytes: number): Buffer {
  if (bytes > entryScratch.length) {
    const bigger = Buffer.alloc(Math.max(bytes, entryScratch.length * 2));
    entryScratch.copy(bigger);
    entryScratch = bigger;
  }
  return entryScratch;
}

/**
 * Builds the entry for `owner`. `zoneSoa`, given only for a zone apex, is the SOA used in the
 * authority section of NXDOMAIN answers below it. The result is a copy the caller may keep.
 */
export function encodeEntry(owner: string, variants: VariantSpec[], zoneSoa?: RR): Uint8Array {
  return encodeEntryView(owner, variants, zoneSoa).slice();
}

/**
 * encodeEntry's bytes as a view of scratch space, valid until the next call: for a writer that
 * stores the entry at once (the table copies it into its buffer), so encoding allocates no
 * buffer per name.
 */
export function encodeEntryView(owner: string, variants: VariantSpec[], zoneSoa?: RR): Uint8Array {
  const n = canonicalName(owner);
  const nameWire = canonicalNameToWireView(n, owner); // scratch: copied into the entry at once
  const nameLen = nameWire.length;
  const sectionsBase = HEADER_SIZE + nameLen + 4;
  measureOwner(n);
  const count = variants.length + (zoneSoa ? 1 : 0);
  const head = align4(ENTRY_HEAD + nameLen);
  const out = entryRoom(head + count * VARIANT_BYTES);
  out.writeUInt16LE(nameLen, 0);
  out.writeUInt16LE(count, 2);
  out.set(nameWire, ENTRY_HEAD);
  for (let i = ENTRY_HEAD + nameLen; i < head; i++) out[i] = 0;
  entryVariantAt = head;
  entryDataAt = head + count * VARIANT_BYTES;
  for (const spec of variants) {
    const w = WRITER.reset(sectionsBase, n);
    // A DNS message is at most 65535 bytes (RFC 1035 4.2.2): a huge record set (a headless
    // service with thousands of endpoints) keeps the records that fit, additional ones first
    // to go. Over UDP such an answer is truncated (TC) anyway; over TCP it is as much as fits.
    sectionFull = false;
    const an = fillSection(w, spec.answer);
    const ns = fillSection(w, spec.authority);
    const ar = fillSection(w, spec.additional);
    putVariant(spec.qtype, spec.rcode ?? 0, (spec.aa === false ? 0 : V_FLAG_AA) | (spec.zoneSoa ? V_FLAG_ZONE_SOA : 0), w, an, ns, ar);
  }
  if (zoneSoa) {
    const w = WRITER.reset(-1, null);
    w.record(zoneSoa, false);
    putVariant(QTYPE_ZONE_NEGATIVE, 0, V_FLAG_AA, w, 0, 1, 0);
  }
  // A plain Uint8Array: its slice() copies (a Buffer's would not).
  return new Uint8Array(entryScratch.buffer, entryScratch.byteOffset, entryDataAt);
}

/** Where encodeEntryView writes the next variant header and the next variant's sections. */
let entryVariantAt = 0;
let entryDataAt = 0;
/** The variant being filled ran out of room: its remaining sections stay empty. */
let sectionFull = false;

/** Writes the records that fit into the variant's sections; returns how many did. */
function fillSection(w: SectionWriter, rrs: RR[] | undefined): number {
  if (rrs === undefined) return 0;
  let n = 0;
  for (let i = 0; i < rrs.length && !sectionFull; i++) {
    const at = w.pos;
    w.record(rrs[i]!);
    if (w.pos > MAX_VARIANT_BYTES) {
      w.rollback(at);
      sectionFull = true;
      break;
    }
    n++;
  }
  return n;
}

/** Appends a variant's header and its sections (from the section writer) to the entry. */
function putVariant(qtype: number, rcode: number, flags: number, w: SectionWriter, an: number, ns: number, ar: number): void {
  const out = entryRoom(entryDataAt + w.pos);
  const v = entryVariantAt;
  out.writeUInt16LE(qtype, v);
  out[v + 2] = rcode;
  out[v + 3] = flags;
  out.writeUInt16LE(an, v + 4);
  out.writeUInt16LE(ns, v + 6);
  out.writeUInt16LE(ar, v + 8);
  out.writeUInt16LE(w.pos, v + 10);
  out.writeUInt32LE(entryDataAt, v + 12);
  w.buf.copy(out, entryDataAt, 0, w.pos);
  entryDataAt += w.pos;
  entryVariantAt += VARIANT_BYTES;
}
