// The primary thread: owns the configuration, the record tables and the plugins' primary parts;
// runs the worker threads (a piscina pool, one long-lived task per thread) that answer every
// query; replaces a worker that dies while the others go on answering.
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { Plan } from '../config/plan.ts';
import type { FromWorker, ToWorker, WorkerConfig } from '../worker/config.ts';
import type { WorkerTask } from '../../workers/dns-worker.ts';
import { checkListenersFree } from './port-check.ts';

export interface ServerOptions {
  workers: number;
  testHooks?: boolean;
  /** Where worker log lines and server messages go (default: stdout / stderr). */
  out?: (text: string) => void;
  err?: (text: string) => void;
  tcp?: Partial<{ maxConnections: number; idleTimeoutMs: number }>;
}

const WORKER_MODULE = new URL('../../workers/dns-worker.ts', import.meta.url).href;
const RESTART_DELAY_MS = 100;
/** RFC 7766 6.2.3 leaves the idle timeout to the server; CoreDNS uses 10 s. */
const DEFAULT_TCP = { maxConnections: 1024, idleTimeoutMs: 10_000 };

interface WorkerSlot {
  index: number;
  port: MessagePort | null;
  alive: boolean;
  restarts: number;
}

export class DnsServer {
  readonly plan: Plan;
  private readonly opts: Required<Omit<ServerOptions, 'testHooks' | 'tcp'>> & { testHooks: boolean; tcp: typeof DEFAULT_TCP };
  private pool: Piscina | null = null;
  private readonly slots: WorkerSlot[] = [];
  private stopping = false;
  private readonly tasks = new Set<Promise<unknown>>();

  constructor(plan: Plan, opts: ServerOptions) {
    this.plan = plan;
    this.opts = {
      workers: Math.max(1, opts.workers),
      testHooks: opts.testHooks ?? false,
      out: opts.out ?? ((t) => process.stdout.write(t)),
      err: opts.err ?? ((t) => process.stderr.write(t)),
      tcp: { ...DEFAULT_TCP, ...opts.tcp },
    };
  }

  async start(): Promise<void> {
    await checkListenersFree(this.plan.listeners);
    for (const s of this.plan.servers) for (const p of s.primaries) await p.part.start?.();
    for (const [id, table] of this.plan.tables) {
      table.onSwap = (sab) => this.broadcast({ type: 'table', id, sab });
    }
    const n = this.opts.workers;
    this.pool = new Piscina({
      filename: WORKER_MODULE,
      minThreads: n,
      maxThreads: n,
      concurrentTasksPerWorker: 1,
      idleTimeout: 2 ** 31 - 1,
      // Piscina's 'sync' atomics park idle threads in Atomics.wait; ours are never idle.
      atomics: 'disabled',
    });
    const started: Promise<void>[] = [];
    for (let i = 0; i < n; i++) {
      const slot: WorkerSlot = { index: i, port: null, alive: false, restarts: 0 };
      this.slots.push(slot);
      started.push(this.launch(slot));
    }
    try {
      await Promise.all(started);
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Workers currently listening. */
  aliveWorkers(): number {
    return this.slots.filter((s) => s.alive).length;
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    // Workers keep answering while parts wind down (lameduck), then stop.
    await Promise.allSettled(this.plan.servers.flatMap((s) => s.primaries.map((p) => p.part.shutdown?.())));
    this.broadcast({ type: 'stop' });
    await Promise.allSettled([...this.tasks]);
    await this.pool?.destroy();
    for (const s of this.plan.servers) for (const p of s.primaries) await p.part.stop?.();
  }

  private workerConfig(): WorkerConfig {
    const tables: Record<string, SharedArrayBuffer> = {};
    for (const [id, t] of this.plan.tables) tables[id] = t.buffer;
    return {
      servers: this.plan.servers.map(({ key, zones, port, plugins }) => ({ key, zones, port, plugins })),
      listeners: this.plan.listeners,
      tables,
      tcp: this.opts.tcp,
      testHooks: this.opts.testHooks,
    };
  }

  /** Starts the task that is worker `slot`'s life; resolves once it listens. */
  private launch(slot: WorkerSlot): Promise<void> {
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
    });
    const task: WorkerTask = { index: slot.index, config: this.workerConfig(), port: channel.port2 };
    const run = this.pool!.run(task, { transferList: [channel.port2] as never });
    this.tasks.add(run);
    run.then(
      () => this.onWorkerExit(slot, port, null, run),
      (err: Error) => {
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
    } else {
      this.opts.err(`[ERROR] replacement for worker ${slot.index} failed to start: ${err?.message ?? 'exited'}; trying again\n`);
    }
    slot.restarts++;
    const timer = setTimeout(() => {
      if (this.stopping) return;
      // Failures are reported (and retried) by onWorkerExit.
      this.launch(slot).catch(() => {});
    }, Math.min(RESTART_DELAY_MS * 2 ** Math.min(slot.restarts - 1, 6), 5000));
    timer.unref();
  }

  private broadcast(m: ToWorker): void {
    for (const s of this.slots) s.port?.postMessage(m);
  }
}
