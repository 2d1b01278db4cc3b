// Metrics about the server itself: CoreDNS's build info, panics and plugin_enabled, and kdns's
// own worker and record-table gauges, plus the hooks the primary (src/server/server.ts) calls
// as workers come and go.
import { H_GENERATION } from '../table/layout.ts';
import type { TableWriter } from '../table/writer.ts';
import { VERSION } from '../version.ts';
import { metrics } from './registry.ts';
import { EXTERNAL_SLOT, HEAP_TOTAL_SLOT, HEAP_USED_SLOT, HEAP_YOUNG_SLOT, PANICS_SLOT, QUERIES_SLOT } from './worker.ts';

/** What a running DnsServer shows in the metrics. */
export interface ServerSource {
  aliveWorkers(): number;
  readonly tables: ReadonlyMap<string, TableWriter>;
}

/** Servers running now (two for a moment during a reload: the new one and the old one). */
const sources: ServerSource[] = [];

const buildInfo = metrics.gauge({
  name: 'coredns_build_info',
  help: 'A metric with a constant \'1\' value labeled by version, revision, and goversion from which CoreDNS was built.',
  labelNames: ['version', 'revision', 'goversion'],
});
buildInfo.set(buildInfo.series([VERSION, '', process.version]), 1);

const alive = metrics.gauge({ name: 'kdns_workers_alive', help: 'Worker threads answering queries now.' });
const aliveSlot = alive.series();
alive.onCollect(() => {
  let n = 0;
  for (const s of sources) n += s.aliveWorkers();
  alive.set(aliveSlot, n);
});

const restarts = metrics.counter({ name: 'kdns_worker_restarts_total', help: 'Worker threads started to replace one that died.' });
const restartsSlot = restarts.series();

/** The newest server's tables (the old one's go away with it). */
function currentTables(): ReadonlyMap<string, TableWriter> {
  return sources.at(-1)?.tables ?? new Map();
}

/** Label sets of coredns_plugin_enabled, counted by the configurations that enable them. */
const enabled = new Map<string, { labels: Record<string, string>; users: number }>();

// Metrics whose label sets come and go: plain prom-client gauges, filled at scrape time.
metrics.onPrometheus((prom, registry) => {
  new prom.Gauge({
    name: 'coredns_plugin_enabled',
    help: 'A metric that indicates whether a plugin is enabled on per server and zone basis.',
    labelNames: ['server', 'zone', 'view', 'name'],
    registers: [registry],
    collect() {
      this.reset();
      for (const e of enabled.values()) this.set(e.labels, 1);
    },
  });
  new prom.Gauge({
    name: 'kdns_table_generation',
    help: 'Batches of changes committed to a record table.',
    labelNames: ['table'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [id, t] of currentTables()) this.set({ table: id }, Atomics.load(new Int32Array(t.buffer, 0, H_GENERATION + 1), H_GENERATION));
    },
  });
  new prom.Gauge({
    name: 'kdns_table_names',
    help: 'DNS names (each with its records) in a record table.',
    labelNames: ['table'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [id, t] of currentTables()) this.set({ table: id }, t.stats().names);
    },
  });
  new prom.Gauge({
    name: 'kdns_table_bytes',
    help: 'Size of a record table\'s shared buffer.',
    labelNames: ['table'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [id, t] of currentTables()) this.set({ table: id }, t.buffer.byteLength);
    },
  });
});

/**
 * Shows coredns_plugin_enabled for these label sets until the returned function is called (a
 * configuration's prometheus part: start .. stop, so a reload drops the plugins it removed).
 */
export function enablePlugins(list: Array<{ server: string; zone: string; view: string; name: string }>): () => void {
  const keys = list.map((l) => {
    const key = JSON.stringify([l.server, l.zone, l.view, l.name]);
    const e = enabled.get(key);
    if (e) e.users++;
    else enabled.set(key, { labels: { ...l }, users: 1 });
    return key;
  });
  let released = false;
  return () => {
    if (released) return;
    released = true;
    for (const k of keys) {
      const e = enabled.get(k)!;
      if (--e.users === 0) enabled.delete(k);
    }
  };
}

/** A server's workers and tables are shown until the returned function is called. */
export function attachServer(source: ServerSource): () => void {
  sources.push(source);
  return () => {
    const i = sources.indexOf(source);
    if (i >= 0) sources.splice(i, 1);
  };
}

/** Live blocks by worker index, and the counts of the index's workers that are gone. */
const workerOfBlock = new Map<SharedArrayBuffer, { index: number; slots: Float64Array }>();
const goneQueries: number[] = [];

/** `slot` of every live worker block added up per worker index, on top of `base`. */
function perWorker(slot: number, base: readonly number[] = []): number[] {
  const byIndex = [...base];
  for (const { index, slots } of workerOfBlock.values()) byIndex[index] = (byIndex[index] ?? 0) + slots[slot]!;
  return byIndex;
}

// Per worker index rather than per thread: a replacement (after a crash, or a reload's new
// server) continues its index's count, so the counter never goes backwards.
metrics.onPrometheus((prom, registry) => {
  new prom.Counter({
    name: 'kdns_worker_queries_total',
    help: 'DNS messages received by each worker thread, over every transport.',
    labelNames: ['worker'],
    registers: [registry],
    collect() {
      this.reset();
      perWorker(QUERIES_SLOT, goneQueries).forEach((n, i) => {
        if (n !== undefined) this.inc({ worker: String(i) }, n);
      });
    },
  });
});

// Memory per worker index (during a reload the old and the new worker of an index both count).
metrics.onPrometheus((prom, registry) => {
  for (const [name, help, slot] of [
    ['kdns_worker_heap_used_bytes', 'V8 heap in use by each worker thread, sampled every 5 s.', HEAP_USED_SLOT],
    ['kdns_worker_heap_total_bytes', 'V8 heap reserved by each worker thread (in use and free), sampled every 5 s.', HEAP_TOTAL_SLOT],
    ['kdns_worker_heap_young_bytes', "V8 new space (young generation) of each worker thread, sampled every 5 s: a scavenge's pause grows with it (-worker.young-mb).", HEAP_YOUNG_SLOT],
    ['kdns_worker_external_memory_bytes', 'Memory outside the V8 heap (Buffers) held by each worker thread, sampled every 5 s.', EXTERNAL_SLOT],
  ] as const) {
    new prom.Gauge({
      name,
      help,
      labelNames: ['worker'],
      registers: [registry],
      collect() {
        this.reset();
        perWorker(slot).forEach((n, i) => {
          if (n !== undefined) this.set({ worker: String(i) }, n);
        });
      },
    });
  }
});

/** A new worker (position `index` in the pool) is about to start: its metrics block. */
export function openWorkerBlock(index: number): SharedArrayBuffer {
  const block = metrics.store.open();
  workerOfBlock.set(block, { index, slots: new Float64Array(block) });
  return block;
}

/** A worker's thread has ended (any reason): its counts are kept, its block dropped. */
export function closeWorkerBlock(block: SharedArrayBuffer): void {
  const w = workerOfBlock.get(block);
  if (w) {
    workerOfBlock.delete(block);
    goneQueries[w.index] = (goneQueries[w.index] ?? 0) + w.slots[QUERIES_SLOT]!;
  }
  metrics.store.close(block);
}

/** A serving worker died: CoreDNS counts a recovered panic; we count the crash. */
export function countWorkerDeath(): void {
  metrics.panics.inc(PANICS_SLOT);
}

/** A replacement worker is being started. */
export function countWorkerRestart(): void {
  restarts.inc(restartsSlot);
}
