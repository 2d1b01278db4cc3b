// The primary's side of the record table: the only writer.
// Changing a name appends an immutable entry to the arena and then stores its offset in the
// name's slot, inside a seqlock so a batch of changes becomes visible to readers at once.
// When the arena or the slot array fills up (or dead entries dominate), everything live is
// copied into a fresh, larger buffer that is handed to the workers (onSwap).
import {
  ENTRY_HEAD, H_ARENA_START, H_GENERATION, H_MAGIC, H_MOVED, H_PARTIAL, H_READY, H_SEQ, H_SLOTS, HEADER_BYTES,
  MAGIC, SLOT_BASE, SLOT_INTS, VARIANT_BYTES, align4,
} from './layout.ts';
import { variantData, variantLen } from './reader.ts';
import { hashName } from '../dns/name.ts';

export interface TableStats {
  bytes: number;
  names: number;
  liveBytes: number;
  deadBytes: number;
  generation: number;
  swaps: number;
}

const MIN_SLOTS = 1024;
const MIN_ARENA = 256 * 1024;

export class TableWriter {
  private sab!: SharedArrayBuffer;
  private i32!: Int32Array;
  private u8!: Uint8Array;
  /**
   * Each slot's owner tag, for the record store (-1: none); the writer's own, not shared. The
   * slots themselves, with the names inside the entries they point at, are the only name index
   * (a name -> slot map beside them cost ~140 bytes a name, ~38 MiB at 10,000 Services /
   * 100,000 endpoints), and the tags let the store keep no per-name state in JS for the names
   * that need none (see RecordStore.entry; bench/RESULTS.md, issue 13). Entry sizes are read
   * from the entries (entrySize), not kept beside them.
   */
  private tags!: Int32Array;
  private slotMask = 0;
  private arenaEnd = 0;
  private used = 0;
  private usedSlots = 0;
  private liveNames = 0;
  private liveBytes = 0;
  private deadBytes = 0;
  private inBatch = false;
  private swaps = 0;
  /** Called with the new buffer after a resize/compaction; readers must switch to it. */
  onSwap: (sab: SharedArrayBuffer) => void = () => {};
  /**
   * While the table is partial: a worker asks for a name it lacks (TableReader.want); the
   * table's owner writes what it holds for it first. Set by the owner; null: no one to ask.
   */
  onWant: ((name: string) => void) | null = null;
  /**
   * Tells the workers that `names` (asked for with want) are now as complete as the source
   * makes them, or with null that the whole table is (partial cleared). Set by the server.
   */
  onBuilt: (names: string[] | null) => void = () => {};

  constructor(slots = MIN_SLOTS, arenaBytes = MIN_ARENA) {
    this.allocate(slots, arenaBytes);
  }

  get buffer(): SharedArrayBuffer {
    return this.sab;
  }

  /** Applies a batch of changes; readers see all of it or none of it. */
  batch(fn: () => void): void {
    if (this.inBatch) {
      fn();
      return;
    }
    this.inBatch = true;
    Atomics.add(this.i32, H_SEQ, 1);
    try {
      fn();
    } finally {
      Atomics.add(this.i32, H_GENERATION, 1);
      Atomics.add(this.i32, H_SEQ, 1);
      this.inBatch = false;
    }
  }

  /**
   * Makes room for `names` more names and `bytes` more entry bytes in one move, so a bulk load
   * (the first sync of a big cluster) copies the table once instead of at every doubling.
   */
  reserve(names: number, bytes: number): void {
    if (this.used + bytes > this.arenaEnd || (this.usedSlots + names) * 2 > this.slotMask + 1) this.grow(bytes, names);
  }

  /** Stores (or replaces) the entry for the name encoded inside it, with the caller's tag (>= 0) or none. */
  put(entry: Uint8Array, tag = -1): void {
    // Inside a batch (a bulk load's 270,000 puts), no closure per entry.
    if (this.inBatch) this.putInBatch(entry, tag);
    else this.batch(() => this.putInBatch(entry, tag));
  }

  /** The tag stored with a live name (wire form, lower case), else -1 (no such name, or none). */
  tagOf(nameWire: Uint8Array): number {
    const slot = this.liveSlot(nameWire);
    return slot < 0 ? -1 : this.tags[slot]!;
  }

  /**
   * Changes the tag of a live name and leaves its entry alone (a count in the record store's
   * state changed, not the answers): false if the table has no such name.
   */
  retag(nameWire: Uint8Array, tag: number): boolean {
    const slot = this.liveSlot(nameWire);
    if (slot < 0) return false;
    this.tags[slot] = tag;
    return true;
  }

  /** The slot of a live name (not a removed one's marker), else -1. */
  private liveSlot(nameWire: Uint8Array): number {
    const slot = this.find(nameWire, 0, nameWire.length, hashName(nameWire, 0, nameWire.length));
    return slot < 0 || this.i32[SLOT_BASE + slot * SLOT_INTS + 1]! <= 0 ? -1 : slot;
  }

  remove(nameWire: Uint8Array): void {
    this.batch(() => {
      const slot = this.find(nameWire, 0, nameWire.length, hashName(nameWire, 0, nameWire.length));
      if (slot < 0) return;
      const at = SLOT_BASE + slot * SLOT_INTS + 1;
      const offset = this.i32[at]!;
      if (offset <= 0) return;
      Atomics.store(this.i32, at, -offset);
      const size = entrySize(this.u8, offset);
      this.deadBytes += size;
      this.liveBytes -= size;
      this.liveNames--;
    });
  }

  /** Marks the table as holding a complete view of its source (before that: SERVFAIL). */
  setReady(ready: boolean): void {
    Atomics.store(this.i32, H_READY, ready ? 1 : 0);
  }

  /** Readers answer from the table (before: SERVFAIL for its zones, whatever it holds). */
  get ready(): boolean {
    return Atomics.load(this.i32, H_READY) === 1;
  }

  /** Marks the table as served while still being filled (see H_PARTIAL), or as complete. */
  setPartial(partial: boolean): void {
    Atomics.store(this.i32, H_PARTIAL, partial ? 1 : 0);
  }

  get partial(): boolean {
    return Atomics.load(this.i32, H_PARTIAL) === 1;
  }

  stats(): TableStats {
    return {
      bytes: this.sab.byteLength, names: this.liveNames, liveBytes: this.liveBytes, deadBytes: this.deadBytes,
      generation: Atomics.load(this.i32, H_GENERATION), swaps: this.swaps,
    };
  }

  private putInBatch(entry: Uint8Array, tag: number): void {
    const nameLen = entry[0]! | (entry[1]! << 8);
    const hash = hashName(entry, ENTRY_HEAD, ENTRY_HEAD + nameLen);
    const size = align4(entry.length);
    let slot = this.find(entry, ENTRY_HEAD, nameLen, hash);
    if (this.used + size > this.arenaEnd || (slot < 0 && (this.usedSlots + 1) * 2 > this.slotMask + 1)) {
      this.grow(size, slot < 0 ? 1 : 0);
      slot = this.find(entry, ENTRY_HEAD, nameLen, hash);
    }
    const offset = this.used;
    this.u8.set(entry, offset);
    this.used += size;
    if (slot < 0) {
      slot = this.freeSlot(hash);
      this.i32[SLOT_BASE + slot * SLOT_INTS] = hash;
      this.usedSlots++;
      this.liveNames++;
    } else {
      const old = this.i32[SLOT_BASE + slot * SLOT_INTS + 1]!;
      if (old > 0) {
        const oldSize = entrySize(this.u8, old);
        this.deadBytes += oldSize;
        this.liveBytes -= oldSize;
      } else {
        this.liveNames++; // a removed name back in its old slot
      }
    }
    this.tags[slot] = tag;
    this.liveBytes += size;
    Atomics.store(this.i32, SLOT_BASE + slot * SLOT_INTS + 1, offset);
    if (this.deadBytes > MIN_ARENA && this.deadBytes > this.liveBytes) this.grow(0, 0);
  }

  /**
   * The slot holding the name (live, or removed and kept as a deleted marker), else -1. The name
   * is compared with the one inside the slot's entry: a removed name's entry stays in the arena
   * until the next move.
   */
  private find(src: Uint8Array, at: number, nameLen: number, hash: number): number {
    const i32 = this.i32;
    const u8 = this.u8;
    let i = hash & this.slotMask;
    for (;;) {
      const off = i32[SLOT_BASE + i * SLOT_INTS + 1]!;
      if (off === 0) return -1;
      if (i32[SLOT_BASE + i * SLOT_INTS] === hash) {
        const e = off < 0 ? -off : off;
        if ((u8[e]! | (u8[e + 1]! << 8)) === nameLen && sameBytes(u8, e + ENTRY_HEAD, src, at, nameLen)) return i;
      }
      i = (i + 1) & this.slotMask;
    }
  }

  private freeSlot(hash: number): number {
    let i = hash & this.slotMask;
    while (this.i32[SLOT_BASE + i * SLOT_INTS + 1] !== 0) i = (i + 1) & this.slotMask;
    return i;
  }

  private allocate(slots: number, arenaBytes: number): void {
    const arenaStart = HEADER_BYTES + slots * SLOT_INTS * 4;
    this.sab = new SharedArrayBuffer(arenaStart + arenaBytes);
    this.i32 = new Int32Array(this.sab);
    this.u8 = new Uint8Array(this.sab);
    this.tags = new Int32Array(slots);
    this.slotMask = slots - 1;
    this.arenaEnd = arenaStart + arenaBytes;
    this.used = arenaStart;
    this.usedSlots = 0;
    this.i32[H_MAGIC] = MAGIC;
    this.i32[H_SLOTS] = slots;
    this.i32[H_ARENA_START] = arenaStart;
  }

  /**
   * Copies every live entry into a new buffer sized for the live data plus `extraBytes` (and
   * half again), with slots for at least twice the live names. Deleted names are dropped for good.
   */
  private grow(extraBytes: number, extraNames: number): void {
    const oldU8 = this.u8;
    const oldI32 = this.i32;
    const oldTags = this.tags;
    const oldSlots = this.slotMask + 1;
    // Slots: a power of two (the hash mask), at most a third used after a move, so the next
    // move (at half) is geometric too and probes stay short.
    // Arena: live data plus half again, in 64 KiB steps; growth is geometric either way, and
    // at 100,000 endpoints doubling would leave most of a 150 MB buffer empty.
    let slots = MIN_SLOTS;
    while (slots < (this.liveNames + extraNames) * 3) slots *= 2;
    const arena = Math.max(MIN_ARENA, Math.ceil(((this.liveBytes + extraBytes) * 1.5) / 65536) * 65536);
    const ready = Atomics.load(oldI32, H_READY);
    const partial = Atomics.load(oldI32, H_PARTIAL);
    const generation = Atomics.load(oldI32, H_GENERATION);
    const seq = Atomics.load(oldI32, H_SEQ);
    this.allocate(slots, arena);
    this.liveBytes = 0;
    this.deadBytes = 0;
    for (let s = 0; s < oldSlots; s++) {
      const from = oldI32[SLOT_BASE + s * SLOT_INTS + 1]!;
      if (from <= 0) continue;
      const hash = oldI32[SLOT_BASE + s * SLOT_INTS]!;
      const size = entrySize(oldU8, from);
      const offset = this.used;
      this.u8.set(oldU8.subarray(from, from + size), offset);
      this.used += size;
      const slot = this.freeSlot(hash);
      this.i32[SLOT_BASE + slot * SLOT_INTS] = hash;
      this.i32[SLOT_BASE + slot * SLOT_INTS + 1] = offset;
      this.tags[slot] = oldTags[s]!;
      this.usedSlots++;
      this.liveBytes += size;
    }
    this.i32[H_READY] = ready;
    this.i32[H_PARTIAL] = partial;
    this.i32[H_GENERATION] = generation;
    this.i32[H_SEQ] = seq; // still odd if we are inside a batch; batch() finishes it here
    this.swaps++;
    this.onSwap(this.sab);
    // Readers still on the old buffer see it as moved and fetch the new one before reading on.
    Atomics.store(oldI32, H_MOVED, 1);
  }
}

/**
 * Bytes an entry takes in the arena (4-aligned): its variants' data is laid out in order after
 * them (entry.ts), so the entry ends where the last variant's data does.
 */
function entrySize(u8: Uint8Array, at: number): number {
  const nameLen = u8[at]! | (u8[at + 1]! << 8);
  const count = u8[at + 2]! | (u8[at + 3]! << 8);
  const head = align4(ENTRY_HEAD + nameLen);
  if (count === 0) return head;
  const last = at + head + (count - 1) * VARIANT_BYTES;
  return align4(variantData(u8, last, at) + variantLen(u8, last) - at);
}

function sameBytes(u8: Uint8Array, at: number, src: Uint8Array, from: number, len: number): boolean {
  for (let k = 0; k < len; k++) if (u8[at + k] !== src[from + k]) return false;
  return true;
}
