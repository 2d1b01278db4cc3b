// The primary's heap: its young-generation cap kept from the workers, and full collections at
// the moments a bulk load leaves the most garbage (the kubernetes plugin's first sync).
import v8 from 'node:v8';
import vm from 'node:vm';

// The primary's young-generation cap (bin/node-flags.js) must not reach the workers. V8 reads
// --max-semi-space-size when an isolate's heap is set up, and a set flag wins over a Worker's
// resourceLimits.maxYoungGenerationSizeMb, so with it a worker's new space would be the primary's
// size whatever -worker.young-mb says. Setting it back to 0 (V8's own sizing) after the primary's
// heap exists leaves the primary capped and lets each worker's resourceLimits decide (measured:
// primary new space 4 MiB, workers 2 MiB with -worker.young-mb 3 and 8 MiB with 12).

/** Idempotent; a no-op when the flag was not given (0 is its default). */
export function keepYoungGenerationCapToPrimary(): void {
  v8.setFlagsFromString('--max-semi-space-size=0');
}

/**
 * Makes the collector's gc() ready now. Call it before any worker thread starts: it toggles a V8
 * flag, and a flag changed while a worker loads its modules makes that worker's compile cache
 * entries look stale (V8 checks a hash of the flags), so it strips them from source again (seen
 * once a first sync's collections overlapped the workers' start, test/compile-cache.test.ts).
 */
export function prepareGarbageCollection(): void {
  gc();
}

type GcFunction = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async'; flavor?: 'regular' | 'last-resort' }) => void;
let gcFunction: GcFunction | null = null;

/**
 * V8's gc() without --expose-gc on the command line: the flag is set only while one new context
 * is made (V8 installs gc() in contexts created while it is set), then cleared again, so no other
 * context (no worker started later) gets a global gc().
 */
function gc(): GcFunction {
  if (gcFunction !== null) return gcFunction;
  const given = (globalThis as { gc?: GcFunction }).gc;
  if (typeof given === 'function') return (gcFunction = given);
  v8.setFlagsFromString('--expose-gc');
  try {
    gcFunction = vm.runInNewContext('gc') as GcFunction;
  } finally {
    v8.setFlagsFromString('--no-expose-gc');
  }
  return gcFunction;
}

/**
 * A full, synchronous collection of the primary's heap. With `release`, V8's memory-reducing
 * kind ("last resort": repeated until nothing more is freed, free pages handed back to the OS)
 * instead of keeping them pooled for the next allocations. Measured at 10,000 Services (issue 13,
 * bench/RESULTS.md): left alone V8 lets garbage from the first sync grow the heap to 2-4x the live
 * data and keeps the pages resident; one collection per 1,000-Service chunk and a releasing one
 * at the end keep RSS near the live data, without slowing the build.
 */
export function collectGarbage(release: boolean): void {
  if (release) {
    gc()({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  } else {
    // Between chunks only once the heap has grown past what the last collection left: a full
    // collection costs ~25-40 ms at 10,000 Services whether or not there is much to free.
    if (v8.getHeapStatistics().used_heap_size < liveAfterLast + Math.max(GROWTH_SLACK_BYTES, liveAfterLast * GROWTH_FRACTION)) return;
    gc()({ type: 'major', execution: 'sync' });
  }
  liveAfterLast = v8.getHeapStatistics().used_heap_size;
}

/** Heap in use after the last collection run here. */
let liveAfterLast = 0;
// A regular full collection frees old-generation pages but V8 keeps them committed (resident),
// so the heap's peak during a build is what it grew to before each collection. Measured in the
// 10k replay of a first sync in steps (bench/RESULTS.md, issue 13): collecting at 1.5x the live
// heap + 16 MiB let it commit 87 MiB for 44 MiB live; at live + 16 MiB it commits 66 MiB, in as
// many milliseconds of collection (13 vs 11 collections, the steps' garbage being smaller). The
// fraction keeps the count of collections from growing with the cluster (at 25,000 Services the
// live heap is ~100 MiB, and a collection costs more).
const GROWTH_FRACTION = 0.25;
const GROWTH_SLACK_BYTES = 16 * 2 ** 20;
