// A worker's read-only view of one record table. Lookups never lock and never copy the table:
// they read the slot under a seqlock (retrying while the primary is mid-batch) and return the
// offset of an immutable entry whose bytes can be copied into the response afterwards.
import {
  ENTRY_HEAD, H_MAGIC, H_MOVED, H_PARTIAL, H_READY, H_SEQ, H_SLOTS, MAGIC, QTYPE_DEFAULT,
  SLOT_BASE, SLOT_INTS, VARIANT_BYTES, align4,
} from './layout.ts';
import type { Query } from '../dns/query.ts';

/** How long a reader waits for the writer to finish a batch before reading anyway. */
const MAX_SPINS = 1 << 20;

export class TableReader {
  u8!: Uint8Array;
  private i32!: Int32Array;
  private slotMask = 0;
  /** Asks for a replacement buffer right now (synchronous poll of the swap channel). */
  private readonly pollSwap: () => void;
  /** Sends a want to the table's writer (the primary). */
  private readonly sendWant: (name: string) => void;
  private readonly builtListeners: Array<(names: string[] | null) => void> = [];

  constructor(sab: SharedArrayBuffer, pollSwap: () => void = () => {}, sendWant: (name: string) => void = () => {}) {
    this.pollSwap = pollSwap;
    this.sendWant = sendWant;
    this.attach(sab);
  }

  /** Switches to a new buffer; called between queries (or from pollSwap inside a lookup). */
  attach(sab: SharedArrayBuffer): void {
    const i32 = new Int32Array(sab);
    if (i32[H_MAGIC] !== MAGIC) throw new Error('not a kdns record table');
    this.i32 = i32;
    this.u8 = new Uint8Array(sab);
    this.slotMask = i32[H_SLOTS]! - 1;
  }

  get ready(): boolean {
    return Atomics.load(this.i32, H_READY) === 1;
  }

  /** Served while still being filled: a missing name may only be missing so far (H_PARTIAL). */
  get partial(): boolean {
    return Atomics.load(this.i32, H_PARTIAL) === 1;
  }

  /**
   * Asks the writer to fill in `name` (canonical text) first; a later built() lists it. Only
   * while partial, and only once per name per worker (the caller keeps the waiting queries).
   */
  want(name: string): void {
    this.sendWant(name);
  }

  /** Listens for the writer's answers to wants (names), and for the end of partial (null). */
  onBuilt(listener: (names: string[] | null) => void): void {
    this.builtListeners.push(listener);
  }

  /** From the worker's control channel: the writer's message (see TableWriter.onBuilt). */
  built(names: string[] | null): void {
    for (const l of this.builtListeners) l(names);
  }

  /** Entry offset for the query's name, or 0 when the table has no such name. */
  find(q: Query): number {
    return this.findName(q.lower, q.nameLen, q.hash);
  }

  findName(name: Uint8Array, nameLen: number, hash: number): number {
    for (let spins = 0; ; spins++) {
      const i32 = this.i32;
      const seq = Atomics.load(i32, H_SEQ);
      if ((seq & 1) !== 0 && spins < MAX_SPINS) {
        if (Atomics.load(i32, H_MOVED) === 1) this.pollSwap();
        continue;
      }
      const found = this.probe(name, nameLen, hash);
      if (Atomics.load(i32, H_SEQ) === seq || spins >= MAX_SPINS) return found;
    }
  }

  private probe(name: Uint8Array, nameLen: number, hash: number): number {
    const i32 = this.i32;
    const u8 = this.u8;
    const mask = this.slotMask;
    let i = hash & mask;
    for (let n = 0; n <= mask; n++) {
      const off = i32[SLOT_BASE + i * SLOT_INTS + 1]!;
      if (off === 0) return 0;
      if (i32[SLOT_BASE + i * SLOT_INTS] === hash) {
        const entry = off < 0 ? -off : off;
        if ((u8[entry]! | (u8[entry + 1]! << 8)) === nameLen && sameBytes(u8, entry + ENTRY_HEAD, name, nameLen)) {
          return off < 0 ? 0 : off;
        }
      }
      i = (i + 1) & mask;
    }
    return 0;
  }

  /**
   * Offset of the variant answering `qtype` in the entry at `entry`: the exact type, else the
   * default variant, else -1.
   */
  variant(entry: number, qtype: number): number {
    const u8 = this.u8;
    const nameLen = u8[entry]! | (u8[entry + 1]! << 8);
    const count = u8[entry + 2]! | (u8[entry + 3]! << 8);
    let v = entry + align4(ENTRY_HEAD + nameLen);
    let fallback = -1;
    for (let k = 0; k < count; k++, v += VARIANT_BYTES) {
      const t = u8[v]! | (u8[v + 1]! << 8);
      if (t === qtype) return v;
      if (t === QTYPE_DEFAULT) fallback = v;
    }
    return fallback;
  }

  /** Exact-type variant only (for the zone-negative record), or -1. */
  exactVariant(entry: number, qtype: number): number {
    const v = this.variant(entry, qtype);
    return v >= 0 && (this.u8[v]! | (this.u8[v + 1]! << 8)) === qtype ? v : -1;
  }
}

function sameBytes(a: Uint8Array, aStart: number, b: Uint8Array, len: number): boolean {
  for (let k = 0; k < len; k++) if (a[aStart + k] !== b[k]) return false;
  return true;
}

// Variant field accessors (little-endian, matching entry.ts).
export function variantRcode(u8: Uint8Array, v: number): number {
  return u8[v + 2]!;
}
export function variantFlags(u8: Uint8Array, v: number): number {
  return u8[v + 3]!;
}
export function variantAn(u8: Uint8Array, v: number): number {
  return u8[v + 4]! | (u8[v + 5]! << 8);
}
export function variantNs(u8: Uint8Array, v: number): number {
  return u8[v + 6]! | (u8[v + 7]! << 8);
}
export function variantAr(u8: Uint8Array, v: number): number {
  return u8[v + 8]! | (u8[v + 9]! << 8);
}
export function variantLen(u8: Uint8Array, v: number): number {
  return u8[v + 10]! | (u8[v + 11]! << 8);
}
/** Absolute offset of the variant's record bytes. */
export function variantData(u8: Uint8Array, v: number, entry: number): number {
  return entry + (u8[v + 12]! | (u8[v + 13]! << 8) | (u8[v + 14]! << 16) | (u8[v + 15]! << 24));
}
