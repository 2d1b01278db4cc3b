// The primary's view of every worker's metric block: which slot is which (allocated as metrics
// declare their series), the blocks of the workers alive now, and the primary's own values.
//
// Counting is exact across worker deaths, restarts and reloads: a worker's block lives as long
// as the worker; when the worker is gone (crashed, stopped, replaced by a reload) its counters
// and histograms are added into the primary's own values and the block is dropped. A scrape
// shows own + the sum of the live blocks, so no count is lost or counted twice, and a crash
// loop does not pile up blocks. Gauges are not carried over: a dead worker's cache holds no
// entries any more.

/** Slot kinds. */
const COUNTER = 0;
const GAUGE = 1;

/** Room for series declared after a worker started (they are counted by later workers only). */
const HEADROOM = 256;

export class SlotStore {
  private used = 0;
  private kinds = new Uint8Array(1024);
  /** Folded-in counts of workers that are gone, plus what primary code counts itself. */
  private own = new Float64Array(1024);
  private readonly live = new Map<SharedArrayBuffer, Float64Array>();

  /** Slots allocated so far. */
  get size(): number {
    return this.used;
  }

  /** Blocks of live workers. */
  get liveBlocks(): number {
    return this.live.size;
  }

  /** `n` consecutive new slots; returns the first. */
  alloc(n: number, gauge: boolean): number {
    const base = this.used;
    this.used += n;
    if (this.used > this.own.length) {
      let cap = this.own.length;
      while (cap < this.used) cap *= 2;
      const own = new Float64Array(cap);
      own.set(this.own);
      this.own = own;
      const kinds = new Uint8Array(cap);
      kinds.set(this.kinds);
      this.kinds = kinds;
    }
    this.kinds.fill(gauge ? GAUGE : COUNTER, base, this.used);
    return base;
  }

  /** A zeroed block for a worker about to start: every slot allocated so far, and some room. */
  open(): SharedArrayBuffer {
    const slots = Math.ceil((this.used + HEADROOM) / 512) * 512;
    const block = new SharedArrayBuffer(slots * 8);
    this.live.set(block, new Float64Array(block));
    return block;
  }

  /**
   * The worker that wrote `block` is gone (its thread ended: it writes no more): keep its counts,
   * drop the block. Closing a block twice, or one this store never opened, does nothing.
   */
  close(block: SharedArrayBuffer): void {
    const b = this.live.get(block);
    if (!b) return;
    this.live.delete(block);
    const n = Math.min(b.length, this.used);
    const own = this.own;
    const kinds = this.kinds;
    for (let i = 0; i < n; i++) if (kinds[i] === COUNTER && b[i] !== 0) own[i] += b[i]!;
  }

  /** A slot's value: own + every live block. */
  read(slot: number): number {
    let v = this.own[slot] ?? 0;
    for (const b of this.live.values()) if (slot < b.length) v += b[slot]!;
    return v;
  }

  /** Primary-side counter update. */
  add(slot: number, n: number): void {
    this.own[slot] += n;
  }

  /** Primary-side gauge value (shown plus whatever live workers hold in that slot). */
  set(slot: number, value: number): void {
    this.own[slot] = value;
  }

  /** The primary's own values (primary-side histogram updates write here). */
  get ownSlots(): Float64Array {
    return this.own;
  }
}
