// kdns with the `kubernetes` plugin at cluster scale, against the fake API server
// (test/fake-apiserver), on loopback:
//
//   node bench/k8s-scale.ts [--sizes 10x100,10000x100000] [--events 200] [--slice-events 20]
//       [--duration 5] [--rounds 3] [--concurrency 32 | --rate QPS] [--warmup 1] [--queries 10000]
//       [--settle-ms 2000] [--seed 1] [--no-gc] [--no-probe] [--skip-load] [--cpu-prof DIR] [--coredns PATH] [--out FILE] [--json]
//
// A size is SERVICESxENDPOINTS[xNAMESPACES]. For each size:
//   1. a fake API server is started and loaded with the synthetic cluster (bench/synthetic-cluster.ts);
//   2. kdns -workers 2, then -workers 1, is started against it: time from spawn to the end of the
//      lists, to the `[INFO] plugin/kubernetes: serving` line and to the banner; the table size from
//      that line; VmRSS after a settle pause, and again after a forced GC (the -workers 1 instance
//      stays up);
//   3. event -> answer latency: a Service's ClusterIP is changed (--events times), and an endpoint
//      is added to a headless Service's EndpointSlice and removed again (--slice-events times);
//      after each write, kdns is polled over UDP every ~1 ms until its answer shows the change.
//   4. with --coredns PATH, CoreDNS is started against the same API server with the same
//      kubernetes block: time to /ready, VmRSS and peak, and the same ClusterIP changes, so every
//      kdns figure has CoreDNS's beside it from the same run.
// Then load (bench/loadgen.ts; closed loop, or open loop with --rate) runs against every size's
// kdns, interleaved round by round with the order alternating, with the same duration,
// concurrency and query mix. Writes bench/out/k8s-scale-<time>.json and prints markdown tables.

import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import dnsPacket from 'dns-packet';
import { startFakeApiServer, type RunningFakeApiServer } from '../test/fake-apiserver/index.ts';
import { parseCli } from './cli-args.ts';
import { assertLoopback, freePort } from './dnsutil.ts';
import { INSPECTOR_RE, gcOverInspector } from './inspector.ts';
import type { QuerySpec } from './dnsutil.ts';
import { runLoad, type LoadResult } from './loadgen.ts';
import { fileTimestamp, machineInfo, sourceState, type MachineInfo, type SourceState } from './run-info.ts';
import { median, percentile } from './stats.ts';
import { probeWhileBuilding, type StartupProbe } from './startup-probe.ts';
import { clusterQueries, spareClusterIP, sparePodIP, syntheticCluster, type K8sJson, type ServiceFacts, type SyntheticCluster } from './synthetic-cluster.ts';
import { PRIMARY_ENV, PRIMARY_NODE_FLAGS } from '../bin/node-flags.js';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH_DIR, '..');
const BIN = path.join(ROOT, 'bin', 'kdns.js');
const ZONE = 'cluster.local';

export interface SizeSpec {
  services: number;
  endpoints: number;
  namespaces?: number;
}

export interface K8sScaleOptions {
  sizes?: SizeSpec[];
  /** ClusterIP changes per size (default 200, at most 4096). */
  events?: number;
  /** EndpointSlice changes on headless Services per size (default 20). */
  sliceEvents?: number;
  /** Seconds of measured load per (round, size), default 5. */
  duration?: number;
  rounds?: number;
  concurrency?: number;
  /**
   * Open loop at this many queries/s instead of closed loop: for CPU µs/query at equal load,
   * which is steadier than closed-loop QPS on a shared 2-core VM (see bench/README.md).
   */
  rate?: number;
  warmup?: number;
  /** Lines of the query list per size, default 10000. */
  queries?: number;
  /** Pause after start-up before VmRSS is read, default 2000 ms. */
  settleMs?: number;
  seed?: number;
  /** Give up on one event after this long, default 5000 ms. */
  eventTimeoutMs?: number;
  /** Give up on a kdns start-up after this long, default 180000 ms. */
  startTimeoutMs?: number;
  /** Run kdns with --cpu-prof, profiles into this directory. */
  cpuProfDir?: string;
  /**
   * Also measure memory after forcing a full GC of kdns's primary thread, through the inspector
   * (kdns then runs with --inspect=127.0.0.1:0). Default true: without it, uncollected garbage
   * from the initial sync swamps differences such as the cost of one worker.
   */
  gc?: boolean;
  /** Skip the load phase (sync, memory and events only). */
  skipLoad?: boolean;
  /** Query kdns while its table is built (bench/startup-probe.ts); default true. */
  probe?: boolean;
  /** A CoreDNS binary: measured against the same API server, beside kdns -workers 2. */
  coredns?: string;
  /** JSON report path; default bench/out/k8s-scale-<time>.json. */
  out?: string;
  log?: (line: string) => void;
}

export interface StartupResult {
  workers: number;
  /** Spawn -> `synced with the API server` (every list done; the table is built after this). */
  listedMs: number;
  /** Spawn -> `[INFO] plugin/kubernetes: serving` line. */
  servingMs: number;
  /** Spawn -> the first 200 from /ready (the `ready` plugin: every plugin synced and serving). */
  readyMs: number;
  /** Spawn -> the `kdns-` banner (listening). */
  bannerMs: number;
  /** kdns printed the startup_timeout warning (it listened before the sync finished). */
  startedUnsynced: boolean;
  /**
   * Queries from /ready until the serving line (the table served while partial): one a ms for a
   * random Service, answers checked (bench/startup-probe.ts). null when /ready came after it.
   */
  duringBuild: StartupProbe | null;
  table: { names: number; bytes: number };
  counted: { services: number; slices: number; namespaces: number; pods: number };
  /** VmRSS / VmHWM after the settle pause, KiB. */
  rssKiB: number;
  hwmKiB: number;
  /** RssAnon: VmRSS less mapped files (binary, libraries). */
  anonKiB: number;
  /**
   * After a full GC of the primary thread (forced over the inspector): VmRSS, and the primary's
   * V8 heap in use and ArrayBuffer/SharedArrayBuffer bytes (the record table lives there).
   * null with `gc: false` or when the inspector could not be reached.
   */
  afterGc: { rssKiB: number; heapUsedKiB: number; arrayBuffersKiB: number } | null;
}

export interface LatencyStats {
  count: number;
  failed: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
  /** Part of the latency spent in the write request to the API (median). */
  applyP50: number;
}

export interface SizeReport {
  label: string;
  spec: SizeSpec;
  cluster: SyntheticCluster['counts'];
  /** Time to load the cluster into the fake API server (not a kdns figure). */
  apiLoadMs: number;
  startup: StartupResult[];
  /** -workers 1 and 2, settled (and after a forced GC); per worker = w2 - w1; over smallest = w1 - smallest size's w1. */
  rss: {
    workers1KiB: number;
    workers2KiB: number;
    perWorkerKiB: number;
    overSmallestKiB: number | null;
    afterGc: { workers1KiB: number; workers2KiB: number; perWorkerKiB: number; overSmallestKiB: number | null } | null;
  };
  /** slice: an endpoint added to a headless Service (its name appears); sliceRemove: that slice put back (the name goes, NXDOMAIN). */
  events: { clusterIP: LatencyStats; slice: LatencyStats; sliceRemove: LatencyStats };
  load: LoadSummary | null;
  /** CoreDNS against the same API server (--coredns). */
  coredns: { readyMs: number; rssKiB: number; hwmKiB: number; anonKiB: number; events: SizeReport['events'] } | null;
}

export interface LoadSummary {
  rounds: number;
  qps: number[];
  qpsMedian: number;
  latencyMs: { p50: number; p99: number };
  cpuUsPerQuery: number | null;
  rcodes: Record<string, number>;
  truncated: number;
  timeouts: number;
  sent: number;
  answered: number;
  /** Open loop: some round sent < 97% of the rate (the generator, not kdns, was the limit). */
  generatorLag: boolean;
}

export interface K8sScaleReport {
  startedAt: string;
  machine: MachineInfo;
  /** The kdns measured: HEAD, and whether src/ had uncommitted changes. */
  source: SourceState;
  config: Omit<Required<K8sScaleOptions>, 'log' | 'cpuProfDir' | 'out' | 'rate' | 'coredns'> & { cpuProfDir: string | null; rate: number | null; coredns: string | null };
  sizes: SizeReport[];
  /** Largest over smallest size: median over rounds of the per-round QPS ratio. */
  ratio: { label: string; qps: number; qpsPerRound: number[]; cpuPerQuery: number | null; cpuPerQueryPerRound: number[] } | null;
  markdown: string;
  outFile: string;
  wallS: number;
}

// ---- kdns process ----

interface Kdns {
  proc: ChildProcess;
  pid: number;
  port: number;
  dir: string;
  startup: Omit<StartupResult, 'rssKiB' | 'hwmKiB' | 'anonKiB' | 'afterGc'>;
  /** ws:// URL of the inspector when started with one. */
  inspector: string | null;
  stop(): Promise<void>;
}

const SERVING_RE = /^\[INFO\] plugin\/kubernetes: serving (\d+) services, (\d+) endpointslices, (\d+) namespaces, (\d+) pods; table (\d+) names, (\d+) bytes$/m;
const BANNER_RE = /^kdns-/m;
const LISTED_RE = /^\[INFO\] plugin\/kubernetes: synced with the API server/m;

function corefile(port: number, apiUrl: string, readyPort: number): string {
  return `.:${port} {
    bind 127.0.0.1
    ready 127.0.0.1:${readyPort}
    kubernetes ${ZONE} in-addr.arpa ip6.arpa {
        endpoint ${apiUrl}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
}
`;
}

async function startKdns(apiUrl: string, workers: number, opts: { timeoutMs: number; cpuProfDir: string | null; inspect: boolean; probe: ServiceFacts[] | null }): Promise<Kdns> {
  const port = await freePort('127.0.0.1');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdns-k8s-scale-'));
  const conf = path.join(dir, 'Corefile');
  const readyPort = await freePort('127.0.0.1');
  fs.writeFileSync(conf, corefile(port, apiUrl, readyPort));
  const nodeArgs = opts.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfDir] : [];
  // Port 0: the inspector picks a free loopback port and prints it on stderr.
  if (opts.inspect) nodeArgs.push('--inspect=127.0.0.1:0');
  const t0 = performance.now();
  const proc = spawn(process.execPath, [...PRIMARY_NODE_FLAGS, ...nodeArgs, BIN, '-conf', conf, '-workers', String(workers)], {
    cwd: ROOT,
    env: { ...process.env, ...PRIMARY_ENV },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const ready = pollReady(readyPort, opts.timeoutMs);
  // Ready before the serving line: the table is being built while served; probe it meanwhile.
  const duringBuild = ready.then((at) => (Number.isNaN(at) || servingAt !== 0 || opts.probe === null ? null : probeWhileBuilding(port, opts.probe, () => servingAt === 0)));
  let out = '';
  let err = '';
  let listedAt = 0;
  let servingAt = 0;
  let bannerAt = 0;
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    proc.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const stop = async (): Promise<void> => {
    if (!exited) {
      proc.kill('SIGTERM');
      // A --cpu-prof run needs time to write its profile on a clean exit.
      const force = setTimeout(() => proc.kill('SIGKILL'), opts.cpuProfDir ? 15_000 : 3000);
      await exit;
      clearTimeout(force);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`kdns -workers ${workers} not synced and listening after ${opts.timeoutMs} ms\nstdout: ${out.slice(-2000)}\nstderr: ${err.slice(-2000)}`)), opts.timeoutMs);
      const check = (): void => {
        const now = performance.now();
        if (!listedAt && LISTED_RE.test(out)) listedAt = now;
        if (!servingAt && SERVING_RE.test(out)) servingAt = now;
        if (!bannerAt && BANNER_RE.test(out)) bannerAt = now;
        if (servingAt && bannerAt) {
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stdout!.on('data', (d: Buffer) => {
        // Only the start-up lines matter; stop growing the string after that.
        if (out.length < 1_000_000) out += d.toString();
        check();
      });
      proc.stderr!.on('data', (d: Buffer) => {
        if (err.length < 100_000) err += d.toString();
      });
      void exit.then(() => {
        clearTimeout(timer);
        reject(new Error(`kdns -workers ${workers} exited during start-up\nstdout: ${out.slice(-2000)}\nstderr: ${err.slice(-2000)}`));
      });
    });
  } catch (e) {
    await stop();
    throw e;
  }
  const readyAt = await ready;
  const probe = await duringBuild;
  const m = SERVING_RE.exec(out)!;
  const n = (i: number): number => Number(m[i]);
  return {
    proc,
    pid: proc.pid!,
    port,
    dir,
    inspector: INSPECTOR_RE.exec(err)?.[1] ?? null,
    startup: {
      workers,
      listedMs: listedAt ? Math.round(listedAt - t0) : NaN,
      servingMs: Math.round(servingAt - t0),
      readyMs: Math.round(readyAt - t0),
      bannerMs: Math.round(bannerAt - t0),
      startedUnsynced: /starting without a sync/.test(out),
      duringBuild: probe,
      table: { names: n(5), bytes: n(6) },
      counted: { services: n(1), slices: n(2), namespaces: n(3), pods: n(4) },
    },
    stop,
  };
}

/** VmRSS, VmHWM and RssAnon of a process, KiB (worker threads share the process, so they are included). */
export function processMemoryKiB(pid: number): { rss: number; hwm: number; anon: number } {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const get = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
  return { rss: get('VmRSS'), hwm: get('VmHWM'), anon: get('RssAnon') };
}

/** performance.now() of the first 200 from http://127.0.0.1:PORT/ready (polled every 5 ms); NaN after the timeout. */
export async function pollReady(port: number, timeoutMs: number): Promise<number> {
  const end = performance.now() + timeoutMs;
  while (performance.now() < end) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/ready`, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      if (res.status === 200) return performance.now();
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  return NaN;
}

interface Coredns {
  proc: ChildProcess;
  pid: number;
  port: number;
  readyMs: number;
  stop(): Promise<void>;
}

/** CoreDNS with kdns's kubernetes block (and `ready`), against the same API server. */
async function startCoredns(bin: string, apiUrl: string, timeoutMs: number): Promise<Coredns> {
  const port = await freePort('127.0.0.1');
  const readyPort = await freePort('127.0.0.1');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdns-k8s-scale-coredns-'));
  const conf = path.join(dir, 'Corefile');
  fs.writeFileSync(conf, corefile(port, apiUrl, readyPort));
  const t0 = performance.now();
  const proc = spawn(path.resolve(bin), ['-conf', conf], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  let exited = false;
  const exit = new Promise<void>((resolve) => proc.once('exit', () => {
    exited = true;
    resolve();
  }));
  const stop = async (): Promise<void> => {
    if (!exited) {
      proc.kill('SIGKILL');
      await exit;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const readyAt = await pollReady(readyPort, timeoutMs);
  if (Number.isNaN(readyAt) || exited) {
    await stop();
    throw new Error(`CoreDNS (${bin}) not ready after ${timeoutMs} ms: ${err.trim().split('\n').at(-1) ?? ''}`);
  }
  return { proc, pid: proc.pid!, port, readyMs: Math.round(readyAt - t0), stop };
}

// ---- event -> answer ----

/**
 * Sends `name type` to kdns every ~1 ms until a reply satisfies `done` (or `timeoutMs` passes).
 * Resolves with the time of that reply (performance.now()), or NaN on timeout.
 */
class Poller {
  private readonly sock: dgram.Socket;
  private readonly port: number;
  private id = 0;
  private waiter: { done: (reply: dnsPacket.Packet) => boolean; resolve: (t: number) => void } | null = null;

  constructor(port: number) {
    assertLoopback('127.0.0.1');
    this.port = port;
    this.sock = dgram.createSocket('udp4');
    this.sock.on('error', () => {});
    this.sock.on('message', (msg) => {
      const w = this.waiter;
      if (!w) return;
      const now = performance.now();
      let reply: dnsPacket.Packet;
      try {
        reply = dnsPacket.decode(msg);
      } catch {
        return;
      }
      if (w.done(reply)) {
        this.waiter = null;
        w.resolve(now);
      }
    });
  }

  async open(): Promise<void> {
    await new Promise<void>((resolve) => this.sock.bind(0, '127.0.0.1', () => resolve()));
  }

  until(name: string, type: 'A' | 'AAAA', done: (reply: dnsPacket.Packet) => boolean, timeoutMs: number): Promise<number> {
    return new Promise((resolve) => {
      const finish = (t: number): void => {
        clearInterval(tick);
        clearTimeout(limit);
        this.waiter = null;
        resolve(t);
      };
      this.waiter = { done, resolve: finish };
      const send = (): void => {
        this.id = (this.id + 1) & 0xffff;
        const q = dnsPacket.encode({ type: 'query', id: this.id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type, class: 'IN' }] });
        this.sock.send(q, this.port, '127.0.0.1');
      };
      send();
      const tick = setInterval(send, 1);
      const limit = setTimeout(() => finish(NaN), timeoutMs);
    });
  }

  close(): void {
    this.sock.close();
  }
}

const hasAddress = (ip: string) => (reply: dnsPacket.Packet): boolean => (reply.answers ?? []).some((a) => (a.type === 'A' || a.type === 'AAAA') && a.data === ip);
const isNxdomain = (reply: dnsPacket.Packet): boolean => (reply as { rcode?: string }).rcode === 'NXDOMAIN';

function latencyStats(samples: number[], applies: number[], failed: number): LatencyStats {
  const s = [...samples].sort((a, b) => a - b);
  const a = [...applies].sort((x, y) => x - y);
  const r3 = (x: number): number => Math.round(x * 1000) / 1000;
  return {
    count: s.length,
    failed,
    p50: r3(percentile(s, 50)),
    p90: r3(percentile(s, 90)),
    p99: r3(percentile(s, 99)),
    max: r3(s.length ? s[s.length - 1]! : NaN),
    mean: r3(s.length ? s.reduce((x, y) => x + y, 0) / s.length : NaN),
    applyP50: r3(percentile(a, 50)),
  };
}

const clone = <T>(x: T): T => structuredClone(x);
/** ClusterIP changes per server and size: half the 4096 spare addresses each (kdns, CoreDNS). */
const MAX_EVENTS = 2048;

/**
 * `ipOffset`: where in the spare ranges the new addresses start, so a second server measured on
 * the same API server (CoreDNS after kdns) is given addresses the first one's changes did not use.
 */
async function measureEvents(
  api: RunningFakeApiServer,
  server: { port: number },
  cluster: SyntheticCluster,
  opts: { events: number; sliceEvents: number; timeoutMs: number; seed: number; ipOffset?: number },
): Promise<SizeReport['events']> {
  const off = opts.ipOffset ?? 0;
  const poller = new Poller(server.port);
  await poller.open();
  const svcObjects = new Map<string, K8sJson>();
  const sliceObjects = new Map<string, K8sJson[]>();
  for (const o of cluster.objects) {
    const k = `${o.metadata.namespace}/${o.kind === 'EndpointSlice' ? o.metadata.labels!['kubernetes.io/service-name'] : o.metadata.name}`;
    if (o.kind === 'Service') svcObjects.set(k, o);
    else if (o.kind === 'EndpointSlice') {
      const list = sliceObjects.get(k) ?? [];
      list.push(o);
      sliceObjects.set(k, list);
    }
  }
  const key = (f: ServiceFacts): string => `${f.namespace}/${f.name}`;
  const fq = (f: ServiceFacts): string => `${f.name}.${f.namespace}.svc.${ZONE}`;
  // Single-stack ClusterIP Services (not the two well-known ones): their A answer is one address.
  const movable = cluster.services.filter((f) => !f.headless && f.clusterIPs.length === 1 && f.name !== 'kubernetes' && f.name !== 'kube-dns');
  const headless = cluster.services.filter((f) => f.headless);
  try {
    const samples: number[] = [];
    const applies: number[] = [];
    let failed = 0;
    const n = Math.min(opts.events, MAX_EVENTS);
    for (let i = 0; i < n && movable.length > 0; i++) {
      // A stride through the list: a different Service each time, spread over namespaces.
      const f = movable[(i * 7919 + opts.seed) % movable.length]!;
      const obj = clone(svcObjects.get(key(f))!);
      const ip = spareClusterIP(off + i);
      const spec = obj.spec as Record<string, unknown>;
      spec.clusterIP = ip;
      spec.clusterIPs = [ip];
      const t0 = performance.now();
      const answered = poller.until(fq(f), 'A', hasAddress(ip), opts.timeoutMs);
      await api.client.apply(obj as never);
      applies.push(performance.now() - t0);
      const t = await answered;
      if (Number.isNaN(t)) failed++;
      else samples.push(t - t0);
      // Keep the table's copy current, so a later pick of the same Service starts from it.
      svcObjects.set(key(f), obj);
    }
    const clusterIP = latencyStats(samples, applies, failed);

    // Each slice change is undone right after (and that is timed too), so the load phase later
    // queries the cluster as generated: a headless answer that grew past 512 bytes would be
    // truncated and change the query mix.
    const add = { samples: [] as number[], applies: [] as number[], failed: 0 };
    const del = { samples: [] as number[], applies: [] as number[], failed: 0 };
    const timed = async (into: typeof add, obj: K8sJson, name: string, done: (reply: dnsPacket.Packet) => boolean): Promise<void> => {
      const t0 = performance.now();
      const answered = poller.until(name, 'A', done, opts.timeoutMs);
      await api.client.apply(obj as never);
      into.applies.push(performance.now() - t0);
      const t = await answered;
      if (Number.isNaN(t)) into.failed++;
      else into.samples.push(t - t0);
    };
    for (let j = 0; j < opts.sliceEvents && headless.length > 0; j++) {
      const f = headless[(j * 31 + opts.seed) % headless.length]!;
      // A slice with room (the controller would start a new one at 100).
      const slice = (sliceObjects.get(key(f)) ?? []).find((x) => x.addressType === 'IPv4' && ((x.endpoints as unknown[] | null)?.length ?? 0) < 100);
      if (!slice) continue;
      const ip = sparePodIP(off + j);
      const next = clone(slice);
      const eps = ((next.endpoints as unknown[] | null) ?? []) as Record<string, unknown>[];
      eps.push({ addresses: [ip], conditions: { ready: true, serving: true, terminating: false }, targetRef: { kind: 'Pod', namespace: f.namespace, name: `${f.name}-bench-${j}` }, nodeName: 'node-0' });
      next.endpoints = eps;
      // The name of an endpoint without a hostname: its dashed address.
      const name = `${ip.replaceAll('.', '-')}.${fq(f)}`;
      await timed(add, next, name, hasAddress(ip));
      await timed(del, slice, name, isNxdomain);
    }
    return {
      clusterIP,
      slice: latencyStats(add.samples, add.applies, add.failed),
      sliceRemove: latencyStats(del.samples, del.applies, del.failed),
    };
  } finally {
    poller.close();
  }
}

// ---- report ----

const mib = (kib: number): string => (kib / 1024).toFixed(1);
const ms = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '–');
const int = (x: number): string => x.toLocaleString('en-US');

function sizeLabel(s: SizeSpec): string {
  return `${int(s.services)} svc / ${int(s.endpoints)} ep`;
}

function renderMarkdown(r: Omit<K8sScaleReport, 'markdown' | 'outFile' | 'wallS'>): string {
  const L: string[] = [];
  const c = r.config;
  L.push(`Machine: ${r.machine.cpus} CPUs (${r.machine.model}), ${r.machine.memMiB} MiB, Linux ${r.machine.kernel}, Node ${r.machine.node}`);
  L.push('');
  L.push(`kdns: ${r.source.commit}${r.source.dirtySrcFiles ? ` + ${r.source.dirtySrcFiles} uncommitted files in src/` : ''}`);
  L.push('');
  L.push('### Start-up (ms from spawn; w1 = -workers 1, w2 = -workers 2)');
  L.push('');
  L.push('| cluster | slices | namespaces | table names | table MiB | lists done w1 | serving w1 | listening w1 | /ready w1 | serving w2 | listening w2 | /ready w2 | fake API load |');
  L.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const s of r.sizes) {
    const w1 = s.startup.find((x) => x.workers === 1)!;
    const w2 = s.startup.find((x) => x.workers === 2)!;
    const unsynced = (x: StartupResult): string => (x.startedUnsynced ? ' (before sync)' : '');
    L.push(`| ${s.label} | ${int(s.cluster.slices)} | ${s.cluster.namespaces} | ${int(w1.table.names)} | ${mib(w1.table.bytes / 1024)} | ${w1.listedMs} | ${w1.servingMs} | ${w1.bannerMs}${unsynced(w1)} | ${w1.readyMs} | ${w2.servingMs} | ${w2.bannerMs}${unsynced(w2)} | ${w2.readyMs} | ${s.apiLoadMs} |`);
  }
  L.push('');
  if (r.sizes.some((s) => s.startup.some((x) => x.duringBuild !== null))) {
    L.push('### Queries while the table is built (from /ready to the serving line; one a ms, a random Service, one in ten a missing name)');
    L.push('');
    L.push('| cluster | workers | /ready → complete ms | sent | wrong | SERVFAIL | lost | p50 ms | p99 ms | max ms |');
    L.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const s of r.sizes) {
      for (const x of s.startup) {
        const d = x.duringBuild;
        if (d) L.push(`| ${s.label} | ${x.workers} | ${x.servingMs - x.readyMs} | ${int(d.sent)} | ${d.wrong} | ${d.servfail} | ${d.lost} | ${d.p50} | ${d.p99} | ${d.max} |`);
      }
    }
    L.push('');
  }
  L.push(`### Memory (MiB; VmRSS ${c.settleMs} ms after start-up${c.gc ? ', and after a forced full GC of the primary thread' : ''})`);
  L.push('');
  if (c.gc) {
    L.push('| cluster | RSS w1 | RSS w2 | after GC w1 | after GC w2 | per worker (after GC) | w1 over smallest (after GC) | primary heap used | array buffers | peak RSS w1 |');
    L.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  } else {
    L.push('| cluster | RSS w1 | RSS w2 | per worker | w1 over smallest | peak RSS w1 |');
    L.push('|---|---:|---:|---:|---:|---:|');
  }
  for (const s of r.sizes) {
    const w1 = s.startup.find((x) => x.workers === 1)!;
    const g = s.rss.afterGc;
    if (c.gc && g && w1.afterGc) {
      L.push(`| ${s.label} | ${mib(s.rss.workers1KiB)} | ${mib(s.rss.workers2KiB)} | ${mib(g.workers1KiB)} | ${mib(g.workers2KiB)} | ${mib(g.perWorkerKiB)} | ${g.overSmallestKiB === null ? '–' : mib(g.overSmallestKiB)} | ${mib(w1.afterGc.heapUsedKiB)} | ${mib(w1.afterGc.arrayBuffersKiB)} | ${mib(w1.hwmKiB)} |`);
    } else {
      L.push(`| ${s.label} | ${mib(s.rss.workers1KiB)} | ${mib(s.rss.workers2KiB)} | ${mib(s.rss.perWorkerKiB)} | ${s.rss.overSmallestKiB === null ? '–' : mib(s.rss.overSmallestKiB)} | ${mib(w1.hwmKiB)} |`);
    }
  }
  L.push('');
  if (r.sizes.some((s) => s.coredns)) {
    L.push('### Against CoreDNS (the same API server and cluster; kdns -workers 2, RSS without a forced GC)');
    L.push('');
    L.push('| cluster | server | /ready (ms from spawn) | RSS | anon | peak RSS (VmHWM) | ClusterIP change → answer p50 / p99 ms |');
    L.push('|---|---|---:|---:|---:|---:|---:|');
    for (const s of r.sizes) {
      const c = s.coredns;
      if (!c) continue;
      const w2 = s.startup.find((x) => x.workers === 2)!;
      L.push(`| ${s.label} | kdns | ${w2.readyMs} | ${mib(w2.rssKiB)} | ${mib(w2.anonKiB)} | ${mib(w2.hwmKiB)} | ${ms(s.events.clusterIP.p50)} / ${ms(s.events.clusterIP.p99)} |`);
      L.push(`| ${s.label} | CoreDNS | ${c.readyMs} | ${mib(c.rssKiB)} | ${mib(c.anonKiB)} | ${mib(c.hwmKiB)} | ${ms(c.events.clusterIP.p50)} / ${ms(c.events.clusterIP.p99)} |`);
      const x = (a: number, b: number): string => `${(a / b).toFixed(2)}×`;
      L.push(`| ${s.label} | **kdns ÷ CoreDNS** | ${x(w2.readyMs, c.readyMs)} | ${x(w2.rssKiB, c.rssKiB)} | ${x(w2.anonKiB, c.anonKiB)} | ${x(w2.hwmKiB, c.hwmKiB)} | ${x(s.events.clusterIP.p99, c.events.clusterIP.p99)} (p99) |`);
    }
    L.push('');
  }
  L.push(`### Event → answer latency (ms from the API write to the first UDP answer that shows the change; kdns polled every ~1 ms)`);
  L.push('');
  L.push('| cluster | change | n | failed | p50 | p90 | p99 | max | API write p50 |');
  L.push('|---|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const s of r.sizes) {
    for (const [what, e] of [['Service ClusterIP changed', s.events.clusterIP], ['headless endpoint added', s.events.slice], ['headless endpoint removed', s.events.sliceRemove]] as const) {
      L.push(`| ${s.label} | ${what} | ${e.count} | ${e.failed} | ${ms(e.p50)} | ${ms(e.p90)} | ${ms(e.p99)} | ${ms(e.max)} | ${ms(e.applyP50)} |`);
    }
  }
  if (r.sizes.some((s) => s.load)) {
    L.push('');
    const mode = c.rate ? `open loop at ${c.rate} queries/s` : `closed loop, ${c.concurrency} outstanding`;
    L.push(`### Query throughput (${mode}, ${c.duration} s × ${c.rounds} rounds interleaved, -workers 1, ${c.queries}-line query mix)`);
    L.push('');
    L.push('| cluster | QPS median (min–max) | p50 ms | p99 ms | CPU µs/query | NOERROR | NXDOMAIN | other | truncated | timeouts |');
    L.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const s of r.sizes) {
      const l = s.load;
      if (!l) continue;
      const other = l.answered - (l.rcodes.NOERROR ?? 0) - (l.rcodes.NXDOMAIN ?? 0);
      const pct = (x: number): string => `${((100 * x) / Math.max(1, l.answered)).toFixed(1)}%`;
      L.push(`| ${s.label} | ${Math.round(l.qpsMedian)} (${Math.min(...l.qps)}–${Math.max(...l.qps)}) | ${l.latencyMs.p50.toFixed(3)} | ${l.latencyMs.p99.toFixed(3)} | ${l.cpuUsPerQuery ?? '–'} | ${pct(l.rcodes.NOERROR ?? 0)} | ${pct(l.rcodes.NXDOMAIN ?? 0)} | ${other} | ${l.truncated} | ${l.timeouts} |`);
    }
    if (r.ratio) {
      L.push('');
      const list = (xs: number[]): string => xs.map((x) => x.toFixed(2)).join(', ');
      L.push(
        `QPS ${r.ratio.label}: **${r.ratio.qps.toFixed(2)}×** (median of per-round ratios ${list(r.ratio.qpsPerRound)}); ` +
          `CPU/query ${r.ratio.cpuPerQuery === null ? '–' : `**${r.ratio.cpuPerQuery.toFixed(2)}×** (${list(r.ratio.cpuPerQueryPerRound)})`}`,
      );
    }
    if (r.sizes.some((s) => s.load?.generatorLag)) {
      L.push('');
      L.push('WARNING: the generator fell behind the offered rate in some round; lower --rate.');
    }
  }
  return L.join('\n');
}

// ---- main ----

export async function k8sScale(opts: K8sScaleOptions = {}): Promise<K8sScaleReport> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const started = new Date();
  const t0 = performance.now();
  const cfg = {
    sizes: opts.sizes ?? [{ services: 10, endpoints: 100 }, { services: 10_000, endpoints: 100_000 }],
    events: opts.events ?? 200,
    sliceEvents: opts.sliceEvents ?? 20,
    duration: opts.duration ?? 5,
    rounds: opts.rounds ?? 3,
    concurrency: opts.concurrency ?? 32,
    rate: opts.rate ?? null,
    warmup: opts.warmup ?? 1,
    queries: opts.queries ?? 10_000,
    settleMs: opts.settleMs ?? 2000,
    seed: opts.seed ?? 1,
    eventTimeoutMs: opts.eventTimeoutMs ?? 5000,
    startTimeoutMs: opts.startTimeoutMs ?? 180_000,
    skipLoad: opts.skipLoad ?? false,
    probe: opts.probe ?? true,
    gc: opts.gc ?? true,
    cpuProfDir: opts.cpuProfDir ?? null,
    coredns: opts.coredns ?? null,
  };
  if (cfg.sizes.length === 0) throw new Error('no sizes');
  if (cfg.cpuProfDir) fs.mkdirSync(cfg.cpuProfDir, { recursive: true });
  const apis: RunningFakeApiServer[] = [];
  const running: Kdns[] = [];
  const sizes: SizeReport[] = [];
  const queryLists: QuerySpec[][] = [];
  const cleanup = async (): Promise<void> => {
    await Promise.allSettled(running.map((k) => k.stop()));
    await Promise.allSettled(apis.map((a) => a.stop()));
  };
  try {
    for (const spec of cfg.sizes) {
      const label = sizeLabel(spec);
      const cluster = syntheticCluster({ services: spec.services, endpoints: spec.endpoints, namespaces: spec.namespaces, seed: cfg.seed });
      queryLists.push(clusterQueries(cluster, { count: cfg.queries, zone: ZONE }));
      // History must hold every event the bench writes, or a re-watching client gets 410.
      const api = await startFakeApiServer({ history: Math.max(10_000, cfg.events + cfg.sliceEvents + 100) });
      apis.push(api);
      const tl = performance.now();
      await api.client.bulk(cluster.objects as never[], { batch: 2000 });
      const apiLoadMs = Math.round(performance.now() - tl);
      log(`${label}: ${cluster.counts.slices} slices, ${cluster.objects.length} objects loaded into the fake API in ${apiLoadMs} ms`);

      const startup: StartupResult[] = [];
      for (const workers of [2, 1]) {
        const k = await startKdns(api.url, workers, { timeoutMs: cfg.startTimeoutMs, cpuProfDir: cfg.cpuProfDir, inspect: cfg.gc, probe: cfg.probe ? cluster.services : null });
        running.push(k);
        await new Promise((r) => setTimeout(r, cfg.settleMs));
        const mem = processMemoryKiB(k.pid);
        let afterGc: StartupResult['afterGc'] = null;
        if (cfg.gc) {
          if (!k.inspector) throw new Error('kdns printed no inspector URL (started with --inspect=127.0.0.1:0)');
          const usage = await gcOverInspector(k.inspector);
          // Let freed pages go back to the OS before reading VmRSS.
          await new Promise((r) => setTimeout(r, 500));
          afterGc = { rssKiB: processMemoryKiB(k.pid).rss, heapUsedKiB: Math.round(usage.heapUsed / 1024), arrayBuffersKiB: Math.round(usage.arrayBuffers / 1024) };
        }
        startup.push({ ...k.startup, rssKiB: mem.rss, hwmKiB: mem.hwm, anonKiB: mem.anon, afterGc });
        log(
          `${label}: -workers ${workers}: lists done after ${k.startup.listedMs} ms, serving after ${k.startup.servingMs} ms, listening after ${k.startup.bannerMs} ms, ` +
            `table ${k.startup.table.names} names; RSS ${mib(mem.rss)} MiB (peak ${mib(mem.hwm)})` +
            (afterGc ? `, after GC ${mib(afterGc.rssKiB)} MiB (heap ${mib(afterGc.heapUsedKiB)}, array buffers ${mib(afterGc.arrayBuffersKiB)})` : ''),
        );
        if (workers === 2) {
          await k.stop();
          running.splice(running.indexOf(k), 1);
        }
      }
      const kdns = running[running.length - 1]!;
      const events = await measureEvents(api, kdns, cluster, { events: cfg.events, sliceEvents: cfg.sliceEvents, timeoutMs: cfg.eventTimeoutMs, seed: cfg.seed });
      log(`${label}: ClusterIP change -> answer p50 ${ms(events.clusterIP.p50)} p99 ${ms(events.clusterIP.p99)} max ${ms(events.clusterIP.max)} ms (${events.clusterIP.failed} failed); endpoint added p50 ${ms(events.slice.p50)} max ${ms(events.slice.max)} ms, removed p50 ${ms(events.sliceRemove.p50)} max ${ms(events.sliceRemove.max)} ms`);
      let coredns: SizeReport['coredns'] = null;
      if (opts.coredns) {
        const c = await startCoredns(opts.coredns, api.url, cfg.startTimeoutMs);
        try {
          await new Promise((r) => setTimeout(r, cfg.settleMs));
          const mem = processMemoryKiB(c.pid);
          const cEvents = await measureEvents(api, c, cluster, { events: cfg.events, sliceEvents: cfg.sliceEvents, timeoutMs: cfg.eventTimeoutMs, seed: cfg.seed, ipOffset: MAX_EVENTS });
          coredns = { readyMs: c.readyMs, rssKiB: mem.rss, hwmKiB: mem.hwm, anonKiB: mem.anon, events: cEvents };
          log(`${label}: CoreDNS ready after ${c.readyMs} ms; RSS ${mib(mem.rss)} MiB (peak ${mib(mem.hwm)}, anon ${mib(mem.anon)}); ClusterIP change -> answer p50 ${ms(cEvents.clusterIP.p50)} p99 ${ms(cEvents.clusterIP.p99)} ms`);
        } finally {
          await c.stop();
        }
      }
      const w1 = startup.find((x) => x.workers === 1)!;
      const w2 = startup.find((x) => x.workers === 2)!;
      sizes.push({
        label,
        spec,
        cluster: cluster.counts,
        apiLoadMs,
        startup,
        rss: {
          workers1KiB: w1.rssKiB,
          workers2KiB: w2.rssKiB,
          perWorkerKiB: w2.rssKiB - w1.rssKiB,
          overSmallestKiB: null,
          afterGc: w1.afterGc && w2.afterGc
            ? { workers1KiB: w1.afterGc.rssKiB, workers2KiB: w2.afterGc.rssKiB, perWorkerKiB: w2.afterGc.rssKiB - w1.afterGc.rssKiB, overSmallestKiB: null }
            : null,
        },
        events,
        load: null,
        coredns,
      });
    }
    const smallest = sizes.reduce((a, b) => (b.spec.services < a.spec.services ? b : a));
    for (const s of sizes) {
      if (s === smallest) continue;
      s.rss.overSmallestKiB = s.rss.workers1KiB - smallest.rss.workers1KiB;
      if (s.rss.afterGc && smallest.rss.afterGc) s.rss.afterGc.overSmallestKiB = s.rss.afterGc.workers1KiB - smallest.rss.afterGc.workers1KiB;
    }

    // Load, interleaved: every round runs every size, the order alternating.
    const perSize: LoadResult[][] = sizes.map(() => []);
    if (!cfg.skipLoad) {
      for (let round = 0; round < cfg.rounds; round++) {
        const order = sizes.map((_, i) => i);
        if (round % 2 === 1) order.reverse();
        for (const i of order) {
          const k = running[i]!;
          const r = await runLoad({
            server: `127.0.0.1:${k.port}`,
            duration: cfg.duration,
            warmup: cfg.warmup,
            concurrency: cfg.concurrency,
            ...(cfg.rate ? { rate: cfg.rate } : {}),
            queries: queryLists[i],
            pid: k.pid,
          });
          perSize[i]!.push(r);
          log(`round ${round + 1} ${sizes[i]!.label}: ${r.qps} qps, p99 ${r.latencyMs.p99} ms, ${r.target?.cpuUsPerQuery ?? '–'} µs/query, timeouts ${r.timeouts}`);
        }
      }
      for (const [i, s] of sizes.entries()) {
        const runs = perSize[i]!;
        const rcodes: Record<string, number> = {};
        for (const r of runs) for (const [k, v] of Object.entries(r.rcodes)) rcodes[k] = (rcodes[k] ?? 0) + v;
        const cpu = runs.map((r) => r.target?.cpuUsPerQuery).filter((x): x is number => x !== undefined);
        s.load = {
          rounds: runs.length,
          qps: runs.map((r) => r.qps),
          qpsMedian: median(runs.map((r) => r.qps)),
          latencyMs: { p50: median(runs.map((r) => r.latencyMs.p50)), p99: median(runs.map((r) => r.latencyMs.p99)) },
          cpuUsPerQuery: cpu.length ? Math.round(median(cpu) * 100) / 100 : null,
          rcodes,
          truncated: runs.reduce((a, r) => a + r.truncated, 0),
          timeouts: runs.reduce((a, r) => a + r.timeouts, 0),
          sent: runs.reduce((a, r) => a + r.sent, 0),
          answered: runs.reduce((a, r) => a + r.answered, 0),
          generatorLag: runs.some((r) => r.generatorLag),
        };
      }
    }
    let ratio: K8sScaleReport['ratio'] = null;
    const largest = sizes.reduce((a, b) => (b.spec.services > a.spec.services ? b : a));
    if (!cfg.skipLoad && largest !== smallest) {
      const li = sizes.indexOf(largest);
      const si = sizes.indexOf(smallest);
      const qpsPerRound = perSize[li]!.map((r, k) => r.qps / perSize[si]![k]!.qps);
      const cpuPerRound = perSize[li]!
        .map((r, k) => (r.target && perSize[si]![k]!.target ? r.target.cpuUsPerQuery / perSize[si]![k]!.target!.cpuUsPerQuery : NaN))
        .filter(Number.isFinite);
      ratio = {
        label: `${int(largest.spec.services)} / ${int(smallest.spec.services)} services`,
        qps: Math.round(median(qpsPerRound) * 1000) / 1000,
        qpsPerRound: qpsPerRound.map((x) => Math.round(x * 1000) / 1000),
        cpuPerQuery: cpuPerRound.length ? Math.round(median(cpuPerRound) * 1000) / 1000 : null,
        cpuPerQueryPerRound: cpuPerRound.map((x) => Math.round(x * 1000) / 1000),
      };
    }
    const base = { startedAt: started.toISOString(), machine: machineInfo(), source: sourceState(), config: cfg, sizes, ratio };
    const markdown = renderMarkdown(base);
    const outFile = opts.out ?? path.join(BENCH_DIR, 'out', `k8s-scale-${fileTimestamp(started)}.json`);
    const report: K8sScaleReport = { ...base, markdown, outFile, wallS: Math.round((performance.now() - t0) / 100) / 10 };
    fs.mkdirSync(path.dirname(outFile), { recursive: true });
    fs.writeFileSync(outFile, `${JSON.stringify(report, null, 2)}\n`);
    return report;
  } finally {
    await cleanup();
  }
}

export function parseSizes(s: string): SizeSpec[] {
  return s.split(',').map((part) => {
    const m = /^\s*(\d+)x(\d+)(?:x(\d+))?\s*$/.exec(part);
    if (!m) throw new Error(`bad size ${part} (want SERVICESxENDPOINTS[xNAMESPACES], e.g. 10000x100000)`);
    return { services: Number(m[1]), endpoints: Number(m[2]), ...(m[3] ? { namespaces: Number(m[3]) } : {}) };
  });
}

const USAGE = `usage: node bench/k8s-scale.ts [options]
  --sizes LIST        SERVICESxENDPOINTS[xNAMESPACES],... (default 10x100,10000x100000)
  --events N          ClusterIP changes per size (default 200)
  --slice-events N    headless EndpointSlice changes per size (default 20)
  --duration SEC      measured load per round and size (default 5)
  --rounds N          load rounds, sizes interleaved (default 3)
  --concurrency N     closed-loop outstanding queries (default 32)
  --rate QPS          open loop at this total rate instead (for CPU µs/query at equal load)
  --warmup SEC        unmeasured load before each window (default 1)
  --queries N         query-list lines per size (default 10000)
  --settle-ms MS      pause before reading VmRSS (default 2000)
  --seed N            synthetic cluster seed (default 1)
  --skip-load         sync, memory and events only
  --cpu-prof DIR      run kdns under --cpu-prof (profiles written on exit)
  --coredns PATH      also measure this CoreDNS binary against the same API server (ready, RSS, events)
  --no-probe          do not query kdns while its table is built (from /ready to the serving line)
  --no-gc             do not force a GC in kdns over the inspector before the second memory reading
  --out FILE          JSON report (default bench/out/k8s-scale-<time>.json)
  --json              print the JSON report instead of markdown`;

async function cli(): Promise<void> {
  const values = parseCli(
    USAGE,
    {
      sizes: { type: 'string' },
      events: { type: 'string' },
      'slice-events': { type: 'string' },
      duration: { type: 'string' },
      rounds: { type: 'string' },
      concurrency: { type: 'string' },
      rate: { type: 'string' },
      warmup: { type: 'string' },
      queries: { type: 'string' },
      'settle-ms': { type: 'string' },
      seed: { type: 'string' },
      'skip-load': { type: 'boolean' },
      'cpu-prof': { type: 'string' },
      coredns: { type: 'string' },
      gc: { type: 'boolean', default: true },
      probe: { type: 'boolean', default: true },
      out: { type: 'string' },
      json: { type: 'boolean' },
    },
    { allowNegative: true },
  );
  if (!values) return;
  const num = (s: string | undefined): number | undefined => (s === undefined ? undefined : Number(s));
  const report = await k8sScale({
    sizes: values.sizes ? parseSizes(values.sizes) : undefined,
    events: num(values.events),
    sliceEvents: num(values['slice-events']),
    duration: num(values.duration),
    rounds: num(values.rounds),
    concurrency: num(values.concurrency),
    rate: num(values.rate),
    warmup: num(values.warmup),
    queries: num(values.queries),
    settleMs: num(values['settle-ms']),
    seed: num(values.seed),
    skipLoad: values['skip-load'],
    cpuProfDir: values['cpu-prof'],
    coredns: values.coredns,
    gc: values.gc,
    probe: values.probe,
    out: values.out,
  });
  if (values.json) console.log(JSON.stringify(report, null, 2));
  else console.log(`${report.markdown}\n\nreport: ${path.relative(process.cwd(), report.outFile)} (${report.wallS} s)`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  cli().catch((err: unknown) => {
    console.error(`k8s-scale: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    process.exit(1);
  });
}
