// The primary's side of the record table: the only writer.
// Changing a name appends an immutable entry to the arena and then stores its offset in the
// name's slot, inside a seqlock so a batch of changes becomes visible to readers at once.
// When the arena or the slot array fills up (or dead entries dominate), everything live is
// copied into a fresh, larger buffer that is handed to the workers (onSwap).
import {
  ENTRY_HEAD, H_ARENA_START, H_GENERATION, H_MAGIC, H_MOVED, H_READY, H_SEQ, H_SLOTS, HEADER_BYTES,
  MAGIC, SLOT_BASE, SLOT_INTS, align4,
} from './layout.ts';
import { hashName } from '../dns/name.ts';

interface Placed {
  slot: number;
  /** Entry offset, or -1 when the name was removed (slot kept as a deleted marker). */
  offset: number;
  size: number;
}

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
  private slotMask = 0;
  private arenaEnd = 0;
  private used = 0;
  private usedSlots = 0;
  private liveBytes = 0;
  private deadBytes = 0;
  private inBatch = false;
  private swaps = 0;
  /** name key (latin1 of the wire name) -> where its entry lives. */
  private readonly names = new Map<string, Placed>();
  /** Called with the new buffer after a resize/compaction; readers must switch to it. */
  onSwap: (sab: SharedArrayBuffer) => void = () => {};

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

  /** Stores (or replaces) the entry for the name encoded inside it. */
  put(entry: Uint8Array): void {
    this.batch(() => this.putInBatch(entry));
  }

  remove(nameWire: Uint8Array): void {
    this.batch(() => {
      const key = Buffer.from(nameWire).toString('latin1');
      const placed = this.names.get(key);
      if (!placed || placed.offset < 0) return;
      Atomics.store(this.i32, SLOT_BASE + placed.slot * SLOT_INTS + 1, -placed.offset);
      this.deadBytes += placed.size;
      this.liveBytes -= placed.size;
      placed.offset = -1;
      placed.size = 0;
    });
  }

  /** Marks the table as holding a complete view of its source (before that: SERVFAIL). */
  setReady(ready: boolean): void {
    Atomics.store(this.i32, H_READY, ready ? 1 : 0);
  }

  stats(): TableStats {
    let names = 0;
    for (const p of this.names.values()) if (p.offset > 0) names++;
    return {
      bytes: this.sab.byteLength, names, liveBytes: this.liveBytes, deadBytes: this.deadBytes,
      generation: Atomics.load(this.i32, H_GENERATION), swaps: this.swaps,
    };
  }

  private putInBatch(entry: Uint8Array): void {
    const nameLen = entry[0]! | (entry[1]! << 8);
    const name = entry.subarray(ENTRY_HEAD, ENTRY_HEAD + nameLen);
    const key = Buffer.from(name).toString('latin1');
    const size = align4(entry.length);
    let placed = this.names.get(key);
    const needSlot = placed === undefined;
    if (this.used + size > this.arenaEnd || (needSlot && (this.usedSlots + 1) * 2 > this.slotMask + 1)) {
      this.grow(size, needSlot ? 1 : 0);
      placed = this.names.get(key);
    }
    const offset = this.used;
    this.u8.set(entry, offset);
    this.used += size;
    if (placed === undefined) {
      const slot = this.freeSlot(hashName(name, 0, name.length));
      this.i32[SLOT_BASE + slot * SLOT_INTS] = hashName(name, 0, name.length);
      placed = { slot, offset, size };
      this.names.set(key, placed);
      this.usedSlots++;
    } else {
      if (placed.offset > 0) {
        this.deadBytes += placed.size;
        this.liveBytes -= placed.size;
      }
      placed.offset = offset;
      placed.size = size;
    }
    this.liveBytes += size;
    Atomics.store(this.i32, SLOT_BASE + placed.slot * SLOT_INTS + 1, offset);
    if (this.deadBytes > MIN_ARENA && this.deadBytes > this.liveBytes) this.grow(0, 0);
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
    const live: Array<[string, Placed]> = [];
    for (const [key, p] of this.names) if (p.offset > 0) live.push([key, p]);
    // Slots: a power of two (the hash mask), at most a third used after a move, so the next
    // move (at half) is geometric too and probes stay short.
    // Arena: live data plus half again, in 64 KiB steps; growth is geometric either way, and
    // at 100,000 endpoints doubling would leave most of a 150 MB buffer empty.
    let slots = MIN_SLOTS;
    while (slots < (live.length + extraNames) * 3) slots *= 2;
    const arena = Math.max(MIN_ARENA, Math.ceil(((this.liveBytes + extraBytes) * 1.5) / 65536) * 65536);
    const ready = Atomics.load(oldI32, H_READY);
    const generation = Atomics.load(oldI32, H_GENERATION);
    const seq = Atomics.load(oldI32, H_SEQ);
    this.allocate(slots, arena);
    this.names.clear();
    this.liveBytes = 0;
    this.deadBytes = 0;
    for (const [key, p] of live) {
      const offset = this.used;
      this.u8.set(oldU8.subarray(p.offset, p.offset + p.size), offset);
      this.used += p.size;
      const name = Buffer.from(key, 'latin1');
      const hash = hashName(name, 0, name.length);
      const slot = this.freeSlot(hash);
      this.i32[SLOT_BASE + slot * SLOT_INTS] = hash;
      this.i32[SLOT_BASE + slot * SLOT_INTS + 1] = offset;
      this.names.set(key, { slot, offset, size: p.size });
      this.usedSlots++;
      this.liveBytes += p.size;
    }
    this.i32[H_READY] = ready;
    this.i32[H_GENERATION] = generation;
    this.i32[H_SEQ] = seq; // still odd if we are inside a batch; batch() finishes it here
    this.swaps++;
    this.onSwap(this.sab);
    // Readers still on the old buffer see it as moved and fetch the new one before reading on.
    Atomics.store(oldI32, H_MOVED, 1);
  }
}
