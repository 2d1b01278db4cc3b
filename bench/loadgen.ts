// UDP DNS load generator (loopback only). CLI and library:
//
//   node bench/loadgen.ts --server 127.0.0.1:1053 [--threads 1] [--duration 10]
//       [--concurrency 32 | --rate QPS] [--max-queries N] [--timeout 1000]
//       [--warmup 1] [--queries FILE | --qname NAME --qtype A] [--sockets 16]
//       [--edns] [--pid PID] [--json]
//
//   import { runLoad } from './loadgen.ts';
//   const r = await runLoad({ server: '127.0.0.1:1053', duration: 5 });

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import * as hdr from 'hdr-histogram-js';
import { encodeQuery, parseEndpoint, processTreeCpuUs, readQueryFile } from './dnsutil.ts';
import type { QuerySpec } from './dnsutil.ts';
import { PACINGS, UNIQUE_PLACEHOLDER } from './loadgen-worker.ts';
import { searchMaxRate } from './maxrate.ts';
import type { SearchOptions, SearchResult, TrialMeasure } from './maxrate.ts';
import type { GoMessage, Pacing, WorkerConfig, WorkerResult } from './loadgen-worker.ts';

/** A query name written `{unique}.rest` is sent with a fresh first label each time. */
const UNIQUE_LABEL = '{unique}.';

export interface LoadOptions {
  /** `127.0.0.1:1053` or `[::1]:1053`; loopback only. */
  server: string;
  /** Generator threads (worker_threads), default 1. */
  threads?: number;
  /** UDP sockets per thread (distinct source ports, so SO_REUSEPORT servers see many flows), default 16. */
  sockets?: number;
  /** Measured seconds, default 10, capped at 120. */
  duration?: number;
  /** Optional bound on measured queries sent (total across threads). */
  maxQueries?: number;
  /** Closed loop: outstanding queries per thread, default 32. */
  concurrency?: number;
  /** Open loop: offered queries/s in total across threads; disables closed loop. */
  rate?: number;
  /** Open loop: how sends are spread in time, default `tick` (see Pacing in loadgen-worker.ts). */
  pacing?: Pacing;
  /** A query unanswered after this many ms counts as a timeout, default 1000. */
  timeoutMs?: number;
  /** Seconds of unmeasured warmup before the window, default 1. */
  warmup?: number;
  /** Queries to cycle through (takes precedence over queriesFile / qname). */
  queries?: QuerySpec[];
  /** dnsperf-format query file. */
  queriesFile?: string;
  qname?: string;
  qtype?: string;
  /** Add an EDNS0 OPT record (UDP size 1232) to every query. */
  edns?: boolean;
  /**
   * Prefix every name with a label never sent before (`u<thread><counter>.`), so each query is a
   * cache miss for the server (and a fresh name for its upstream). Without it, only the names
   * written `{unique}.rest` (a first label `{unique}`) get one.
   */
  unique?: boolean;
  /** Measure utime+stime of this process (and its descendants) over the window. */
  pid?: number;
  /** More processes (trees) whose CPU counts as the target's, e.g. a backend behind a front end. */
  extraPids?: number[];
}

export interface LatencySummaryMs {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export interface LoadResult {
  server: string;
  mode: 'closed' | 'open';
  threads: number;
  socketsPerThread: number;
  concurrencyPerThread: number | null;
  offeredQps: number | null;
  /** Open loop: the send schedule; null in closed loop. */
  pacing: Pacing | null;
  queryCount: number;
  /** Measured window in seconds: from end of warmup to the last measured answer. */
  windowS: number;
  sent: number;
  answered: number;
  timeouts: number;
  /** timeouts / sent */
  loss: number;
  late: number;
  mismatched: number;
  errors: number;
  idExhausted: number;
  truncated: number;
  rcodes: Record<string, number>;
  warmupSent: number;
  warmupAnswered: number;
  /** Answered queries per second over the window. */
  qps: number;
  /** Sent queries per second over the window. */
  sentQps: number;
  /** Open loop only: the generator sent < 97% of the offered rate (results then say more about the generator). */
  generatorLag: boolean;
  latencyMs: LatencySummaryMs;
  /** Compressed base64 HdrHistogram (µs) of all measured answers; mergeable. */
  histogram: string;
  /** CPU of the target process tree over the window (only with pid). */
  target: { pid: number; cpuUs: number; cpuUsPerQuery: number } | null;
  /** CPU of this (generator) process, all threads, over the window. */
  loadgen: { cpuUs: number; cpuUsPerQuery: number };
}

export const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];

const WORKER_URL = new URL('./loadgen-worker.ts', import.meta.url);

function clampInt(v: number | undefined, def: number, min: number, max: number, name: string): number {
  if (v === undefined || Number.isNaN(v)) return def;
  if (!Number.isFinite(v) || v < min) throw new Error(`${name} must be >= ${min}`);
  return Math.min(max, Math.floor(v));
}

/** Splits `total` into `n` near-equal integer parts. */
function split(total: number, n: number, i: number): number {
  return Math.floor(total / n) + (i < total % n ? 1 : 0);
}

export function summarize(h: hdr.Histogram): LatencySummaryMs {
  const ms = (us: number): number => Math.round(us) / 1000;
  if (h.totalCount === 0) return { p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 };
  return {
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue),
    mean: ms(h.mean),
  };
}

export function newHistogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
}

/** Merges compressed base64 histograms into one. */
export function mergeHistograms(encoded: string[]): hdr.Histogram {
  const h = newHistogram();
  for (const e of encoded) {
    const d = hdr.decodeFromCompressedBase64(e);
    h.add(d);
    d.destroy();
  }
  return h;
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const ep = parseEndpoint(opts.server);
  const threads = clampInt(opts.threads, 1, 1, 64, 'threads');
  const sockets = clampInt(opts.sockets, 16, 1, 64, 'sockets');
  const duration = Math.min(120, opts.duration ?? 10);
  if (!(duration > 0)) throw new Error('duration must be > 0');
  const warmup = Math.min(60, Math.max(0, opts.warmup ?? 1));
  const timeoutMs = clampInt(opts.timeoutMs, 1000, 1, 30_000, 'timeout');
  const rate = opts.rate ?? 0;
  if (rate < 0 || !Number.isFinite(rate)) throw new Error('rate must be >= 0');
  const pacing = opts.pacing ?? 'tick';
  if (!PACINGS.includes(pacing)) throw new Error(`pacing is one of ${PACINGS.join(', ')}`);
  const concurrency = clampInt(opts.concurrency, 32, 1, 16384, 'concurrency');
  const maxQueries = opts.maxQueries !== undefined ? clampInt(opts.maxQueries, 0, 1, Number.MAX_SAFE_INTEGER, 'max-queries') : Infinity;

  let specs: QuerySpec[];
  if (opts.queries && opts.queries.length > 0) specs = opts.queries;
  else if (opts.queriesFile) specs = readQueryFile(opts.queriesFile);
  else specs = [{ name: opts.qname ?? 'kubernetes.default.svc.cluster.local', type: (opts.qtype ?? 'A').toUpperCase() }];
  const queries = specs.map((s) => {
    // `{unique}.rest` (bench/mix.ts) or --unique: a fresh first label per query.
    const marked = s.name.startsWith(UNIQUE_LABEL);
    const unique = marked || (opts.unique ?? false);
    const rest = marked ? s.name.slice(UNIQUE_LABEL.length) : s.name;
    const e = encodeQuery(unique ? { ...s, name: `${UNIQUE_PLACEHOLDER}.${rest}` } : s, opts.edns ?? false);
    return { wire: e.wire, qend: e.qend, unique };
  });

  const workers: Worker[] = [];
  const results: Promise<WorkerResult>[] = [];
  const readies: Promise<void>[] = [];
  for (let i = 0; i < threads; i++) {
    const cfg: WorkerConfig = {
      index: i,
      host: ep.host,
      port: ep.port,
      family: ep.family,
      sockets,
      concurrency,
      rate: rate > 0 ? rate / threads : 0,
      pacing,
      timeoutMs,
      maxQueries: maxQueries === Infinity ? Infinity : split(maxQueries, threads, i),
      queries,
    };
    const w = new Worker(WORKER_URL, { workerData: cfg });
    workers.push(w);
    let readyRes: () => void = () => {};
    readies.push(new Promise<void>((r) => (readyRes = r)));
    results.push(
      new Promise<WorkerResult>((resolve, reject) => {
        w.on('message', (m: { ready?: boolean; ok?: boolean; result?: WorkerResult; error?: string }) => {
          if (m.ready) readyRes();
          else if (m.ok) resolve(m.result!);
          else reject(new Error(`loadgen thread ${i}: ${m.error}`));
        });
        w.once('error', reject);
        w.once('exit', (code) => reject(new Error(`loadgen thread ${i} exited (${code})`)));
      }),
    );
    // a thread that fails before `ready` must not hang us
    results[i]!.catch(() => readyRes());
  }

  let all: WorkerResult[];
  let cpuBefore = { target: NaN, self: 0 };
  let cpuAfter = { target: NaN, self: 0 };
  const selfCpu = (): number => {
    const u = process.cpuUsage();
    return u.user + u.system;
  };
  const pid = opts.pid;
  const targetCpuUs = (): number => (pid ? [pid, ...(opts.extraPids ?? [])].reduce((a, p) => a + processTreeCpuUs(p), 0) : NaN);
  let measureStartEpoch = 0;
  try {
    await Promise.all(readies);
    measureStartEpoch = Date.now() + warmup * 1000;
    const go: GoMessage = { measureStartEpoch, sendEndEpoch: measureStartEpoch + duration * 1000 };
    for (const w of workers) w.postMessage(go);
    const startTimer = setTimeout(
      () => {
        cpuBefore = { target: targetCpuUs(), self: selfCpu() };
      },
      Math.max(0, measureStartEpoch - Date.now()),
    );
    try {
      all = await Promise.all(results);
    } finally {
      clearTimeout(startTimer);
    }
    cpuAfter = { target: targetCpuUs(), self: selfCpu() };
  } finally {
    for (const w of workers) {
      w.removeAllListeners('exit');
      void w.terminate();
    }
  }

  const merged = mergeHistograms(all.map((r) => r.histogram));
  const sum = (f: (r: WorkerResult) => number): number => all.reduce((a, r) => a + f(r), 0);
  const sent = sum((r) => r.sent);
  const answered = sum((r) => r.answered);
  const timeouts = sum((r) => r.timeouts);
  const rcodes: Record<string, number> = {};
  for (let c = 0; c < 16; c++) {
    const n = sum((r) => r.rcodes[c]!);
    if (n > 0) rcodes[RCODE_NAMES[c] ?? `RCODE${c}`] = n;
  }
  const lastAnswer = Math.max(...all.map((r) => r.lastAnswerEpoch));
  const sendStop = Math.max(...all.map((r) => r.sendStopEpoch));
  const windowMs = Math.max(1, (answered > 0 ? lastAnswer : sendStop) - measureStartEpoch);
  const windowS = windowMs / 1000;
  const targetCpu = cpuAfter.target - cpuBefore.target;
  const selfCpuUs = cpuAfter.self - cpuBefore.self;
  const result: LoadResult = {
    server: opts.server,
    mode: rate > 0 ? 'open' : 'closed',
    threads,
    socketsPerThread: sockets,
    concurrencyPerThread: rate > 0 ? null : concurrency,
    offeredQps: rate > 0 ? rate : null,
    pacing: rate > 0 ? pacing : null,
    queryCount: queries.length,
    windowS: Math.round(windowS * 1000) / 1000,
    sent,
    answered,
    timeouts,
    loss: sent > 0 ? timeouts / sent : 0,
    late: sum((r) => r.late),
    mismatched: sum((r) => r.mismatched),
    errors: sum((r) => r.errors),
    idExhausted: sum((r) => r.idExhausted),
    truncated: sum((r) => r.truncated),
    rcodes,
    warmupSent: sum((r) => r.warmupSent),
    warmupAnswered: sum((r) => r.warmupAnswered),
    qps: Math.round(answered / windowS),
    sentQps: Math.round(sent / windowS),
    generatorLag: rate > 0 && sent / windowS < 0.97 * rate,
    latencyMs: summarize(merged),
    histogram: hdr.encodeIntoCompressedBase64(merged),
    target:
      pid && Number.isFinite(targetCpu)
        ? { pid, cpuUs: Math.round(targetCpu), cpuUsPerQuery: answered > 0 ? round2(targetCpu / answered) : 0 }
        : null,
    loadgen: { cpuUs: Math.round(selfCpuUs), cpuUsPerQuery: answered > 0 ? round2(selfCpuUs / answered) : 0 },
  };
  merged.destroy();
  return result;
}

export interface MaxRateOptions extends Omit<LoadOptions, 'rate' | 'duration' | 'warmup' | 'maxQueries'>, Omit<SearchOptions, 'onTrial'> {
  /** Measured seconds per trial, default 2. */
  trialDuration?: number;
  /** Unmeasured seconds at the trial's rate before each trial's window, default 0.5. */
  trialWarmup?: number;
  /** Pause between trials so the server drains, default 300 ms. */
  pauseMs?: number;
  /**
   * Start with a closed-loop run (`concurrency` outstanding per thread) of this many seconds and
   * seed the search at 0.8 × its QPS with growth 1.5 (unless startRate / growth are given).
   * Default 1; 0 = no probe.
   */
  probeDuration?: number;
  onTrial?: (t: SearchResult['trials'][number], index: number) => void;
  /** Called with each trial's full result (histogram included). */
  onTrialResult?: (r: LoadResult) => void;
}

export interface MaxRateResult extends SearchResult {
  /** The closed-loop probe, when run. */
  probe: LoadResult | null;
}

/**
 * The highest open-loop rate at which the server keeps loss <= maxLoss and p99 <= maxP99Ms
 * (bench/maxrate.ts has the search), from short open-loop trials.
 */
export async function findMaxRate(opts: MaxRateOptions): Promise<MaxRateResult> {
  const { trialDuration = 2, trialWarmup = 0.5, pauseMs = 300, probeDuration = 1, onTrialResult, ...rest } = opts;
  let probe: LoadResult | null = null;
  let startRate = opts.startRate;
  let growth = opts.growth;
  if (probeDuration > 0 && startRate === undefined) {
    probe = await runLoad({ ...rest, rate: undefined, duration: probeDuration, warmup: Math.min(0.5, trialWarmup) });
    if (probe.qps > 0) {
      startRate = 0.8 * probe.qps;
      growth ??= 1.5;
    }
    await new Promise((r) => setTimeout(r, pauseMs));
  }
  let first = true;
  const trial = async (rate: number): Promise<TrialMeasure> => {
    if (!first) await new Promise((r) => setTimeout(r, pauseMs));
    first = false;
    const r = await runLoad({ ...rest, rate, duration: trialDuration, warmup: trialWarmup });
    onTrialResult?.(r);
    return {
      rate,
      qps: r.qps,
      sentQps: r.sentQps,
      loss: r.loss,
      latencyMs: { p50: r.latencyMs.p50, p90: r.latencyMs.p90, p99: r.latencyMs.p99, p999: r.latencyMs.p999, max: r.latencyMs.max },
      generatorLag: r.generatorLag,
      cpuUsPerQuery: r.target?.cpuUsPerQuery ?? null,
    };
  };
  const res = await searchMaxRate(trial, { ...opts, startRate, growth });
  return { ...res, probe };
}

export function formatMaxRate(m: MaxRateResult): string {
  const lines: string[] = [];
  if (m.probe) lines.push(`closed-loop probe: ${m.probe.qps} qps, p99 ${m.probe.latencyMs.p99} ms`);
  lines.push('rate      sent/s    answered/s  loss      p50 ms   p99 ms   verdict');
  for (const t of m.trials) {
    lines.push(
      `${String(t.rate).padEnd(9)} ${String(t.sentQps).padEnd(9)} ${String(t.qps).padEnd(11)} ${`${(t.loss * 100).toFixed(3)}%`.padEnd(9)} ${String(t.latencyMs.p50).padEnd(8)} ${String(t.latencyMs.p99).padEnd(8)} ${t.verdict}`,
    );
  }
  const c = m.ceilings;
  lines.push(
    `max rate ${m.rate} qps (loss <= ${(c.maxLoss * 100).toFixed(3)}%, p99 <= ${c.maxP99Ms} ms; ${m.limitedBy}${m.failedAt !== null ? `, failed at ${m.failedAt}` : ''}; ${m.trials.length} trials)`,
  );
  if (m.limitedBy === 'generator') lines.push('WARNING: the generator, not the server, failed first; add --threads');
  return lines.join('\n');
}

/** parseArgs options for the max-rate search's ceilings and bounds, shared by the CLIs that run it. */
export const MAX_RATE_FLAGS = {
  'max-loss': { type: 'string' },
  'max-p99': { type: 'string' },
  'min-rate': { type: 'string' },
  'max-rate': { type: 'string' },
  'trial-duration': { type: 'string' },
  'max-trials': { type: 'string' },
  tolerance: { type: 'string' },
} as const;

/** The search settings given as MAX_RATE_FLAGS (undefined where a flag was not), numbers read by `num`. */
export function parseMaxRateFlags(
  values: { [F in keyof typeof MAX_RATE_FLAGS]?: string },
  num: (s: string | undefined) => number | undefined,
): { maxLoss?: number; maxP99Ms?: number; minRate?: number; maxRate?: number; trialDuration?: number; maxTrials?: number; tolerance?: number } {
  return {
    maxLoss: num(values['max-loss']),
    maxP99Ms: num(values['max-p99']),
    minRate: num(values['min-rate']),
    maxRate: num(values['max-rate']),
    trialDuration: num(values['trial-duration']),
    maxTrials: num(values['max-trials']),
    tolerance: num(values.tolerance),
  };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

export function formatResult(r: LoadResult): string {
  const l = r.latencyMs;
  const lines = [
    `server ${r.server}  mode ${r.mode}${r.mode === 'open' ? ` offered ${r.offeredQps} qps, ${r.pacing} pacing` : ` concurrency ${r.concurrencyPerThread}/thread`}  threads ${r.threads}x${r.socketsPerThread} sockets  queries ${r.queryCount}`,
    `window ${r.windowS.toFixed(2)} s  sent ${r.sent}  answered ${r.answered}  timeouts ${r.timeouts} (loss ${(r.loss * 100).toFixed(3)}%)`,
    `qps ${r.qps} answered (${r.sentQps} sent)`,
    `latency ms  p50 ${l.p50}  p90 ${l.p90}  p99 ${l.p99}  p99.9 ${l.p999}  max ${l.max}  mean ${l.mean}`,
    `rcodes ${Object.entries(r.rcodes).map(([k, v]) => `${k}=${v}`).join(' ') || '-'}${r.truncated ? `  truncated ${r.truncated}` : ''}`,
  ];
  const odd = [
    r.late && `late ${r.late}`,
    r.mismatched && `mismatched ${r.mismatched}`,
    r.errors && `socket errors ${r.errors}`,
    r.idExhausted && `id-exhausted ${r.idExhausted}`,
  ].filter(Boolean);
  if (odd.length) lines.push(odd.join('  '));
  if (r.generatorLag) lines.push(`WARNING: generator sent ${r.sentQps} qps of ${r.offeredQps} offered; add --threads or lower --rate`);
  if (r.target) lines.push(`target pid ${r.target.pid} cpu ${(r.target.cpuUs / 1000).toFixed(0)} ms = ${r.target.cpuUsPerQuery} µs/query`);
  lines.push(`loadgen cpu ${(r.loadgen.cpuUs / 1000).toFixed(0)} ms = ${r.loadgen.cpuUsPerQuery} µs/query`);
  return lines.join('\n');
}

const USAGE = `usage: node bench/loadgen.ts --server 127.0.0.1:1053 [options]
  --threads N        generator threads (default 1)
  --sockets N        UDP sockets (source ports) per thread (default 16)
  --duration SEC     measured seconds (default 10, max 120)
  --max-queries N    stop after N measured queries
  --concurrency N    closed loop: outstanding queries per thread (default 32)
  --rate QPS         open loop: total offered rate (disables --concurrency)
  --pacing P         open loop: tick (default: what is due, every 1 ms), even (1/rate apart) or
                     poisson (random gaps); even and poisson spin a core per thread
  --timeout MS       unanswered after MS = timeout/loss (default 1000)
  --warmup SEC       unmeasured warmup (default 1)
  --queries FILE     dnsperf query file ("name TYPE" per line, # comments)
  --qname NAME --qtype TYPE   single query (default kubernetes.default.svc.cluster.local A)
  --edns             add an EDNS0 OPT record
  --unique           prefix each name with a label never used before (every query a cache miss)
  --pid PID          report CPU µs/query of this process (tree)
  --json             print the result as JSON
max-rate search (open-loop trials; see bench/maxrate.ts):
  --find-max-rate    search for the highest rate within the ceilings below
  --max-loss X       loss ceiling, a fraction (default 0.001)
  --max-p99 MS       p99 latency ceiling (default 5)
  --min-rate QPS     lowest rate tried (default 1000)
  --max-rate QPS     highest rate tried (default 1000000)
  --trial-duration S measured seconds per trial (default 2)
  --max-trials N     at most N trials (default 10)
  --tolerance X      stop when the bracket is within X (default 0.05)`;

async function cli(): Promise<void> {
  const { values } = parseArgs({
    options: {
      server: { type: 'string' },
      threads: { type: 'string' },
      sockets: { type: 'string' },
      duration: { type: 'string' },
      'max-queries': { type: 'string' },
      concurrency: { type: 'string' },
      rate: { type: 'string' },
      pacing: { type: 'string' },
      timeout: { type: 'string' },
      warmup: { type: 'string' },
      queries: { type: 'string' },
      qname: { type: 'string' },
      qtype: { type: 'string' },
      edns: { type: 'boolean' },
      unique: { type: 'boolean' },
      pid: { type: 'string' },
      json: { type: 'boolean' },
      'find-max-rate': { type: 'boolean' },
      ...MAX_RATE_FLAGS,
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || !values.server) {
    console.log(USAGE);
    process.exit(values.help ? 0 : 2);
  }
  const num = (s: string | undefined): number | undefined => (s === undefined ? undefined : Number(s));
  // What the load is, for a single run and for every trial of a search alike.
  const load = {
    server: values.server,
    threads: num(values.threads),
    sockets: num(values.sockets),
    concurrency: num(values.concurrency),
    timeoutMs: num(values.timeout),
    queriesFile: values.queries,
    qname: values.qname,
    qtype: values.qtype,
    edns: values.edns,
    unique: values.unique,
    pid: num(values.pid),
    pacing: values.pacing as Pacing | undefined,
  };
  if (values['find-max-rate']) {
    const search = parseMaxRateFlags(values, num);
    const m = await findMaxRate({
      ...load,
      ...search,
      maxLoss: search.maxLoss ?? 0.001,
      maxP99Ms: search.maxP99Ms ?? 5,
      startRate: num(values.rate),
      onTrial: values.json ? undefined : (t) => process.stderr.write(`trial ${t.rate} qps: ${t.verdict} (loss ${(t.loss * 100).toFixed(3)}%, p99 ${t.latencyMs.p99} ms)\n`),
    });
    console.log(values.json ? JSON.stringify(m, null, 2) : formatMaxRate(m));
    return;
  }
  const r = await runLoad({
    ...load,
    duration: num(values.duration),
    maxQueries: num(values['max-queries']),
    rate: num(values.rate),
    warmup: num(values.warmup),
  });
  if (values.json) {
    console.log(JSON.stringify(r, null, 2));
  } else {
    console.log(formatResult(r));
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  cli().catch((err: unknown) => {
    console.error(`loadgen: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
