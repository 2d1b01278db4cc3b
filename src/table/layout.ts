// Byte layout of the record table shared between the primary (one writer) and the workers
// (many readers). Everything a reader needs is in the SharedArrayBuffer; the top-level README
// ("How it works") describes the design.

/** Header: 16 Int32 slots (64 bytes). */
export const HEADER_BYTES = 64;
export const H_MAGIC = 0;
/** Seqlock counter: odd while the writer is applying a batch. */
export const H_SEQ = 1;
export const H_SLOTS = 2;
export const H_ARENA_START = 3;
export const H_READY = 4;
/** Bumped on every committed batch: the table's generation, for metrics and tests. */
export const H_GENERATION = 5;
/** Set on a buffer the writer has replaced: readers must pick up the new one (left mid-batch). */
export const H_MOVED = 6;
/**
 * Set while the table is being filled and already served (a first sync in steps): a name it
 * lacks may only be missing so far, so readers must not answer NXDOMAIN for it without asking
 * the writer (TableReader.want) or waiting for the end (kubernetes plugin, issue 13).
 */
export const H_PARTIAL = 7;
export const MAGIC = 0x6b646e73; // "kdns"

/** Each slot is two Int32: [name hash, entry offset]. Offset 0 = never used; < 0 = deleted. */
export const SLOT_INTS = 2;
/** Int32 index of slot 0 (slots follow the header). */
export const SLOT_BASE = HEADER_BYTES / 4;

// Entry: u16 nameLen, u16 variantCount, name bytes (lower-cased wire), pad to 4, variants, data.
export const ENTRY_HEAD = 4;
/** Variant: u16 qtype, u8 rcode, u8 flags, u16 an, u16 ns, u16 ar, u16 len, u32 dataOffset. */
export const VARIANT_BYTES = 16;
export const V_FLAG_AA = 1;
/**
 * The answer ends with the zone's SOA in the authority section (NODATA, RFC 2308 2.2), written
 * at answer time from the apex entry rather than stored in every entry (it is the same SOA for
 * every name of the zone, so storing it once saves about 60 bytes per name).
 */
export const V_FLAG_ZONE_SOA = 2;

/** Variant for every query type not listed separately (NODATA, or a CNAME). */
export const QTYPE_DEFAULT = 0;
/**
 * Variant present only at a zone apex: its SOA record without the owner name, used as the
 * authority section of NXDOMAIN answers for names below the apex (the owner is written as a
 * pointer to the apex's position inside the question, which depends on the query).
 */
export const QTYPE_ZONE_NEGATIVE = 0xffff;

export function align4(n: number): number {
  return (n + 3) & ~3;
}
