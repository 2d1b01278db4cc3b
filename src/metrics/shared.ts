// Metrics whose values live in the workers' slot blocks (SlotStore), shown through prom-client:
// each class has the `get()` prom-client's Registry calls at scrape time, summing the slots of
// every worker there and then. Series are declared up front (setup), each one a fixed label set
// with its own slot(s); a worker only ever adds to a slot number it was given.
import type { SlotStore } from './store.ts';
import { histogramWidth, observeInto } from './worker.ts';

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface MetricOptions {
  name: string;
  help: string;
  /** Label names, in the order series() and grid() take their values. */
  labelNames?: readonly string[];
  /**
   * Show series whose value is 0 (a histogram: count 0). Default: yes for gauges and for
   * metrics without labels; no otherwise, which matches client_golang, where a labelled series
   * appears once it is first used.
   */
  showZero?: boolean;
}

export interface HistogramOptions extends MetricOptions {
  /** Bucket upper bounds, ascending (+Inf is added). */
  buckets: readonly number[];
}

/**
 * A block of series declared at once, one per combination of label values: the series with
 * value indexes (i0, i1, ...) is at `base + (i0 * strides[0] + i1 * strides[1] + ...)`, i.e.
 * the last label varies fastest. `strides` already include the series width (histograms).
 */
export interface SeriesGrid {
  base: number;
  strides: number[];
}

interface PromValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

/** Label values in labelNames order, or by name. */
export type LabelValues = readonly string[] | Readonly<Record<string, string>>;

export abstract class SharedMetric {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  abstract readonly type: MetricType;
  /** prom-client reads this for OpenMetrics output; kept for its Registry. */
  readonly aggregator = 'sum';
  protected readonly store: SlotStore;
  protected readonly showZero: boolean;
  /** Label set key -> its labels and slots (one per declaration that produced it). */
  protected readonly seriesByKey = new Map<string, { labels: Record<string, string>; slots: number[] }>();
  private readonly gridBases = new Map<string, number>();
  /** Keys of series declared with sumOf (their slots belong to other series). */
  private readonly derived = new Set<string>();
  private readonly hooks: Array<() => void> = [];

  constructor(store: SlotStore, opts: MetricOptions, defaultShowZero: boolean) {
    this.store = store;
    this.name = opts.name;
    this.help = opts.help;
    this.labelNames = [...(opts.labelNames ?? [])];
    this.showZero = opts.showZero ?? (defaultShowZero || this.labelNames.length === 0);
  }

  /** Slots per series: one for counters and gauges (a histogram has its buckets and sum). */
  protected get width(): number {
    return 1;
  }
  /** A dead worker's gauge slots are dropped; its counter and histogram slots are folded into the primary's. */
  protected get isGauge(): boolean {
    return this.type === 'gauge';
  }

  /** The slot of one series; declaring the same label set again returns the same slot. */
  series(values: LabelValues = []): number {
    const labels = this.labelsOf(values);
    const key = keyOf(labels);
    const known = this.seriesByKey.get(key);
    if (known && this.derived.has(key)) throw new Error(`${this.name}: series ${key} is declared as a sum of other slots`);
    if (known) return known.slots[0]!;
    const slot = this.store.alloc(this.width, this.isGauge);
    this.seriesByKey.set(key, { labels, slots: [slot] });
    return slot;
  }

  /**
   * A series with no slot of its own whose value is the sum of slots declared elsewhere (of
   * counters or gauges, one slot each): e.g. `coredns_cache_requests_total` = hits + misses, so
   * the worker adds once per query, not twice. Declaring it again with the same slots (a reload)
   * changes nothing; slots not seen before are added.
   */
  sumOf(values: LabelValues, slots: readonly number[]): void {
    if (this.width !== 1) throw new Error(`${this.name}: only counters and gauges can be sums of slots`);
    const labels = this.labelsOf(values);
    const key = keyOf(labels);
    const known = this.seriesByKey.get(key);
    if (known && !this.derived.has(key)) throw new Error(`${this.name}: series ${key} already has its own slot`);
    if (!known) {
      this.derived.add(key);
      this.seriesByKey.set(key, { labels, slots: [...slots] });
      return;
    }
    for (const s of slots) if (!known.slots.includes(s)) known.slots.push(s);
  }

  /** Every combination of the given values (one list per label, in labelNames order). */
  grid(values: readonly (readonly string[])[]): SeriesGrid {
    if (values.length !== this.labelNames.length) throw new Error(`${this.name}: grid needs values for ${this.labelNames.length} labels`);
    const strides = new Array<number>(values.length);
    let span = this.width;
    for (let k = values.length - 1; k >= 0; k--) {
      if (values[k]!.length === 0) throw new Error(`${this.name}: no values for label ${this.labelNames[k]}`);
      strides[k] = span;
      span *= values[k]!.length;
    }
    const gridKey = JSON.stringify(values);
    const knownBase = this.gridBases.get(gridKey);
    if (knownBase !== undefined) return { base: knownBase, strides };
    const base = this.store.alloc(span, this.isGauge);
    this.gridBases.set(gridKey, base);
    const idx = new Array<number>(values.length).fill(0);
    for (let n = 0; n < span / this.width; n++) {
      let slot = base;
      const labels: Record<string, string> = {};
      for (let k = 0; k < values.length; k++) {
        labels[this.labelNames[k]!] = values[k]![idx[k]!]!;
        slot += idx[k]! * strides[k]!;
      }
      const key = keyOf(labels);
      const known = this.seriesByKey.get(key);
      if (known && this.derived.has(key)) throw new Error(`${this.name}: series ${key} is declared as a sum of other slots`);
      if (known) known.slots.push(slot);
      else this.seriesByKey.set(key, { labels, slots: [slot] });
      for (let k = values.length - 1; k >= 0; k--) {
        if (++idx[k]! < values[k]!.length) break;
        idx[k] = 0;
      }
    }
    return { base, strides };
  }

  /** Runs before every scrape of this metric (e.g. to set primary-side gauges). */
  onCollect(fn: () => void): void {
    this.hooks.push(fn);
  }

  /** prom-client's collect-time entry point. */
  get(): { name: string; help: string; type: MetricType; aggregator: string; values: PromValue[] } {
    for (const h of this.hooks) h();
    const values: PromValue[] = [];
    for (const s of this.seriesByKey.values()) this.values(s.labels, s.slots, values);
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** Not supported (counters here only grow); present because prom-client's Registry may call it. */
  reset(): void {}

  /** A counter's or gauge's value: the sum of its slots (a histogram shows its buckets instead). */
  protected values(labels: Record<string, string>, slots: number[], out: PromValue[]): void {
    const v = this.sum(slots, 0);
    if (v !== 0 || this.showZero) out.push({ value: v, labels });
  }

  protected sum(slots: number[], offset: number): number {
    let v = 0;
    for (const s of slots) v += this.store.read(s + offset);
    return v;
  }

  private labelsOf(values: LabelValues): Record<string, string> {
    const labels: Record<string, string> = {};
    if (Array.isArray(values)) {
      if (values.length !== this.labelNames.length) throw new Error(`${this.name}: expected ${this.labelNames.length} label values, got ${values.length}`);
      this.labelNames.forEach((n, i) => (labels[n] = (values as readonly string[])[i]!));
    } else {
      const byName = values as Readonly<Record<string, string>>;
      for (const n of this.labelNames) {
        const v = byName[n];
        if (v === undefined) throw new Error(`${this.name}: no value for label ${n}`);
        labels[n] = v;
      }
    }
    return labels;
  }
}

function keyOf(labels: Record<string, string>): string {
  return JSON.stringify(Object.values(labels));
}

export class SharedCounter extends SharedMetric {
  readonly type = 'counter';
  constructor(store: SlotStore, opts: MetricOptions) {
    super(store, opts, false);
  }
  /** Counts on the primary (e.g. a health checker there); adds to what the workers count. */
  inc(slot: number, n = 1): void {
    this.store.add(slot, n);
  }
}

export class SharedGauge extends SharedMetric {
  readonly type = 'gauge';
  constructor(store: SlotStore, opts: MetricOptions) {
    super(store, opts, true);
  }
  /** The primary's part of the value (workers' values in the same slot are added to it). */
  set(slot: number, value: number): void {
    this.store.set(slot, value);
  }
}

export class SharedHistogram extends SharedMetric {
  readonly type = 'histogram';
  readonly buckets: Float64Array;
  private readonly le: string[];
  constructor(store: SlotStore, opts: HistogramOptions) {
    super(store, opts, false);
    for (let i = 1; i < opts.buckets.length; i++) {
      if (!(opts.buckets[i]! > opts.buckets[i - 1]!)) throw new Error(`${opts.name}: buckets must be ascending`);
    }
    this.buckets = Float64Array.from(opts.buckets);
    this.le = [...opts.buckets.map(String), '+Inf'];
  }
  protected override get width(): number {
    return histogramWidth(this.buckets.length);
  }
  /** Observes on the primary. */
  observe(slot: number, value: number): void {
    observeInto(this.store.ownSlots, slot, this.buckets, value);
  }
  protected override values(labels: Record<string, string>, slots: number[], out: PromValue[]): void {
    const n = this.buckets.length;
    const counts = new Array<number>(n + 1);
    let count = 0;
    for (let i = 0; i <= n; i++) {
      counts[i] = this.sum(slots, i);
      count += counts[i]!;
    }
    if (count === 0 && !this.showZero) return;
    let cumulative = 0;
    for (let i = 0; i <= n; i++) {
      cumulative += counts[i]!;
      out.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: this.le[i]! }, value: cumulative });
    }
    out.push({ metricName: `${this.name}_sum`, labels, value: this.sum(slots, n + 1) });
    out.push({ metricName: `${this.name}_count`, labels, value: count });
  }
}
