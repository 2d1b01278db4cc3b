// The primary thread: owns the configuration, the record tables and the plugins' primary parts;
// runs the worker threads (a piscina pool, one long-lived task per thread) that answer every
// query; replaces a worker that dies while the others go on answering.
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { Plan } from '../config/plan.ts';
import type { PrimaryPart } from '../plugin/types.ts';
import type { FromWorker, ToWorker, WorkerConfig, WorkerListenerConfig } from '../worker/config.ts';
import type { WorkerTask } from '../../workers/dns-worker.ts';
import { checkListenersFree } from './port-check.ts';
import { keepYoungGenerationCapToPrimary, prepareGarbageCollection } from './primary-heap.ts';
import { attachServer, closeWorkerBlock, countWorkerDeath, countWorkerRestart, openWorkerBlock } from '../metrics/server.ts';

export interface ServerOptions {
  workers: number;
  testHooks?: boolean;
  /** Where worker log lines and server messages go (default: stdout / stderr). */
  out?: (text: string) => void;
  err?: (text: string) => void;
  tcp?: Partial<{ maxConnections: number; idleTimeoutMs: number }>;
  /** V8 young generation of each worker in MiB (0: V8's own sizing); default WORKER_YOUNG_GENERATION_MB. */
  youngGenerationMb?: number;
  /** V8 old-generation cap of each worker in MiB (null: V8's own sizing); see memory-limits.ts. */
  heapLimitMb?: number | null;
}

// The .js entry turns on the compile cache before the TypeScript worker module loads.
const WORKER_MODULE = new URL('../../workers/dns-worker.js', import.meta.url).href;
const RESTART_DELAY_MS = 100;
/**
 * A scavenge stops the worker for a time that grows with the young generation: mostly sweeping
 * the ArrayBuffer of every datagram received since the last one. Left to itself V8 grows a
 * worker's new space to 8 MiB with the table load and 16 MiB under traffic, and each scavenge
 * then stops it for ~1.5 ms; capped at 3 MiB (1 MiB semi-spaces) a scavenge takes ~0.2 ms, a few
 * times a second becomes thirty, and the p99 at half the maximum rate halves at the same
 * throughput (bench/RESULTS.md, "p99 at half the maximum rate, server and generator on cores of
 * their own").
 */
export const WORKER_YOUNG_GENERATION_MB = 3;
/** RFC 7766 6.2.3 leaves the idle timeout to the server; CoreDNS uses 10 s. */
const DEFAULT_TCP = { maxConnections: 1024, idleTimeoutMs: 10_000 };

interface WorkerSlot {
  index: number;
  port: MessagePort | null;
  alive: boolean;
  restarts: number;
}

/** What every worker of `plan` gets (its own metrics block is added per worker). */
export function workerConfigOf(plan: Plan, o: Pick<WorkerConfig, 'tcp' | 'testHooks'>): WorkerConfig {
  const tables: Record<string, SharedArrayBuffer> = {};
  for (const [id, t] of plan.tables) tables[id] = t.buffer;
  return {
    servers: plan.servers.map(({ key, zones, port, plugins, debug }) => ({ key, zones, port, plugins, debug })),
    listeners: plan.listeners,
    tables,
    tcp: o.tcp,
    testHooks: o.testHooks,
    metrics: null,
  };
}

export class DnsServer {
  readonly plan: Plan;
  private readonly opts: Required<Omit<ServerOptions, 'testHooks' | 'tcp'>> & { testHooks: boolean; tcp: typeof DEFAULT_TCP };
  private pool: Piscina | null = null;
  private readonly slots: WorkerSlot[] = [];
  private stopping = false;
  private readonly tasks = new Set<Promise<unknown>>();
  /** Stops showing this server's workers and tables in the metrics. */
  private detachMetrics: (() => void) | null = null;
  /** Metrics blocks of workers that stopped on request, kept until their threads are gone. */
  private readonly stoppedBlocks: SharedArrayBuffer[] = [];
  /** Primary parts whose start() was called, in order (stop() stops exactly these). */
  private readonly started: PrimaryPart[] = [];

  constructor(plan: Plan, opts: ServerOptions) {
    this.plan = plan;
    this.opts = {
      workers: Math.max(1, opts.workers),
      testHooks: opts.testHooks ?? false,
      out: opts.out ?? ((t) => process.stdout.write(t)),
      err: opts.err ?? ((t) => process.stderr.write(t)),
      tcp: { ...DEFAULT_TCP, ...opts.tcp },
      youngGenerationMb: opts.youngGenerationMb ?? WORKER_YOUNG_GENERATION_MB,
      heapLimitMb: opts.heapLimitMb ?? null,
    };
  }

  /**
   * Starts the primary parts, then the workers; resolves once every worker listens. On a reload
   * `held` lists the running server's listeners: the port check skips those ports, since the new
   * workers join the running ones in the SO_REUSEPORT group. A failure undoes what was started.
   */
  async start(opts: { held?: WorkerListenerConfig[] } = {}): Promise<void> {
    await checkListenersFree(this.plan.listeners, opts.held);
    this.detachMetrics = attachServer({ aliveWorkers: () => this.aliveWorkers(), tables: this.plan.tables });
    for (const [id, table] of this.plan.tables) {
      table.onSwap = (sab) => this.broadcast({ type: 'table', id, sab });
      table.onBuilt = (names) => this.broadcast({ type: 'built', id, names });
    }
    // The workers load and build their plugin chains while the primary parts start (a big
    // cluster's lists take seconds), and open their listeners only once every part has started:
    // nothing is answered before, as before, but /ready no longer waits for the threads' start
    // after the lists (~0.3-0.5 s at 2 workers, bench/RESULTS.md, issue 13).
    prepareGarbageCollection();
    const listening = this.startWorkers();
    listening.catch(() => {}); // awaited below, after the parts
    try {
      for (const s of this.plan.servers) {
        for (const p of s.primaries) {
          this.started.push(p.part);
          await p.part.start?.();
        }
      }
      this.broadcast({ type: 'listen' });
      await listening;
    } catch (err) {
      await this.stop({ reload: true });
      throw err;
    }
  }

  /** Starts every worker, told to wait for 'listen' before it opens its listeners; resolves once all listen. */
  private startWorkers(): Promise<void> {
    const n = this.opts.workers;
    keepYoungGenerationCapToPrimary();
    this.pool = new Piscina({
      filename: WORKER_MODULE,
      minThreads: n,
      maxThreads: n,
      concurrentTasksPerWorker: 1,
      idleTimeout: 2 ** 31 - 1,
      // Piscina's 'sync' atomics park idle threads in Atomics.wait; ours are never idle.
      atomics: 'disabled',
      resourceLimits: {
        ...(this.opts.youngGenerationMb > 0 ? { maxYoungGenerationSizeMb: this.opts.youngGenerationMb } : {}),
        ...(this.opts.heapLimitMb !== null ? { maxOldGenerationSizeMb: this.opts.heapLimitMb } : {}),
      },
    });
    const started: Promise<void>[] = [];
    for (let i = 0; i < n; i++) {
      const slot: WorkerSlot = { index: i, port: null, alive: false, restarts: 0 };
      this.slots.push(slot);
      started.push(this.launch(slot, true));
    }
    return Promise.all(started).then(() => {});
  }

  /** Workers currently listening. */
  aliveWorkers(): number {
    return this.slots.filter((s) => s.alive).length;
  }

  /**
   * Stops the workers (they close their sockets) and the primary parts. A shutdown first runs the
   * parts' shutdown hooks (health's lameduck, ready's 503) while the workers still answer; a
   * reload (`reload: true`, the new server already listening) skips them, as CoreDNS's reload
   * skips the lameduck.
   */
  async stop(opts: { reload?: boolean } = {}): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (!opts.reload) await Promise.allSettled(this.started.map((p) => p.shutdown?.()));
    this.broadcast({ type: 'stop' });
    await Promise.allSettled([...this.tasks]);
    await this.pool?.destroy();
    for (const b of this.stoppedBlocks.splice(0)) closeWorkerBlock(b);
    this.detachMetrics?.();
    for (const p of this.started) await p.stop?.();
  }

  private workerConfig(): WorkerConfig {
    return workerConfigOf(this.plan, { tcp: this.opts.tcp, testHooks: this.opts.testHooks });
  }

  /**
   * Starts the task that is worker `slot`'s life; resolves once it listens. With `holdListen` it
   * opens its listeners only when told ('listen'); a replacement opens them at once.
   */
  private launch(slot: WorkerSlot, holdListen = false): Promise<void> {
    const channel = new MessageChannel();
    const port = channel.port1;
    slot.port = port;
    let listening: () => void;
    let failed: (err: Error) => void;
    const ready = new Promise<void>((resolve, reject) => {
      listening = resolve;
      failed = reject;
    });
    port.on('message', (m: FromWorker) => {
      if (m.type === 'log') this.opts.out(m.text);
      else if (m.type === 'listening') {
        slot.alive = true;
        listening();
      } else if (m.type === 'error') failed(new Error(m.message));
      else if (m.type === 'want') this.plan.tables.get(m.id)?.onWant?.(m.name);
    });
    // Each worker counts into its own metrics block; its counts outlive it (src/metrics).
    const block = openWorkerBlock(slot.index);
    const task: WorkerTask = { index: slot.index, config: { ...this.workerConfig(), metrics: block }, port: channel.port2, holdListen };
    const run = this.pool!.run(task, { transferList: [channel.port2] as never });
    this.tasks.add(run);
    run.then(
      () => {
        // Stopped on request: answers still in flight may count until the pool is destroyed.
        if (this.stopping) this.stoppedBlocks.push(block);
        else closeWorkerBlock(block);
        this.onWorkerExit(slot, port, null, run);
      },
      (err: Error) => {
        closeWorkerBlock(block);
        failed(err);
        this.onWorkerExit(slot, port, err, run);
      },
    );
    return ready;
  }

  private onWorkerExit(slot: WorkerSlot, port: MessagePort, err: Error | null, run: Promise<unknown>): void {
    this.tasks.delete(run);
    const wasAlive = slot.alive;
    slot.alive = false;
    port.close();
    if (slot.port === port) slot.port = null;
    // A failure during the first start fails start() itself; after that, keep the slot filled.
    if (this.stopping || (!wasAlive && slot.restarts === 0)) return;
    if (wasAlive) {
      // A worker that was serving died: count it, say so, and put a new one in its place.
      this.opts.err(`[ERROR] worker ${slot.index} died: ${err?.message ?? 'exited'}; starting a replacement\n`);
      countWorkerDeath();
    } else {
      this.opts.err(`[ERROR] replacement for worker ${slot.index} failed to start: ${err?.message ?? 'exited'}; trying again\n`);
    }
    slot.restarts++;
    countWorkerRestart();
    // Not unref'd: with every worker dead this timer is what keeps the process alive until the
    // replacement starts (with -workers 1 an unref'd one let the process exit).
    setTimeout(() => {
      if (this.stopping) return;
      // Failures are reported (and retried) by onWorkerExit.
      this.launch(slot).catch(() => {});
    }, Math.min(RESTART_DELAY_MS * 2 ** Math.min(slot.restarts - 1, 6), 5000));
  }

  private broadcast(m: ToWorker): void {
    for (const s of this.slots) s.port?.postMessage(m);
  }
}
