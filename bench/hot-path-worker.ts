// The measuring thread of bench/hot-path.ts: kdns's worker runtime, fed from memory. Imports only
// what a kdns worker imports (and bench/stats.ts, which imports nothing), so the thread is what
// kdns runs.
import dgram from 'node:dgram';
import { PerformanceObserver } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import type { WorkerConfig } from '../src/worker/config.ts';
import { WorkerRuntime } from '../src/worker/runtime.ts';
import { TableReader } from '../src/table/reader.ts';
import { MetricsWriter } from '../src/metrics/worker.ts';
import { RCODE } from '../src/dns/constants.ts';
import { TCP_PREFIX } from '../src/dns/response.ts';
import { median } from './stats.ts';

const RCODE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(RCODE).map(([name, code]) => [code, name]));

export interface HotPathInput {
  config: WorkerConfig;
  queries: Uint8Array[];
  rounds: number;
  perRound: number;
  /** The queries' source address. */
  client: string;
}

export interface HotPathResult {
  kind: 'kdns-hot-path';
  /** Nanoseconds per query, one figure per round. */
  nsPerQuery: number[];
  medianNs: number;
  /** The fastest round: the least disturbed by the rest of the machine. */
  minNs: number;
  queries: number;
  /** Queries a plugin deferred (no synchronous answer), per round. */
  deferred: number;
  /** RCODEs of the answers over the measured rounds, by name (NOERROR, NXDOMAIN, ...). */
  rcodes: Record<string, number>;
  /** GCs and their total pause over the measured rounds (PerformanceObserver 'gc'). */
  gc: { count: number; ms: number };
}

/** The measuring thread: kdns's worker runtime, fed from memory. */
async function measure(input: HotPathInput): Promise<HotPathResult> {
  const readers = new Map<string, TableReader>();
  for (const [id, sab] of Object.entries(input.config.tables)) readers.set(id, new TableReader(sab, () => {}));
  const metrics = new MetricsWriter(input.config.metrics);
  const rt = await WorkerRuntime.create(input.config, { log: () => {}, metrics }, (id) => readers.get(id)!);
  const route = rt.route(input.config.listeners[0]!, input.config.servers);
  // A deferred answer goes out on this socket (to a loopback port nobody reads), never elsewhere.
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const msgs = input.queries.map((q) => Buffer.from(q));
  const q = rt.q;
  let deferred = 0;
  const rcodes = new Float64Array(16);
  const pass = (n: number): void => {
    for (let i = 0, j = 0; i < n; i++) {
      const msg = msgs[j]!;
      if (++j === msgs.length) j = 0;
      msg[0] = i & 0xff; // the ID changes as it does on the wire
      q.tcp = false;
      q.remoteAddress = input.client;
      q.remotePort = 9;
      rt.udpSocket = socket;
      const len = rt.handle(route, msg, msg.length);
      if (len === 0) deferred++;
      else rcodes[rt.w.buf[TCP_PREFIX + 3]! & 0x0f]! += 1;
      rt.observe(len);
    }
  };
  // Warm-up: fills the cache, lets V8 optimize.
  pass(Math.max(2 * msgs.length, 100_000));
  deferred = 0;
  rcodes.fill(0);
  const gc = { count: 0, ms: 0 };
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gc.count++;
      gc.ms += e.duration;
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  const ns: number[] = [];
  for (let r = 0; r < input.rounds; r++) {
    const t0 = process.hrtime.bigint();
    pass(input.perRound);
    ns.push(Number(process.hrtime.bigint() - t0) / input.perRound);
    // Lets the GC observer's entries and any deferred work run between rounds.
    await new Promise((resolve) => setImmediate(resolve));
  }
  obs.disconnect();
  socket.close();
  rt.close();
  const perRound = deferred / input.rounds;
  const failed = (rcodes[RCODE.SERVFAIL]! + rcodes[RCODE.REFUSED]!) / input.rounds;
  // Deferred queries (forwarded) and failures are not the work the figure claims to measure.
  if (perRound + failed > input.perRound / 100) {
    throw new Error(`${perRound + failed} of ${input.perRound} queries per round were deferred (forwarded) or failed: use a mix of names kdns answers itself`);
  }
  const byName: Record<string, number> = {};
  rcodes.forEach((n, code) => {
    if (n > 0) byName[RCODE_NAMES[code] ?? String(code)] = n;
  });
  return { kind: 'kdns-hot-path', nsPerQuery: ns, medianNs: median(ns), minNs: Math.min(...ns), queries: msgs.length, deferred: perRound, rcodes: byName, gc };
}

if (parentPort) {
  measure(workerData as HotPathInput).then(
    (r) => {
      parentPort!.postMessage(r);
      process.exit(0);
    },
    (err: unknown) => {
      parentPort!.postMessage({ kind: 'error', message: err instanceof Error ? err.message : String(err) });
      process.exit(1);
    },
  );
}
