// Capacity run: the same query mix against several DNS servers in one run, A/B interleaved, on
// this machine. For sizing cluster DNS, and for comparing kdns with kube-dns and CoreDNS.
//
//   node bench/capacity.ts [--targets minimal,kdns1,kdnsN,kube-dns] [--workers N]
//       [--coredns PATH] [--peer NAME=HOST:PORT[,pid=PID]]... [--peer-cmd 'NAME=CMD {port}']...
//       [--services 1000] [--endpoints 10000] [--namespaces N] [--seed 1] [--source manifests|api]
//       [--mix SPEC | --mix-file FILE | --queries FILE] [--count 10000]
//       [--rounds 3] [--rate 10000] [--duration 5] [--warmup 1]
//       [--max-loss 0.001] [--max-p99 5] [--min-rate 1000] [--max-rate 1000000]
//       [--trial-duration 2] [--max-trials 8] [--tolerance 0.05] [--probe-duration 1]
//       [--concurrency 32] [--loadgen-threads 1] [--sockets 16] [--timeout 1000]
//       [--out FILE.json] [--no-html] [--keep] [--json]
//
// 1. A synthetic cluster (bench/synthetic-cluster.ts) is written as manifests (and loaded into a
//    fake API server when CoreDNS, --source api or a peer command needs one), and the query list
//    is made from the mix (bench/mix.ts) or read from a dnsperf-format file.
// 2. One upstream (bench/upstream-responder.ts: any name -> one A / one AAAA / NODATA, TTL 30)
//    serves every forwarded name.
// 3. Each round runs every target once, in an order rotated by one each round. Per (round, target):
//    start it fresh, wait for NOERROR on a cluster name, then
//      - max rate: a closed-loop probe, then open-loop trials searching for the highest rate with
//        loss <= --max-loss and p99 <= --max-p99 (bench/maxrate.ts);
//      - fixed rate: open loop at --rate for --duration: latency percentiles, loss, RCODEs, server
//        CPU µs per answered query; kdns's per-worker query counts are scraped from /metrics
//        (kdns_worker_queries_total) before and after;
//    then stop it.
// 4. Per target: medians over rounds; per kdns target and peer: the median of per-round ratios.
//    JSON to bench/out/capacity-<time>.json, a self-contained HTML page beside it
//    (bench/report-html.ts), markdown on stdout.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as hdr from 'hdr-histogram-js';
import { startFakeApiServer, type RunningFakeApiServer } from '../test/fake-apiserver/index.ts';
import { numberArg, parseCli } from './cli-args.ts';
import { expandCpuList, parseCpuList, pin, unpin } from './cpu-affinity.ts';
import { startTarget, stopTarget } from './compare.ts';
import { freePort, readQueryFile, waitForDns, type QuerySpec } from './dnsutil.ts';
import { PACINGS, type Pacing } from './loadgen-worker.ts';
import { MAX_RATE_FLAGS, findMaxRate, mergeHistograms, parseMaxRateFlags, runLoad, summarize, type LatencySummaryMs, type LoadResult } from './loadgen.ts';
import type { SearchResult } from './maxrate.ts';
import { CATEGORY_HELP, DEFAULT_MIX, MIX_CATEGORIES, formatMix, formatMixQueries, mixQueries, parseMix, parseMixFile, type Mix, type MixCategory } from './mix.ts';
import { corednsTarget, dnsmasqTarget, kdnsTarget, kdnsVariantTarget, kubeDnsTarget, minimalTarget, peerCmdTarget, peerTarget, type RunningTarget, type TargetContext, type TargetSpec } from './peers.ts';
import { fixedRateText, renderHtml } from './report-html.ts';
import { fileTimestamp, machineInfo, sourceState, type MachineInfo, type SourceState } from './run-info.ts';
import { median } from './stats.ts';
import { syntheticCluster, writeManifests, type SyntheticCluster } from './synthetic-cluster.ts';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));

export interface CapacityOptions {
  services?: number;
  endpoints?: number;
  namespaces?: number;
  seed?: number;
  zone?: string;
  /** A Mix, or a spec for parseMix (`default`, `service=45,...`). */
  mix?: Mix | string;
  /** A mix file (bench/mix.ts parseMixFile); its `rate` / `count` apply unless given here. */
  mixFile?: string;
  /** A dnsperf-format query file instead of a mix (no expected RCODEs then). */
  queriesFile?: string;
  /** Lines in the generated query list, default 10000. */
  count?: number;
  /** Default minimal,kdns1,kdnsN,kube-dns, plus coredns and every peer given. */
  targets?: string[];
  /** N of kdnsN, default the number of CPUs. */
  workers?: number;
  /** A CoreDNS binary: adds the `coredns` target. */
  coredns?: string;
  /** `NAME=HOST:PORT[,pid=PID]` */
  peers?: string[];
  /** `NAME=command with {port}` */
  peerCmds?: string[];
  /** `NAME=FLAGS`: kdns with more command-line flags, as a target of its own (A/B of a setting). */
  kdnsVariants?: string[];
  /** Where kdns reads the cluster from, default manifests. */
  source?: 'manifests' | 'api';
  rounds?: number;
  /** Fixed open-loop rate (q/s) for latency and CPU per query, default 10000. */
  rate?: number;
  /** Measured seconds of the fixed-rate run, default 5. */
  duration?: number;
  warmup?: number;
  maxLoss?: number;
  maxP99Ms?: number;
  minRate?: number;
  maxRate?: number;
  trialDuration?: number;
  maxTrials?: number;
  tolerance?: number;
  /** Closed-loop probe before the search (seconds; 0 = none), default 1. */
  probeDuration?: number;
  /** Skip the max-rate search (fixed rate only). */
  noSearch?: boolean;
  concurrency?: number;
  loadgenThreads?: number;
  /**
   * The fixed-rate run at this fraction of each target's max rate in the same round (e.g. 0.5 for
   * the "p99 at half the maximum rate" bar) instead of at `rate`; needs the search.
   */
  rateOfMax?: number;
  /** Open-loop send schedule of the trials and the fixed-rate run (bench/loadgen-worker.ts); default tick, or even when the generator has its own cores. */
  pacing?: Pacing;
  /** Cores for the servers under test and for the generator (bench/cpu-affinity.ts); default: not pinned. */
  serverCpus?: string;
  generatorCpus?: string;
  sockets?: number;
  timeoutMs?: number;
  /** Start-up cap per target, default 120 s. */
  startTimeoutMs?: number;
  /** JSON path; default bench/out/capacity-<time>.json. The HTML goes beside it. */
  out?: string;
  html?: boolean;
  /** Keep the scratch directory (manifests, queries.txt, configs). */
  keep?: boolean;
  log?: (line: string) => void;
}

export interface WorkerCounts {
  /** Queries counted per worker over the fixed-rate run (kdns_worker_queries_total deltas). */
  perWorker: Record<string, number>;
  total: number;
}

export interface RunRecord {
  round: number;
  target: string;
  /** Position in this round's order (0 = first). */
  slot: number;
  ok: boolean;
  error?: string;
  /** Max-rate search (no probe histogram). */
  search: (Omit<SearchResult, 'trials'> & { trials: SearchResult['trials'] }) | null;
  probe: { qps: number; latencyMs: LatencySummaryMs; loss: number; cpuUsPerQuery: number | null } | null;
  fixed: LoadResult | null;
  /** null: the target has no such metric (or no /metrics); undefined never. */
  workers: WorkerCounts | null;
}

export interface TargetSummary {
  name: string;
  kind: TargetSpec['kind'];
  description: string;
  command: string;
  isKdns: boolean;
  clusterDns: boolean;
  ok: boolean;
  error?: string;
  rounds: number;
  maxRate: { median: number; min: number; max: number; perRound: number[]; limitedBy: string[] } | null;
  closedQps: { median: number; min: number; max: number } | null;
  fixed: {
    offered: number;
    qpsMedian: number;
    latencyMs: LatencySummaryMs;
    sent: number;
    answered: number;
    loss: number;
    cpuUsPerQuery: number | null;
    rcodeShares: Record<string, number>;
    /** All RCODE shares within 2 points of the mix's expectation; null when not checkable. */
    rcodeMatch: boolean | null;
    generatorLag: boolean;
    /** Latency percentile curve of the merged fixed-rate histograms: [percentile, ms]. */
    curve: [number, number][];
  } | null;
  workers: { perWorker: Record<string, number>; total: number; shares: Record<string, number> } | null;
}

export interface RatioRow {
  kdns: string;
  peer: string;
  rounds: number;
  /** Medians of per-round ratios kdns ÷ peer (higher is better for rates, lower for CPU and latency). */
  maxRate: number | null;
  closedQps: number | null;
  cpuPerQuery: number | null;
  p50: number | null;
  p99: number | null;
  perRound: { maxRate: number[]; cpuPerQuery: number[]; p99: number[] };
}

export interface CapacityReport {
  kind: 'kdns-capacity';
  version: 1;
  startedAt: string;
  wallS: number;
  machine: MachineInfo;
  source: SourceState;
  config: {
    rounds: number;
    rate: number;
    /** Fixed-rate run at this fraction of each target's max rate (null: at `rate`). */
    rateOfMax: number | null;
    pacing: Pacing;
    duration: number;
    warmup: number;
    ceilings: { maxLoss: number; maxP99Ms: number };
    search: { minRate: number; maxRate: number; trialDuration: number; maxTrials: number; tolerance: number; probeDuration: number; enabled: boolean };
    concurrency: number;
    loadgenThreads: number;
    cpus: { server: string | null; generator: string | null };
    sockets: number;
    timeoutMs: number;
    workers: number;
    source: 'manifests' | 'api';
    corednsBinary: string | null;
  };
  cluster: SyntheticCluster['counts'] & { options: SyntheticCluster['options']; zone: string };
  mix: {
    spec: string | null;
    queriesFile: string | null;
    queries: number;
    shares: Record<string, number> | null;
    counts: Record<string, number> | null;
    expectedRcodes: Record<string, number> | null;
    help: Record<string, string>;
  };
  targets: { name: string; kind: string; description: string; isKdns: boolean; clusterDns: boolean }[];
  runs: RunRecord[];
  summary: TargetSummary[];
  ratios: RatioRow[];
  notes: string[];
  markdown: string;
  outFile: string;
  htmlFile: string | null;
}

const r2 = (x: number): number => Math.round(x * 100) / 100;
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

/** kdns_worker_queries_total{worker="N"} from a Prometheus text page; null when absent. */
export function parseWorkerQueries(text: string): Record<string, number> | null {
  const out: Record<string, number> = {};
  let found = false;
  for (const m of text.matchAll(/^kdns_worker_queries_total\{([^}]*)\}\s+([0-9.eE+-]+)/gm)) {
    const w = /worker="([^"]*)"/.exec(m[1]!)?.[1];
    if (w === undefined) continue;
    out[w] = (out[w] ?? 0) + Number(m[2]);
    found = true;
  }
  return found ? out : null;
}

async function scrapeWorkers(url: string | null): Promise<Record<string, number> | null> {
  if (!url) return null;
  try {
    const ctl = AbortSignal.timeout(2000);
    const res = await fetch(url, { signal: ctl });
    if (!res.ok) return null;
    return parseWorkerQueries(await res.text());
  } catch {
    return null;
  }
}

function workerDelta(before: Record<string, number> | null, after: Record<string, number> | null): WorkerCounts | null {
  if (!before || !after) return null;
  const perWorker: Record<string, number> = {};
  let total = 0;
  for (const [w, v] of Object.entries(after)) {
    const d = Math.max(0, v - (before[w] ?? 0));
    perWorker[w] = d;
    total += d;
  }
  return { perWorker, total };
}

/** Percentile curve points: 0, then 1 - 10^(-k/10) up to the resolution of the count, then max. */
export function percentileCurve(h: hdr.Histogram): [number, number][] {
  if (h.totalCount === 0) return [];
  const pts: [number, number][] = [];
  const ms = (us: number): number => r3(us / 1000);
  for (let k = 0; k <= 60; k++) {
    const tail = Math.pow(10, -k / 10);
    if (tail < 1 / h.totalCount) break;
    const p = 100 * (1 - tail);
    pts.push([r3(Math.min(p, 99.9999)), ms(h.getValueAtPercentile(Math.max(p, 0.0001)))]);
  }
  pts.push([r3(Math.min(99.9999, 100 * (1 - 1 / (h.totalCount + 1)))), ms(h.maxValue)]);
  return pts;
}

function makeTargets(o: { targets?: string[]; workers: number; coredns?: string; peers: string[]; peerCmds: string[]; kdnsVariants: string[] }): TargetSpec[] {
  const peers = [...o.peers.map(peerTarget), ...o.kdnsVariants.map(kdnsVariantTarget)];
  const peerCmds = o.peerCmds.map(peerCmdTarget);
  const names = o.targets ?? ['minimal', 'kdns1', 'kdnsN', 'kube-dns', ...(o.coredns ? ['coredns'] : []), ...peers.map((p) => p.name), ...peerCmds.map((p) => p.name)];
  const out: TargetSpec[] = [];
  for (const name of names) {
    let t: TargetSpec | undefined;
    if (name === 'minimal') t = minimalTarget();
    else if (name === 'kdnsN') t = kdnsTarget(`kdns${o.workers}`, o.workers);
    else if (/^kdns\d+$/.test(name)) t = kdnsTarget(name, Number(name.slice(4)));
    else if (name === 'kube-dns') t = kubeDnsTarget();
    else if (name === 'dnsmasq') t = dnsmasqTarget();
    else if (name === 'coredns') {
      if (!o.coredns) throw new Error('target coredns needs --coredns PATH (a CoreDNS binary)');
      t = corednsTarget(o.coredns);
    } else t = [...peers, ...peerCmds].find((p) => p.name === name);
    if (!t) throw new Error(`unknown target ${name} (known: minimal, kdns1, kdnsN, kdns<K>, kube-dns, dnsmasq, coredns with --coredns, --peer/--peer-cmd names)`);
    if (out.some((x) => x.name === t.name)) continue;
    out.push(t);
  }
  // Peers given but not listed in --targets are still measured.
  for (const p of [...peers, ...peerCmds]) if (!out.some((x) => x.name === p.name)) out.push(p);
  return out;
}

/** The shared upstream (bench/upstream-responder.ts) on a free loopback port. */
export async function startUpstream(): Promise<{ address: string; stop(): Promise<void>; pid: number; kill(): void }> {
  const port = await freePort();
  const r = startTarget({ name: 'upstream', argv: [process.execPath, 'bench/upstream-responder.ts', '--port', String(port), '--ttl', '30', '--rcvbuf', String(4 << 20)], shell: false, env: {}, helper: true });
  const abort = { aborted: false };
  void r.exited.then(() => (abort.aborted = true));
  if (!(await waitForDns({ host: '127.0.0.1', port, family: 4 }, 10_000, { name: 'upstream.example', type: 'A' }, abort))) {
    await stopTarget(r);
    throw new Error(`upstream did not start: ${r.stderrTail()}`);
  }
  return { address: `127.0.0.1:${port}`, pid: r.child.pid!, stop: () => stopTarget(r), kill: () => void r.child.kill('SIGKILL') };
}

export async function capacity(opts: CapacityOptions = {}): Promise<CapacityReport> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const t0 = Date.now();
  const startedAt = new Date();
  // kdnsN: a worker per core the servers may use.
  const cores = { server: opts.serverCpus && parseCpuList('--server-cpus', opts.serverCpus), generator: opts.generatorCpus && parseCpuList('--generator-cpus', opts.generatorCpus) };
  const workers = Math.max(1, Math.floor(opts.workers ?? (cores.server ? expandCpuList(cores.server).length : os.availableParallelism())));
  const zone = (opts.zone ?? 'cluster.local').replace(/\.$/, '');
  const mixFile = opts.mixFile ? parseMixFile(fs.readFileSync(opts.mixFile, 'utf8')) : undefined;
  const cfg: CapacityReport['config'] = {
    rounds: Math.max(1, Math.min(20, Math.floor(opts.rounds ?? 3))),
    rate: opts.rate ?? mixFile?.rate ?? 10_000,
    rateOfMax: opts.rateOfMax ?? null,
    pacing: opts.pacing ?? (opts.generatorCpus ? 'even' : 'tick'),
    duration: Math.min(120, opts.duration ?? 5),
    warmup: opts.warmup ?? 1,
    ceilings: { maxLoss: opts.maxLoss ?? 0.001, maxP99Ms: opts.maxP99Ms ?? 5 },
    search: {
      minRate: opts.minRate ?? 1000,
      maxRate: opts.maxRate ?? 1_000_000,
      trialDuration: opts.trialDuration ?? 2,
      maxTrials: opts.maxTrials ?? 8,
      tolerance: opts.tolerance ?? 0.05,
      probeDuration: opts.probeDuration ?? 1,
      enabled: !opts.noSearch,
    },
    concurrency: opts.concurrency ?? 32,
    loadgenThreads: opts.loadgenThreads ?? 1,
    cpus: { server: opts.serverCpus ?? null, generator: opts.generatorCpus ?? null },
    sockets: opts.sockets ?? 16,
    timeoutMs: opts.timeoutMs ?? 1000,
    workers,
    source: opts.source ?? 'manifests',
    corednsBinary: opts.coredns ? path.resolve(opts.coredns) : null,
  };
  if (!(cfg.rate > 0)) throw new Error('rate must be > 0');
  if (!PACINGS.includes(cfg.pacing)) throw new Error(`--pacing is one of ${PACINGS.join(', ')}`);
  if (cfg.rateOfMax !== null && !(cfg.rateOfMax > 0 && cfg.rateOfMax <= 1)) throw new Error('--rate-of-max is a fraction in (0, 1]');
  if (cfg.rateOfMax !== null && !cfg.search.enabled) throw new Error('--rate-of-max needs the max-rate search (drop --no-search)');
  const targets = makeTargets({ targets: opts.targets, workers, coredns: opts.coredns, peers: opts.peers ?? [], peerCmds: opts.peerCmds ?? [], kdnsVariants: opts.kdnsVariants ?? [] });
  if (targets.length === 0) throw new Error('no targets');

  // Cluster, query list.
  const cluster = syntheticCluster({ services: opts.services ?? 1000, endpoints: opts.endpoints ?? 10_000, namespaces: opts.namespaces, seed: opts.seed });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdns-capacity-'));
  const manifestsDir = path.join(dir, 'manifests');
  writeManifests(cluster, manifestsDir);
  let queries: QuerySpec[];
  let mixInfo: CapacityReport['mix'];
  const help = { ...CATEGORY_HELP } as Record<string, string>;
  if (opts.queriesFile) {
    queries = readQueryFile(opts.queriesFile);
    mixInfo = { spec: null, queriesFile: path.resolve(opts.queriesFile), queries: queries.length, shares: null, counts: null, expectedRcodes: null, help };
  } else {
    const mix: Mix = typeof opts.mix === 'string' ? parseMix(opts.mix) : (opts.mix ?? mixFile?.mix ?? DEFAULT_MIX);
    const res = mixQueries(cluster, mix, { count: opts.count ?? mixFile?.count ?? 10_000, zone, seed: opts.seed });
    queries = res.queries;
    mixInfo = {
      spec: formatMix(mix),
      queriesFile: null,
      queries: queries.length,
      shares: res.shares,
      counts: res.counts,
      expectedRcodes: res.expectedRcodes,
      help,
    };
  }
  fs.writeFileSync(path.join(dir, 'queries.txt'), formatMixQueries(queries));
  const c = cluster.counts;
  log(`cluster: ${c.services} services (${c.headless} headless), ${c.endpoints} endpoints, ${c.namespaces} namespaces; ${queries.length} queries (${mixInfo.spec ?? mixInfo.queriesFile}); scratch ${dir}`);

  const needApi = cfg.source === 'api' || targets.some((t) => t.needsApi);
  let api: RunningFakeApiServer | null = null;
  let upstream: Awaited<ReturnType<typeof startUpstream>> | null = null;
  let current: RunningTarget | null = null;
  const onSignal = (): void => {
    current?.kill();
    upstream?.kill();
    void api?.stop();
    if (!opts.keep) fs.rmSync(dir, { recursive: true, force: true });
    setTimeout(() => process.exit(130), 200);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const runs: RunRecord[] = [];
  const failed = new Map<string, string>();
  const commands = new Map<string, string>();
  const notes: string[] = [];
  try {
    pin(cores);
    if (needApi) {
      api = await startFakeApiServer({});
      await api.client.bulk(cluster.objects as never[], { batch: 2000 });
      log(`fake API server ${api.url} loaded with ${cluster.objects.length} objects`);
    }
    upstream = await startUpstream();
    const ctx: TargetContext = {
      cluster,
      zone,
      manifestsDir,
      upstream: upstream.address,
      dir,
      apiUrl: api?.url ?? null,
      source: cfg.source,
      startTimeoutMs: opts.startTimeoutMs ?? 120_000,
    };
    const load = {
      threads: cfg.loadgenThreads,
      sockets: cfg.sockets,
      timeoutMs: cfg.timeoutMs,
      concurrency: cfg.concurrency,
      pacing: cfg.pacing,
      queries,
    };
    for (let round = 1; round <= cfg.rounds; round++) {
      const k = (round - 1) % targets.length;
      const order = [...targets.slice(k), ...targets.slice(0, k)];
      for (const [slot, t] of order.entries()) {
        if (failed.has(t.name)) continue;
        log(`round ${round}/${cfg.rounds}  ${t.name}`);
        const rec: RunRecord = { round, target: t.name, slot, ok: false, search: null, probe: null, fixed: null, workers: null };
        try {
          current = await t.start(ctx);
          commands.set(t.name, current.command);
          const pid = current.pid ?? undefined;
          const extraPids = current.extraPids;
          // Every target alike gets --warmup seconds of the mix, closed loop and not counted,
          // before anything is measured: a server just started is still compiling its hot path
          // (and kdns still collecting the garbage of its table build).
          if (cfg.warmup > 0) await runLoad({ ...load, server: current.address, duration: cfg.warmup, warmup: 0 });
          if (cfg.search.enabled) {
            const m = await findMaxRate({
              ...load,
              server: current.address,
              pid,
              extraPids,
              maxLoss: cfg.ceilings.maxLoss,
              maxP99Ms: cfg.ceilings.maxP99Ms,
              minRate: cfg.search.minRate,
              maxRate: cfg.search.maxRate,
              trialDuration: cfg.search.trialDuration,
              maxTrials: cfg.search.maxTrials,
              tolerance: cfg.search.tolerance,
              probeDuration: cfg.search.probeDuration,
              onTrial: (tr) => log(`  trial ${tr.rate} q/s: ${tr.verdict} (answered ${tr.qps}/s, loss ${(tr.loss * 100).toFixed(3)}%, p99 ${tr.latencyMs.p99} ms)`),
            });
            if (current.exited()) throw new Error(`exited during the search: ${current.logs().slice(-300)}`);
            const { probe, ...search } = m;
            rec.search = search;
            rec.probe = probe
              ? { qps: probe.qps, latencyMs: probe.latencyMs, loss: probe.loss, cpuUsPerQuery: probe.target?.cpuUsPerQuery ?? null }
              : null;
            log(`  max rate ${m.rate} q/s (${m.limitedBy})${probe ? `, closed loop ${probe.qps} q/s` : ''}`);
            await new Promise((r) => setTimeout(r, 300));
          }
          const rate = cfg.rateOfMax !== null && rec.search ? Math.max(1, Math.round(cfg.rateOfMax * rec.search.rate)) : cfg.rate;
          const before = await scrapeWorkers(current.metricsUrl);
          const fixed = await runLoad({ ...load, server: current.address, pid, extraPids, rate, duration: cfg.duration, warmup: cfg.warmup });
          const after = await scrapeWorkers(current.metricsUrl);
          if (current.exited()) throw new Error(`exited during the fixed-rate run: ${current.logs().slice(-300)}`);
          rec.fixed = fixed;
          rec.workers = workerDelta(before, after);
          rec.ok = true;
          const l = fixed.latencyMs;
          log(
            `  at ${rate} q/s: answered ${fixed.qps}/s, p50 ${l.p50} p99 ${l.p99} ms, loss ${(fixed.loss * 100).toFixed(3)}%, cpu ${fixed.target?.cpuUsPerQuery ?? '–'} µs/q${rec.workers ? `, per worker ${Object.values(rec.workers.perWorker).join('/')}` : ''}`,
          );
        } catch (err) {
          const msg = err instanceof Error ? err.message : String(err);
          log(`  FAILED: ${msg}`);
          rec.error = msg;
          failed.set(t.name, msg);
        } finally {
          await current?.stop();
          current = null;
        }
        runs.push(rec);
        await new Promise((r) => setTimeout(r, 300));
      }
    }
  } finally {
    unpin();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await upstream?.stop();
    await api?.stop();
    if (!opts.keep) fs.rmSync(dir, { recursive: true, force: true });
  }

  const summary = targets.map((t) => summarizeTarget(t, commands.get(t.name) ?? '', runs, failed.get(t.name), mixInfo.expectedRcodes));
  const ratios = ratioRows(targets, runs);
  if (!opts.coredns) notes.push('CoreDNS was not measured: no binary was given (--coredns PATH).');
  if (runs.some((r) => r.fixed?.generatorLag)) notes.push(`The generator could not send ${fixedRateText(cfg)} in some runs (generatorLag): add --loadgen-threads or lower --rate.`);
  if (summary.some((s) => s.maxRate?.limitedBy.includes('generator'))) notes.push('Some max-rate searches were limited by the generator, not the server (limitedBy = generator).');
  if (summary.some((s) => s.maxRate?.limitedBy.includes('max-rate'))) notes.push('Some targets passed at --max-rate: their capacity is higher than reported.');
  const wrong = summary.filter((s) => s.clusterDns && s.fixed?.rcodeMatch === false).map((s) => s.name);
  if (wrong.length) notes.push(`RCODE shares differ from the mix's expectation for: ${wrong.join(', ')} (see the table).`);
  if (machineInfo().cpus <= 2 && !cfg.cpus.server) notes.push('On 2 CPUs the load generator shares the cores with the server: compare ratios from the same run, not absolute numbers.');

  const outFile = path.resolve(opts.out ?? path.join(BENCH_DIR, 'out', `capacity-${fileTimestamp(startedAt)}.json`));
  const htmlFile = opts.html === false ? null : outFile.replace(/\.json$/, '') + '.html';
  const report: CapacityReport = {
    kind: 'kdns-capacity',
    version: 1,
    startedAt: startedAt.toISOString(),
    wallS: Math.round((Date.now() - t0) / 100) / 10,
    machine: machineInfo(),
    source: sourceState(),
    config: cfg,
    cluster: { ...cluster.counts, options: cluster.options, zone },
    mix: mixInfo,
    targets: targets.map((t) => ({ name: t.name, kind: t.kind, description: t.description, isKdns: t.isKdns, clusterDns: t.clusterDns })),
    runs,
    summary,
    ratios,
    notes,
    markdown: '',
    outFile,
    htmlFile,
  };
  report.markdown = renderMarkdown(report);
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, JSON.stringify(report, null, 2));
  if (htmlFile) fs.writeFileSync(htmlFile, renderHtml(report));
  return report;
}

function minMaxMed(xs: number[]): { median: number; min: number; max: number } {
  return { median: Math.round(median(xs)), min: Math.min(...xs), max: Math.max(...xs) };
}

function summarizeTarget(
  t: TargetSpec,
  command: string,
  runs: RunRecord[],
  error: string | undefined,
  expected: Record<string, number> | null,
): TargetSummary {
  const mine = runs.filter((r) => r.target === t.name && r.ok);
  const searches = mine.filter((r) => r.search).map((r) => r.search!);
  const probes = mine.filter((r) => r.probe).map((r) => r.probe!.qps);
  const fixed = mine.filter((r) => r.fixed).map((r) => r.fixed!);
  let fixedSum: TargetSummary['fixed'] = null;
  if (fixed.length) {
    const h = mergeHistograms(fixed.map((f) => f.histogram));
    const latencyMs = summarize(h);
    const curve = percentileCurve(h);
    h.destroy();
    const sent = fixed.reduce((a, f) => a + f.sent, 0);
    const answered = fixed.reduce((a, f) => a + f.answered, 0);
    const timeouts = fixed.reduce((a, f) => a + f.timeouts, 0);
    const cpu = fixed.every((f) => f.target) ? fixed.reduce((a, f) => a + f.target!.cpuUs, 0) : NaN;
    const rc: Record<string, number> = {};
    for (const f of fixed) for (const [k, v] of Object.entries(f.rcodes)) rc[k] = (rc[k] ?? 0) + v;
    const rcodeShares = Object.fromEntries(Object.entries(rc).map(([k, v]) => [k, answered > 0 ? r3(v / answered) : 0]));
    let rcodeMatch: boolean | null = null;
    if (expected && t.clusterDns && answered > 0) {
      const keys = new Set([...Object.keys(expected), ...Object.keys(rcodeShares)]);
      rcodeMatch = [...keys].every((k) => Math.abs((expected[k] ?? 0) - (rcodeShares[k] ?? 0)) <= 0.02);
    }
    fixedSum = {
      offered: Math.round(median(fixed.map((f) => f.offeredQps ?? 0))),
      qpsMedian: Math.round(median(fixed.map((f) => f.qps))),
      latencyMs,
      sent,
      answered,
      loss: sent > 0 ? timeouts / sent : 0,
      cpuUsPerQuery: answered > 0 && Number.isFinite(cpu) ? r2(cpu / answered) : null,
      rcodeShares,
      rcodeMatch,
      generatorLag: fixed.some((f) => f.generatorLag),
      curve,
    };
  }
  let workers: TargetSummary['workers'] = null;
  const wc = mine.map((r) => r.workers).filter((w): w is WorkerCounts => w !== null);
  if (wc.length) {
    const perWorker: Record<string, number> = {};
    for (const w of wc) for (const [k, v] of Object.entries(w.perWorker)) perWorker[k] = (perWorker[k] ?? 0) + v;
    const total = Object.values(perWorker).reduce((a, b) => a + b, 0);
    workers = { perWorker, total, shares: Object.fromEntries(Object.entries(perWorker).map(([k, v]) => [k, total > 0 ? r3(v / total) : 0])) };
  }
  return {
    name: t.name,
    kind: t.kind,
    description: t.description,
    command,
    isKdns: t.isKdns,
    clusterDns: t.clusterDns,
    ok: mine.length > 0,
    ...(error !== undefined ? { error } : {}),
    rounds: mine.length,
    maxRate: searches.length
      ? { ...minMaxMed(searches.map((s) => s.rate)), perRound: searches.map((s) => s.rate), limitedBy: searches.map((s) => s.limitedBy) }
      : null,
    closedQps: probes.length ? minMaxMed(probes) : null,
    fixed: fixedSum,
    workers,
  };
}

function ratioRows(targets: TargetSpec[], runs: RunRecord[]): RatioRow[] {
  const rows: RatioRow[] = [];
  const get = (name: string, round: number): RunRecord | undefined => runs.find((r) => r.target === name && r.round === round && r.ok);
  for (const k of targets.filter((t) => t.isKdns)) {
    for (const p of targets.filter((t) => t.name !== k.name && !t.isKdns)) {
      const per = { maxRate: [] as number[], closedQps: [] as number[], cpuPerQuery: [] as number[], p50: [] as number[], p99: [] as number[] };
      let rounds = 0;
      for (const a of runs.filter((r) => r.target === k.name && r.ok)) {
        const b = get(p.name, a.round);
        if (!b) continue;
        rounds++;
        const push = (arr: number[], x: number | null | undefined, y: number | null | undefined): void => {
          if (x !== null && x !== undefined && y !== null && y !== undefined && y > 0 && x >= 0) arr.push(x / y);
        };
        push(per.maxRate, a.search?.rate, b.search?.rate);
        push(per.closedQps, a.probe?.qps, b.probe?.qps);
        push(per.cpuPerQuery, a.fixed?.target?.cpuUsPerQuery, b.fixed?.target?.cpuUsPerQuery);
        push(per.p50, a.fixed?.latencyMs.p50, b.fixed?.latencyMs.p50);
        push(per.p99, a.fixed?.latencyMs.p99, b.fixed?.latencyMs.p99);
      }
      const med = (xs: number[]): number | null => (xs.length ? r2(median(xs)) : null);
      if (rounds === 0) continue;
      rows.push({
        kdns: k.name,
        peer: p.name,
        rounds,
        maxRate: med(per.maxRate),
        closedQps: med(per.closedQps),
        cpuPerQuery: med(per.cpuPerQuery),
        p50: med(per.p50),
        p99: med(per.p99),
        perRound: { maxRate: per.maxRate.map(r2), cpuPerQuery: per.cpuPerQuery.map(r2), p99: per.p99.map(r2) },
      });
    }
  }
  return rows;
}

export function fmtRatio(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '–' : `${x.toFixed(2)}×`;
}

export function fmtRcodes(shares: Record<string, number>): string {
  return Object.entries(shares)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${(v * 100).toFixed(1)}%`)
    .join(', ');
}

function renderMarkdown(r: CapacityReport): string {
  const c = r.config;
  const L: string[] = [];
  L.push(`### kdns capacity run, ${r.startedAt.slice(0, 10)}`);
  L.push('');
  L.push(
    `Machine: ${r.machine.cpus} CPUs (${r.machine.model}), ${r.machine.memMiB} MiB, Linux ${r.machine.kernel}, Node ${r.machine.node}. kdns ${r.source.commit}${r.source.dirtySrcFiles ? ` + ${r.source.dirtySrcFiles} uncommitted files` : ''}.`,
  );
  L.push(
    `Cluster: ${r.cluster.services} services (${r.cluster.headless} headless), ${r.cluster.endpoints} endpoints, ${r.cluster.namespaces} namespaces (seed ${r.cluster.options.seed}); kdns reads it from ${c.source === 'api' ? 'the fake API server' : 'manifests'}. Mix: ${r.mix.spec ?? `query file ${r.mix.queriesFile}`} (${r.mix.queries} queries${r.mix.expectedRcodes ? `; expected ${fmtRcodes(r.mix.expectedRcodes)}` : ''}).`,
  );
  L.push(
    `${c.rounds} interleaved round(s). ${c.search.enabled ? `Max rate: open-loop trials of ${c.search.trialDuration} s, loss ≤ ${(c.ceilings.maxLoss * 100).toFixed(2)}%, p99 ≤ ${c.ceilings.maxP99Ms} ms, ${c.search.minRate}–${c.search.maxRate} q/s, ≤ ${c.search.maxTrials} trials` : 'No max-rate search'}. Fixed rate: ${fixedRateText(c)} for ${c.duration} s, ${c.pacing} pacing. Generator: ${c.loadgenThreads} thread(s) × ${c.sockets} sockets${c.cpus.server || c.cpus.generator ? ` (cores: servers ${c.cpus.server ?? 'any'}, generator ${c.cpus.generator ?? 'any'})` : ''}${c.search.enabled && c.search.probeDuration > 0 ? `; closed-loop probe ${c.concurrency} outstanding` : ''}.`,
  );
  L.push('');
  // At a fraction of each target's max rate the targets ran at different rates: show them.
  const atRate = c.rateOfMax !== null;
  L.push(`| target | max rate q/s (median, min–max) | closed loop q/s | ${atRate ? `at ${fixedRateText(c)}: q/s | p50 ms` : `at ${fixedRateText(c)}: p50 ms`} | p90 | p99 | p99.9 | loss | CPU µs/query | RCODEs |`);
  L.push(`|---|---:|---:|${atRate ? '---:|' : ''}---:|---:|---:|---:|---:|---:|---|`);
  for (const s of r.summary) {
    if (!s.ok) {
      L.push(`| ${s.name} | failed: ${(s.error ?? '').replaceAll('|', '\\|').replaceAll('\n', ' ').slice(0, 160)} | | | | | | | | |${atRate ? ' |' : ''}`);
      continue;
    }
    const m = s.maxRate;
    const f = s.fixed;
    const lim = m ? [...new Set(m.limitedBy.filter((x) => x !== 'converged' && x !== 'trials'))] : [];
    const rc = f ? `${fmtRcodes(f.rcodeShares)}${f.rcodeMatch === true ? ' ✓' : f.rcodeMatch === false ? ' ✗' : ''}` : '';
    L.push(
      `| ${s.name} | ${m ? `${m.median} (${m.min}–${m.max})${lim.length ? ` [${lim.join(', ')}]` : ''}` : '–'} | ${s.closedQps ? s.closedQps.median : '–'} | ${atRate ? `${f ? f.offered : '–'} | ` : ''}${f ? f.latencyMs.p50 : '–'} | ${f ? f.latencyMs.p90 : '–'} | ${f ? f.latencyMs.p99 : '–'} | ${f ? f.latencyMs.p999 : '–'} | ${f ? `${(f.loss * 100).toFixed(3)}%` : '–'} | ${f?.cpuUsPerQuery ?? '–'} | ${rc} |`,
    );
  }
  if (r.ratios.length) {
    L.push('');
    L.push('kdns ÷ peer, median of per-round ratios (rates: higher is better; CPU and latency: lower is better):');
    L.push('');
    L.push('| kdns | peer | max rate × | closed loop × | CPU/query × | p50 × | p99 × | rounds |');
    L.push('|---|---|---:|---:|---:|---:|---:|---:|');
    for (const x of r.ratios) {
      L.push(`| ${x.kdns} | ${x.peer} | ${fmtRatio(x.maxRate)} | ${fmtRatio(x.closedQps)} | ${fmtRatio(x.cpuPerQuery)} | ${fmtRatio(x.p50)} | ${fmtRatio(x.p99)} | ${x.rounds} |`);
    }
  }
  const w = r.summary.filter((s) => s.workers && Object.keys(s.workers.perWorker).length > 1);
  if (w.length) {
    L.push('');
    for (const s of w) {
      L.push(`Per-worker share, ${s.name}: ${Object.entries(s.workers!.shares).map(([k, v]) => `worker ${k} ${(v * 100).toFixed(1)}%`).join(', ')}`);
    }
  }
  if (r.notes.length) {
    L.push('');
    for (const n of r.notes) L.push(`- ${n}`);
  }
  L.push('');
  L.push('Targets:');
  L.push('');
  for (const s of r.summary) L.push(`- ${s.name}: ${s.description}${s.command ? ` — \`${s.command}\`` : ''}`);
  return L.join('\n');
}

const USAGE = `usage: node bench/capacity.ts [options]
targets:
  --targets LIST        minimal,kdns1,kdnsN,kdns<K>,kube-dns,dnsmasq,coredns,<peer names>
                        (default minimal,kdns1,kdnsN,kube-dns + coredns and peers when given)
  --workers N           N of kdnsN (default: CPUs, or the cores of --server-cpus)
  --coredns PATH        a CoreDNS binary: adds target coredns (cluster from the fake API server)
  --peer NAME=HOST:PORT[,pid=PID]      a server already running on loopback (repeatable)
  --peer-cmd 'NAME=CMD'  started per run (sh -c); substitutes {port} {upstream} (HOST:PORT)
                        {upstream_host} {upstream_port} {manifests} {hosts} {dnsmasq_conf} {api} {dir}
  --kdns-variant 'NAME=FLAGS'   kdns (1 worker) with more flags, a target of its own (repeatable),
                        e.g. 'kdns1-young0=-worker.young-mb 0' to A/B a setting
  --source manifests|api   where kdns reads the cluster (default manifests)
cluster and queries:
  --services N --endpoints N [--namespaces N] [--seed 1]   (default 1000 / 10000)
  --mix SPEC            named mix or cat=share,... (default ${formatMix(DEFAULT_MIX)})
  --mix-file FILE       "category share" lines (+ optional "mix NAME", "rate QPS", "count N")
  --queries FILE        a dnsperf query file instead of a mix
  --count N             queries in the generated list (default 10000)
load:
  --rounds N            interleaved rounds (default 3)
  --rate QPS            fixed open-loop rate for latency and CPU/query (default 10000)
  --duration SEC        fixed-rate run length (default 5); --warmup SEC (default 1: closed loop,
                        not counted, after each start, and again before the fixed-rate run)
  --max-loss X          ceiling for the max-rate search (default 0.001)
  --max-p99 MS          ceiling for the max-rate search (default 5)
  --min-rate Q --max-rate Q --trial-duration SEC (2) --max-trials N (8) --tolerance X (0.05)
  --probe-duration SEC  closed-loop probe seeding the search (default 1; 0 = none)
  --no-search           fixed rate only
  --rate-of-max F       the fixed-rate run at F × each target's max rate of the same round
                        instead of --rate (0.5: the p99 at half the maximum rate)
  --pacing P            open-loop schedule: tick (what is due every 1 ms, bursts), even
                        (1/rate apart) or poisson; default tick, even with --generator-cpus
  --concurrency N --loadgen-threads N --sockets N --timeout MS
  --server-cpus LIST --generator-cpus LIST   pin the servers and the generator to their own cores
                        (taskset core lists, e.g. 0 and 1, or 0-7 and 8-15; default: not pinned)
output:
  --out FILE.json       default bench/out/capacity-<time>.json; the HTML goes beside it
  --no-html  --keep (keep the scratch dir)  --json (print the JSON report)
mix categories:
${MIX_CATEGORIES.map((c: MixCategory) => `  ${c.padEnd(14)} ${CATEGORY_HELP[c]}`).join('\n')}`;

export async function capacityCli(argv: string[] = process.argv.slice(2)): Promise<void> {
  const values = parseCli(
    USAGE,
    {
      targets: { type: 'string' },
      workers: { type: 'string' },
      coredns: { type: 'string' },
      peer: { type: 'string', multiple: true },
      'peer-cmd': { type: 'string', multiple: true },
      'kdns-variant': { type: 'string', multiple: true },
      source: { type: 'string' },
      services: { type: 'string' },
      endpoints: { type: 'string' },
      namespaces: { type: 'string' },
      seed: { type: 'string' },
      mix: { type: 'string' },
      'mix-file': { type: 'string' },
      queries: { type: 'string' },
      count: { type: 'string' },
      rounds: { type: 'string' },
      rate: { type: 'string' },
      'rate-of-max': { type: 'string' },
      pacing: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      ...MAX_RATE_FLAGS,
      'probe-duration': { type: 'string' },
      'no-search': { type: 'boolean' },
      concurrency: { type: 'string' },
      'loadgen-threads': { type: 'string' },
      'server-cpus': { type: 'string' },
      'generator-cpus': { type: 'string' },
      sockets: { type: 'string' },
      timeout: { type: 'string' },
      out: { type: 'string' },
      'no-html': { type: 'boolean' },
      keep: { type: 'boolean' },
      json: { type: 'boolean' },
    },
    { args: argv },
  );
  if (!values) return;
  if (values.source && values.source !== 'manifests' && values.source !== 'api') throw new Error('--source is manifests or api');
  const report = await capacity({
    targets: values.targets?.split(',').map((s) => s.trim()).filter(Boolean),
    workers: numberArg(values.workers),
    coredns: values.coredns,
    peers: values.peer,
    peerCmds: values['peer-cmd'],
    kdnsVariants: values['kdns-variant'],
    source: values.source as 'manifests' | 'api' | undefined,
    services: numberArg(values.services),
    endpoints: numberArg(values.endpoints),
    namespaces: numberArg(values.namespaces),
    seed: numberArg(values.seed),
    mix: values.mix,
    mixFile: values['mix-file'],
    queriesFile: values.queries,
    count: numberArg(values.count),
    rounds: numberArg(values.rounds),
    rate: numberArg(values.rate),
    rateOfMax: numberArg(values['rate-of-max']),
    pacing: values.pacing as Pacing | undefined,
    duration: numberArg(values.duration),
    warmup: numberArg(values.warmup),
    ...parseMaxRateFlags(values, numberArg),
    probeDuration: numberArg(values['probe-duration']),
    noSearch: values['no-search'],
    concurrency: numberArg(values.concurrency),
    loadgenThreads: numberArg(values['loadgen-threads']),
    serverCpus: values['server-cpus'],
    generatorCpus: values['generator-cpus'],
    sockets: numberArg(values.sockets),
    timeoutMs: numberArg(values.timeout),
    out: values.out,
    html: !values['no-html'],
    keep: values.keep,
  });
  if (values.json) console.log(JSON.stringify(report, null, 2));
  else {
    console.log(report.markdown);
    console.log(`\nJSON: ${path.relative(process.cwd(), report.outFile)}${report.htmlFile ? `\nHTML: ${path.relative(process.cwd(), report.htmlFile)}` : ''}`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  capacityCli().catch((err: unknown) => {
    console.error(`capacity: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
