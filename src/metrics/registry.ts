// The primary's metrics registry: one per process, shared by every configuration (a reload
// declares its series again and gets the same slots, so counts go on across reloads as they do
// in CoreDNS). Plugins declare their metrics here from setup; the `prometheus` plugin serves
// the whole registry in Prometheus text format through prom-client, which is loaded only then
// (a server without `prometheus` never pays for it).
import type { Registry } from 'prom-client';
import { SlotStore } from './store.ts';
import { type HistogramOptions, type MetricOptions, SharedCounter, SharedGauge, SharedHistogram, type SharedMetric } from './shared.ts';
import { EXTERNAL_SLOT, HEAP_TOTAL_SLOT, HEAP_USED_SLOT, HEAP_YOUNG_SLOT, PANICS_SLOT, QUERIES_SLOT } from './worker.ts';

export type PromClient = typeof import('prom-client');
/** Registers plain prom-client metrics (primary-only, computed at scrape time) on `registry`. */
export type PromInstaller = (prom: PromClient, registry: Registry) => void;

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

export class MetricsRegistry {
  readonly store = new SlotStore();
  private readonly shared = new Map<string, SharedMetric>();
  private readonly installers: PromInstaller[] = [];
  private loaded: { prom: PromClient; registry: Registry } | null = null;
  private loading: Promise<Registry> | null = null;

  /** Counts worker crashes (primary) and exceptions the runtime caught in a plugin (workers). */
  readonly panics: SharedCounter;

  constructor() {
    this.panics = this.counter({ name: 'coredns_panics_total', help: 'A metrics that counts the number of panics.' });
    if (this.panics.series() !== PANICS_SLOT) throw new Error('coredns_panics_total must be slot 0');
    // Shown per worker (src/metrics/server.ts), so it is not a labelled series of one metric.
    if (this.store.alloc(1, false) !== QUERIES_SLOT) throw new Error('the per-worker query count must be slot 1');
    if (this.store.alloc(4, true) !== HEAP_USED_SLOT || EXTERNAL_SLOT !== 3 || HEAP_TOTAL_SLOT !== 4 || HEAP_YOUNG_SLOT !== 5) throw new Error('the per-worker memory gauges must be slots 2 to 5');
  }

  counter(opts: MetricOptions): SharedCounter {
    return this.define(opts, 'counter', () => new SharedCounter(this.store, opts));
  }

  gauge(opts: MetricOptions): SharedGauge {
    return this.define(opts, 'gauge', () => new SharedGauge(this.store, opts));
  }

  histogram(opts: HistogramOptions): SharedHistogram {
    const h = this.define(opts, 'histogram', () => new SharedHistogram(this.store, opts));
    if (h.buckets.length !== opts.buckets.length || opts.buckets.some((b, i) => h.buckets[i] !== b)) {
      throw new Error(`metric ${opts.name} is already declared with other buckets`);
    }
    return h;
  }

  /**
   * Adds plain prom-client metrics once prom-client is loaded (now, if it is). For primary-only
   * values whose label sets come and go; anything counted must be a shared metric instead (it
   * counts before prom-client loads).
   */
  onPrometheus(install: PromInstaller): void {
    this.installers.push(install);
    if (this.loaded) install(this.loaded.prom, this.loaded.registry);
  }

  /**
   * Loads prom-client and builds the registry with every metric declared, plus prom-client's
   * default process and Node.js metrics (CPU, memory, fds, ...). Once; the prometheus plugin's
   * start awaits it.
   */
  prometheus(): Promise<Registry> {
    this.loading ??= import('prom-client').then((prom) => {
      const registry = new prom.Registry();
      this.loaded = { prom, registry };
      for (const m of this.shared.values()) registry.registerMetric(m as never);
      for (const install of this.installers) install(prom, registry);
      prom.collectDefaultMetrics({ register: registry });
      return registry;
    });
    return this.loading;
  }

  /** The scrape: every metric in Prometheus text format (0.0.4). */
  async render(): Promise<{ contentType: string; text: string }> {
    const registry = await this.prometheus();
    return { contentType: registry.contentType, text: await registry.metrics() };
  }

  private define<T extends SharedMetric>(opts: MetricOptions, type: T['type'], make: () => T): T {
    const known = this.shared.get(opts.name);
    if (known) {
      if (known.type !== type || known.labelNames.join() !== (opts.labelNames ?? []).join()) {
        throw new Error(`metric ${opts.name} is already declared as a ${known.type} with labels [${known.labelNames.join(', ')}]`);
      }
      return known as T;
    }
    if (!METRIC_NAME.test(opts.name)) throw new Error(`'${opts.name}' is not a valid metric name`);
    if (this.loaded?.registry.getSingleMetric(opts.name)) throw new Error(`metric ${opts.name} is already registered`);
    const m = make();
    this.shared.set(opts.name, m);
    this.loaded?.registry.registerMetric(m as never);
    return m;
  }
}

/** The process's registry (primary thread). Workers use MetricsWriter (worker.ts) instead. */
export const metrics = new MetricsRegistry();
