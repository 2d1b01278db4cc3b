// The worker's side of the shared metrics: one block of 64-bit float slots per worker thread, in
// a SharedArrayBuffer the primary allocated for it. Only this worker writes its block, with plain
// stores (no Atomics: one writer, and the primary only sums at scrape time); nothing crosses
// threads per query and nothing is allocated. Slot numbers come from the plugin's setup, which
// declared its series on the primary (src/metrics/README.md). Imports nothing from prom-client.

import v8 from 'node:v8';

/** `coredns_panics_total`: the one slot the runtime itself writes (a plugin threw). */
export const PANICS_SLOT = 0;

/**
 * `kdns_worker_queries_total`: messages this worker received, over every transport. The runtime
 * counts it; the primary shows it per worker, so an operator sees how evenly SO_REUSEPORT spreads
 * the load.
 */
export const QUERIES_SLOT = 1;

/**
 * Gauges of this worker's V8 heap in use and of memory outside it (Buffers), sampled every few
 * seconds: process RSS cannot tell the threads apart, and a soak needs to see which one grows.
 */
export const HEAP_USED_SLOT = 2;
export const EXTERNAL_SLOT = 3;
/** The heap V8 has reserved (used + free pages): what the thread's heap costs in RSS. */
export const HEAP_TOTAL_SLOT = 4;
/** V8's new space (the young generation): it sets how long a scavenge takes (-worker.young-mb). */
export const HEAP_YOUNG_SLOT = 5;
const HEAP_SAMPLE_MS = 5000;

/** Samples this thread's memory into its block now and every few seconds; returns a stop function. */
export function sampleMemory(slots: Float64Array): () => void {
  const sample = (): void => {
    const m = process.memoryUsage();
    slots[HEAP_USED_SLOT] = m.heapUsed;
    slots[EXTERNAL_SLOT] = m.external;
    slots[HEAP_TOTAL_SLOT] = m.heapTotal;
    for (const sp of v8.getHeapSpaceStatistics()) if (sp.space_name === 'new_space') slots[HEAP_YOUNG_SLOT] = sp.space_size;
  };
  sample();
  const timer = setInterval(sample, HEAP_SAMPLE_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** Slots of a block nobody reads (a runtime built without a primary, e.g. in unit tests). */
const PRIVATE_SLOTS = 4096;

export class MetricsWriter {
  /** This worker's block. Hot paths may keep a reference and write `slots[i]++` directly. */
  readonly slots: Float64Array;

  /** `block`: the SharedArrayBuffer from the worker config; null gives a private block. */
  constructor(block: SharedArrayBuffer | null) {
    this.slots = block ? new Float64Array(block) : new Float64Array(PRIVATE_SLOTS);
  }

  /** Counter +1. A slot past the block's end (declared after this worker started) is ignored. */
  inc(slot: number): void {
    this.slots[slot] += 1;
  }

  /** Counter +n (n >= 0). */
  add(slot: number, n: number): void {
    this.slots[slot] += n;
  }

  /** Gauge: this worker's current value; the scrape shows the sum over live workers. */
  set(slot: number, value: number): void {
    this.slots[slot] = value;
  }

  /**
   * Histogram: `slot` is the series' first slot (from its declaration), `bounds` its bucket
   * upper bounds (inclusive, ascending; the +Inf bucket is implicit).
   */
  observe(slot: number, bounds: ArrayLike<number>, value: number): void {
    observeInto(this.slots, slot, bounds, value);
  }
}

/**
 * A histogram series occupies `bounds.length + 2` slots: one count per bucket (not cumulative;
 * the last is +Inf), then the sum. The count is the sum of the buckets.
 */
export function histogramWidth(bucketCount: number): number {
  return bucketCount + 2;
}

/** The histogram update of MetricsWriter.observe, for hot paths that hold `slots` themselves. */
export function observeInto(slots: Float64Array, slot: number, bounds: ArrayLike<number>, value: number): void {
  const n = bounds.length;
  let i = 0;
  while (i < n && value > bounds[i]!) i++;
  slots[slot + i] += 1;
  slots[slot + n + 1] += value;
}
