// Heap limits for the worker threads, from the container's memory limit. V8 sizes each isolate's
// heap from the machine's memory, not the pod's: left alone, each worker's heap reservation grows
// to ~155 MiB under a cache-filling load on a 24 GiB machine although ~60 MiB holds everything it
// keeps (bench/RESULTS.md, issue 5 soak), and two of them overrun kubeadm's 170Mi limit. Capping
// the old generation (Worker resourceLimits) makes V8 collect before it grows past its share.
import os from 'node:os';

/** No worker's old generation is capped below this (a worker with full caches keeps ~15-25 MiB). */
export const MIN_WORKER_HEAP_MB = 32;
/**
 * A worker's share of the limit: the limit split between the workers and two more shares (the
 * primary's heap, and what is not heap at all: code, stacks, the shared record table, Buffers).
 */
const OTHER_SHARES = 2;

/** The memory limit of this process's cgroup in bytes, or null when there is none below the machine's memory. */
export function containerMemoryLimit(constrained = process.constrainedMemory(), total = os.totalmem()): number | null {
  return constrained > 0 && constrained < total ? constrained : null;
}

/**
 * Old-generation cap of each worker in MiB: `flag` when given (0: V8's own sizing), else a share
 * of the container's memory limit, else null (no limit: V8's own sizing).
 */
export function workerHeapLimitMb(workers: number, flag: number | null, limitBytes = containerMemoryLimit()): number | null {
  if (flag !== null) return flag > 0 ? flag : null;
  if (limitBytes === null) return null;
  return Math.max(MIN_WORKER_HEAP_MB, Math.floor(limitBytes / 2 ** 20 / (workers + OTHER_SHARES)));
}
