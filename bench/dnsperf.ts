// dnsperf / resperf runners: Debian's DNS-OARC `dnsperf` and `resperf` against kdns (started
// here) and optional peers, with our query files; parsed figures go to bench/out/ as JSON and a
// Markdown table with ratios to a baseline peer of the same run goes to stdout.
//
//   node bench/dnsperf.ts [--tool dnsperf|resperf|both] [--targets kdns1,minimal,...]
//       [--profile records|cluster|forward] [--corefile FILE] [--cluster 200x2000]
//       [--queries FILE] [--rounds 1] [--duration 5] [--clients 4] [--threads 1]
//       [--outstanding 100] [--rate QPS] [--max-rate 50000] [--ramp 10] [--mode udp|tcp|dot|doh]
//       [--out FILE] [--json]
//
// See `--help` and bench/README.md ("dnsperf / resperf"). Everything goes to loopback only.

import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCli } from './cli-args.ts';
import { freePort, parseEndpoint, parseQueryFile, processTreeCpuUs, waitForDns, type QuerySpec } from './dnsutil.ts';
import { fileTimestamp } from './run-info.ts';
import { clusterQueries, formatQueries, syntheticCluster, writeManifests } from './synthetic-cluster.ts';
import { parseDnsperf, parseResperf, parseResperfPlot, resperfCurve, type DnsperfStats, type ResperfCurve, type ResperfPoint, type ResperfStats } from './dnsperf/parse.ts';
import { startDnsmasq, startUnbound, type DnsmasqOptions, type UnboundOptions } from '../test/helpers/unbound.ts';
import { PRIMARY_ENV, PRIMARY_NODE_FLAGS } from '../bin/node-flags.js';

export * from './dnsperf/parse.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const QUERIES_DIR = path.join(ROOT, 'bench', 'queries');
/** The synthetic cluster that bench/queries/cluster-mix.txt was generated from (seed 1). */
export const CLUSTER_MIX = { services: 200, endpoints: 2000, queries: 500 };

export type Mode = 'udp' | 'tcp' | 'dot' | 'doh';
export type Tool = 'dnsperf' | 'resperf';
export type Profile = 'records' | 'cluster' | 'forward';

// ---------------------------------------------------------------------------------------------
// Tools

/** Path of a dnsperf-package binary, or null (sbin is searched too). */
export function findTool(bin: string): string | null {
  for (const d of [...(process.env.PATH ?? '').split(':'), '/usr/bin', '/usr/sbin', '/sbin'].filter(Boolean)) {
    const p = path.join(d, bin);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {}
  }
  return null;
}

/** Why dnsperf/resperf cannot run here (for a skip), or undefined. */
export function dnsperfMissing(): string | undefined {
  const missing = ['dnsperf', 'resperf'].filter((b) => !findTool(b));
  return missing.length ? `${missing.join(' and ')} not installed (bash test/setup/ensure-tools.sh installs Debian's dnsperf package)` : undefined;
}

/**
 * Writes `src` (our query-file format: `name [TYPE]`, `#` comments) as a plain dnsperf data file
 * (`name TYPE` lines only) in `dir`. dnsperf reads `# comment` lines as a name and a type, so our
 * files cannot be given to it as they are when they have comments.
 */
export function prepareQueryFile(src: string, dir: string): { file: string; queries: QuerySpec[] } {
  const text = fs.readFileSync(src, 'utf8').split('\n').filter((l) => !l.trimStart().startsWith(';')).join('\n');
  const queries = parseQueryFile(text);
  if (queries.length === 0) throw new Error(`no queries in ${src}`);
  const file = path.join(dir, `${path.basename(src, path.extname(src))}.dnsperf.txt`);
  fs.writeFileSync(file, formatQueries(queries));
  return { file, queries };
}

let clkTck = 0;
function ticksToUs(ticks: number): number {
  if (!clkTck) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return (ticks * 1e6) / clkTck;
}

export interface ToolRun {
  argv: string[];
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** utime+stime of the tool process (all its threads), from the wrapper shell's cutime+cstime. */
  cpuUs: number | null;
  wallMs: number;
}

/**
 * Runs `bin args` under `sh` (which reports its waited-for child's CPU time on exit), killed with
 * its process group after `capMs`.
 */
export function runTool(bin: string, args: string[], capMs: number): Promise<ToolRun> {
  const script = '"$0" "$@"; rc=$?; echo "__kdns_cpu_ticks $(cut -d" " -f16,17 /proc/$$/stat)" >&2; exit $rc';
  const t0 = performance.now();
  const child = spawn('/bin/sh', ['-c', script, bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let stderr = '';
  // dnsperf prints one line per bad query-file line: keep the head and the tail.
  const keep = (acc: string, d: Buffer): string => (acc.length > 4_000_000 ? acc.slice(0, 1_000_000) + acc.slice(-1_000_000) : acc) + d.toString();
  child.stdout!.on('data', (d: Buffer) => (stdout = keep(stdout, d)));
  child.stderr!.on('data', (d: Buffer) => (stderr = keep(stderr, d)));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {}
  }, capMs);
  return new Promise((resolve) => {
    child.on('error', (err) => (stderr += `\n${err.message}`));
    child.on('close', (code) => {
      clearTimeout(timer);
      const m = /__kdns_cpu_ticks (\d+) (\d+)/.exec(stderr);
      stderr = stderr.replace(/__kdns_cpu_ticks.*\n?/, '');
      resolve({ argv: [bin, ...args], code, stdout, stderr, timedOut, cpuUs: m ? ticksToUs(Number(m[1]) + Number(m[2])) : null, wallMs: performance.now() - t0 });
    });
  });
}

/** Extra words for failures we know (dnsperf 2.10's DoH client). */
function hint(run: ToolRun): string {
  return /already having a dns msg/.test(run.stdout + run.stderr)
    ? ' (dnsperf/resperf 2.10 handle one DoH response per connection at a time: dnsperf needs --outstanding 1, resperf cannot ramp over DoH; k6/doh.ts is the DoH load tool)'
    : '';
}

export interface DnsperfRunOptions {
  /** `HOST:PORT`, loopback only. */
  server: string;
  /** A plain dnsperf data file (see prepareQueryFile). */
  queriesFile: string;
  mode?: Mode;
  /** Seconds (-l); capped at 120. Default 5. */
  duration?: number;
  /** -c, default 4 (at least `threads`). */
  clients?: number;
  /** -T, default 1. */
  threads?: number;
  /** -q: queries outstanding, default 100 (dnsperf's default). */
  outstanding?: number;
  /** -Q: QPS limit (open loop), default none. */
  rate?: number;
  /** -t seconds, default 2. */
  timeout?: number;
  /** -S seconds: per-interval QPS lines. */
  statsInterval?: number;
  /** -e */
  edns?: boolean;
  dohUri?: string;
  dohMethod?: 'GET' | 'POST';
}

export interface DnsperfRun {
  run: ToolRun;
  stats: DnsperfStats;
}

function hostPort(server: string): { host: string; port: number } {
  const ep = parseEndpoint(server);
  return { host: ep.host, port: ep.port };
}

function modeArgs(mode: Mode, host: string, port: number, o: { dohUri?: string; dohMethod?: string }): string[] {
  if (mode !== 'doh') return [];
  const h = net.isIP(host) === 6 ? `[${host}]` : host;
  return ['-O', `doh-uri=${o.dohUri ?? `https://${h}:${port}/dns-query`}`, '-O', `doh-method=${o.dohMethod ?? 'GET'}`];
}

export function dnsperfArgs(o: DnsperfRunOptions): string[] {
  const { host, port } = hostPort(o.server);
  const threads = Math.max(1, Math.floor(o.threads ?? 1));
  const args = [
    '-s', host, '-p', String(port), '-d', o.queriesFile,
    '-l', String(Math.min(120, o.duration ?? 5)),
    '-c', String(Math.max(threads, Math.floor(o.clients ?? 4))), '-T', String(threads),
    '-q', String(Math.max(1, Math.floor(o.outstanding ?? 100))),
    '-t', String(o.timeout ?? 2),
    '-m', o.mode ?? 'udp',
    '-O', 'suppress=timeouts,unexpected',
  ];
  if (o.rate && o.rate > 0) args.push('-Q', String(Math.floor(o.rate)));
  if (o.statsInterval && o.statsInterval > 0) args.push('-S', String(o.statsInterval));
  if (o.edns) args.push('-e');
  args.push(...modeArgs(o.mode ?? 'udp', host, port, o));
  return args;
}

/**
 * Runs dnsperf or resperf (`bin`) and parses the statistics it prints. Throws with the tool's own
 * words when it printed none, or when it sent nothing: over TCP/DoT/DoH both keep retrying a
 * connection they cannot make and report 0 sent.
 */
async function runAndParse<S extends { sent: number }>(
  tool: Tool,
  bin: string,
  args: string[],
  capMs: number,
  parse: (output: string) => S,
  o: { server: string; mode?: Mode },
): Promise<{ run: ToolRun; stats: S }> {
  const run = await runTool(bin, args, capMs);
  let stats: S;
  try {
    stats = parse(`${run.stdout}\n${run.stderr}`);
  } catch (err) {
    throw new Error(`${tool} ${run.timedOut ? 'timed out' : `exited ${run.code}`}${hint(run)}: ${(err as Error).message}; stderr: ${run.stderr.trim().slice(-500)}`);
  }
  if (stats.sent === 0) throw new Error(`${tool} sent no queries (could it connect to ${o.server} over ${o.mode ?? 'udp'}?): ${run.stderr.trim().slice(-300)}`);
  return { run, stats };
}

/** One dnsperf run, bounded to duration + timeout + 15 s. Throws when dnsperf is missing or prints no statistics. */
export async function runDnsperf(o: DnsperfRunOptions): Promise<DnsperfRun> {
  const bin = findTool('dnsperf');
  if (!bin) throw new Error(dnsperfMissing());
  const capMs = (Math.min(120, o.duration ?? 5) + (o.timeout ?? 2) + 15) * 1000;
  return runAndParse('dnsperf', bin, dnsperfArgs(o), capMs, parseDnsperf, o);
}

export interface ResperfRunOptions {
  server: string;
  queriesFile: string;
  mode?: Mode;
  /** -m: the rate at the end of the ramp, default 50000. */
  maxRate?: number;
  /** -r seconds, default 10 (capped at 120). */
  ramp?: number;
  /** -c seconds of constant traffic at maxRate after the ramp, default 0. */
  constant?: number;
  /** -C sockets, default 1. */
  clients?: number;
  /** -q, default resperf's (65536). */
  outstanding?: number;
  /** -t seconds, default 2 (resperf's 45 would make the wait after the ramp long). */
  timeout?: number;
  /** -i seconds between plot points, default 0.5. */
  plotInterval?: number;
  /** -L percent: resperf's max throughput only counts intervals with at most this loss. */
  maxLoss?: number;
  /** Loss (percent) above which an interval counts as the loss onset in our curve figures. Default 1. */
  lossThreshold?: number;
  /** -F: queries resperf may fall behind before it stops (default 1000; 0 = never). */
  fallBehind?: number;
  /** Where the plot file goes (default: a temp file, removed). */
  plotFile?: string;
  dohUri?: string;
  dohMethod?: 'GET' | 'POST';
}

export interface ResperfRun {
  run: ToolRun;
  stats: ResperfStats;
  plot: ResperfPoint[];
  curve: ResperfCurve;
}

export function resperfArgs(o: ResperfRunOptions, plotFile: string): string[] {
  const { host, port } = hostPort(o.server);
  const args = [
    '-s', host, '-p', String(port), '-d', o.queriesFile, '-R',
    '-m', String(o.maxRate ?? 50_000),
    '-r', String(Math.min(120, o.ramp ?? 10)),
    '-c', String(Math.min(120, o.constant ?? 0)),
    '-C', String(Math.max(1, Math.floor(o.clients ?? 1))),
    '-t', String(o.timeout ?? 2),
    '-i', String(o.plotInterval ?? 0.5),
    '-P', plotFile,
    '-M', o.mode ?? 'udp',
  ];
  if (o.outstanding) args.push('-q', String(Math.floor(o.outstanding)));
  if (o.maxLoss !== undefined) args.push('-L', String(o.maxLoss));
  if (o.fallBehind !== undefined) args.push('-F', String(Math.floor(o.fallBehind)));
  args.push(...modeArgs(o.mode ?? 'udp', host, port, o));
  return args;
}

/** One resperf run: ramp (+ constant) + up to `timeout` of waiting, bounded to that + 15 s. */
export async function runResperf(o: ResperfRunOptions): Promise<ResperfRun> {
  const bin = findTool('resperf');
  if (!bin) throw new Error(dnsperfMissing());
  const tmp = o.plotFile ? null : fs.mkdtempSync(path.join(os.tmpdir(), 'kdns-resperf-'));
  const plotFile = o.plotFile ?? path.join(tmp!, 'resperf.gnuplot');
  try {
    const capMs = (Math.min(120, o.ramp ?? 10) + Math.min(120, o.constant ?? 0) + (o.timeout ?? 2) + 15) * 1000;
    const { run, stats } = await runAndParse('resperf', bin, resperfArgs(o, plotFile), capMs, parseResperf, o);
    const plot = fs.existsSync(plotFile) ? parseResperfPlot(fs.readFileSync(plotFile, 'utf8')) : [];
    return { run, stats, plot, curve: resperfCurve(plot, o.lossThreshold ?? 1) };
  } finally {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Targets

export interface StartedTarget {
  name: string;
  /** `HOST:PORT` */
  server: string;
  /** Process to charge CPU to (with its descendants); null for an address given as is. */
  pid: number | null;
  command: string;
  stop(): Promise<void>;
}

interface Env {
  profile: Profile;
  mode: Mode;
  workers: number;
  /** For kdns: the Corefile for a port. */
  corefile(port: number): string;
  /** The env kdns runs with (KDNS_BENCH_PORT for a --corefile). */
  kdnsEnv(port: number): Record<string, string>;
  readyQuery: QuerySpec;
  dnsmasq: DnsmasqOptions | null;
  unbound: UnboundOptions | null;
  tls: { cert: string; key: string } | null;
}

function stopChild(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    proc.once('exit', () => resolve());
    proc.kill('SIGTERM');
    setTimeout(() => proc.kill('SIGKILL'), 3000).unref();
  });
}

/** Polls a TCP connect every 100 ms (for DoT/DoH listeners, which have no UDP to probe). */
async function waitForTcp(host: string, port: number, capMs: number, gone: () => boolean): Promise<boolean> {
  const deadline = Date.now() + capMs;
  while (Date.now() < deadline && !gone()) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host, port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

async function spawnAndWait(name: string, argv: string[], env: Record<string, string>, port: number, e: Env, dnsReady: boolean): Promise<StartedTarget> {
  const proc = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (d: Buffer): void => {
    tail = (tail + d.toString()).slice(-2000);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  let gone = false;
  proc.once('exit', () => (gone = true));
  proc.once('error', (err) => {
    gone = true;
    tail += err.message;
  });
  const abort = { aborted: false };
  const goneCheck = setInterval(() => (abort.aborted = gone), 50);
  let ok: boolean;
  try {
    ok = dnsReady
      ? await waitForDns({ host: '127.0.0.1', port, family: 4 }, 15_000, e.readyQuery, abort)
      : await waitForTcp('127.0.0.1', port, 15_000, () => gone);
  } finally {
    clearInterval(goneCheck);
  }
  if (!ok) {
    await stopChild(proc);
    throw new Error(`${name} did not start on port ${port}: ${tail.trim().split('\n').slice(-3).join(' | ')}`);
  }
  return {
    name,
    server: `127.0.0.1:${port}`,
    pid: proc.pid!,
    command: argv.map((a) => (a === process.execPath ? 'node' : path.isAbsolute(a) ? path.relative(ROOT, a) || a : a)).join(' '),
    stop: () => stopChild(proc),
  };
}

/** Starts one target by name; see USAGE for the names. */
export async function startTarget(name: string, e: Env): Promise<StartedTarget> {
  const n = targetThreads(name, e.workers);
  const dnsMode = e.mode === 'udp' || e.mode === 'tcp';
  if (/^kdns/.test(name)) {
    const port = await freePort();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdns-dnsperf-'));
    const file = path.join(dir, 'Corefile');
    fs.writeFileSync(file, e.corefile(port));
    const t = await spawnAndWait(name, [process.execPath, ...PRIMARY_NODE_FLAGS, path.join(ROOT, 'bin', 'kdns.js'), '-conf', file, '-workers', String(n), '-quiet'], { ...PRIMARY_ENV, ...e.kdnsEnv(port) }, port, e, dnsMode);
    return { ...t, stop: async () => { await t.stop(); fs.rmSync(dir, { recursive: true, force: true }); } };
  }
  if (/^minimal/.test(name)) {
    if (!dnsMode) throw new Error(`${name} speaks plain DNS only (no --mode ${e.mode})`);
    const port = await freePort();
    return spawnAndWait(name, [process.execPath, path.join(ROOT, 'bench', 'minimal-responder.ts'), '--port', String(port), '--threads', String(n)], {}, port, e, true);
  }
  if (name === 'dnsmasq' || /^unbound/.test(name)) {
    if (!dnsMode) throw new Error(`${name} is run for plain DNS only (no --mode ${e.mode})`);
    const d = name === 'dnsmasq'
      ? (e.dnsmasq ? await startDnsmasq(e.dnsmasq) : { skip: `dnsmasq has nothing to serve in the ${e.profile} profile` })
      : (e.unbound ? await startUnbound({ ...e.unbound, threads: n }) : { skip: `unbound has nothing to serve in the ${e.profile} profile` });
    if ('skip' in d) throw new Error(d.skip);
    return { name, server: d.address, pid: d.pid, command: name === 'dnsmasq' ? 'dnsmasq (test/helpers/unbound.ts)' : `unbound num-threads ${n} (test/helpers/unbound.ts)`, stop: () => d.stop() };
  }
  // An address: `[LABEL=]HOST:PORT`, already running.
  const eq = name.indexOf('=');
  const addr = eq >= 0 ? name.slice(eq + 1) : name;
  parseEndpoint(addr); // loopback only
  return { name, server: addr, pid: null, command: `(running at ${addr})`, stop: async () => {} };
}

function targetThreads(name: string, workers: number): number {
  const m = /^(?:kdns|minimal|unbound)(\d+|N)?$/.exec(name);
  if (!m) return 1;
  if (m[1] === undefined) return 1;
  return m[1] === 'N' ? workers : Number(m[1]);
}

// ---------------------------------------------------------------------------------------------
// Profiles: what kdns (and the peers that can) serve

const RECORDS = [{ name: 'kubernetes.default.svc.cluster.local', ip: '10.96.0.1', ttl: 5 }];

function block(mode: Mode, port: number, body: string, tls: Env['tls']): string {
  const scheme = mode === 'dot' ? 'tls://' : mode === 'doh' ? 'https://' : '';
  const tlsLine = tls && scheme ? `    tls ${tls.cert} ${tls.key}\n` : '';
  return `${scheme}.:${port} {\n    bind 127.0.0.1\n${tlsLine}${body.replace(/^/gm, '    ')}\n}\n`;
}

interface ProfileSetup {
  env: Env;
  defaultQueries: string;
  /** Generated query file (cluster profile with a non-default size). */
  generatedQueries: string | null;
  cleanup(): Promise<void>;
}

async function setupProfile(o: Required<Pick<DnsperfBenchOptions, 'profile' | 'mode' | 'workers' | 'cluster'>> & { corefile?: string }, log: (l: string) => void): Promise<ProfileSetup> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kdns-dnsperf-profile-'));
  const cleanups: Array<() => Promise<void>> = [async () => fs.rmSync(work, { recursive: true, force: true })];
  let tls: Env['tls'] = null;
  if (o.mode === 'dot' || o.mode === 'doh') {
    const { makeCertificates } = await import('../test/helpers/certificates.ts');
    const c = makeCertificates(work, { ips: ['127.0.0.1'], dns: ['localhost'] });
    tls = { cert: c.server, key: c.serverKey };
  }
  const base = { mode: o.mode, workers: o.workers, tls, kdnsEnv: (_port: number) => ({}) as Record<string, string> };
  const cleanup = async (): Promise<void> => {
    for (const c of cleanups.reverse()) await c();
  };
  if (o.corefile) {
    const text = fs.readFileSync(o.corefile, 'utf8');
    return {
      env: {
        ...base, profile: o.profile, dnsmasq: null, unbound: null, readyQuery: { name: 'kubernetes.default.svc.cluster.local', type: 'A' },
        corefile: (port) => text.replaceAll('{port}', String(port)),
        kdnsEnv: (port) => ({ KDNS_BENCH_PORT: String(port) }),
      },
      defaultQueries: path.join(QUERIES_DIR, 'cluster-hit.txt'), generatedQueries: null, cleanup,
    };
  }
  if (o.profile === 'records') {
    const body = `records cluster.local {\n${RECORDS.map((r) => `    ${r.name}. ${r.ttl} IN A ${r.ip}`).join('\n')}\n}`;
    return {
      env: {
        ...base, profile: 'records', readyQuery: { name: RECORDS[0]!.name, type: 'A' },
        corefile: (port) => block(o.mode, port, body, tls),
        dnsmasq: { hostRecords: RECORDS.map((r) => `${r.name},${r.ip},${r.ttl}`), cacheSize: 0 },
        unbound: { localData: [{ zone: 'cluster.local.' }, ...RECORDS.map((r) => `${r.name}. ${r.ttl} IN A ${r.ip}`)] },
      },
      defaultQueries: path.join(QUERIES_DIR, 'cluster-hit.txt'), generatedQueries: null, cleanup,
    };
  }
  if (o.profile === 'cluster') {
    const m = /^(\d+)x(\d+)$/.exec(o.cluster);
    if (!m) throw new Error(`--cluster wants SERVICESxENDPOINTS, e.g. 200x2000 (got ${o.cluster})`);
    const services = Number(m[1]);
    const endpoints = Number(m[2]);
    const cluster = syntheticCluster({ services, endpoints });
    const manifests = path.join(work, 'manifests');
    writeManifests(cluster, manifests);
    const isMix = services === CLUSTER_MIX.services && endpoints === CLUSTER_MIX.endpoints;
    let generated: string | null = null;
    if (!isMix) {
      generated = path.join(work, 'queries.txt');
      fs.writeFileSync(generated, formatQueries(clusterQueries(cluster, { count: 10_000 })));
    }
    log(`cluster profile: ${cluster.counts.services} services, ${cluster.counts.endpoints} endpoints (manifests in ${manifests})`);
    const body = `kubernetes cluster.local in-addr.arpa ip6.arpa {\n    manifests ${manifests}\n    fallthrough in-addr.arpa ip6.arpa\n}`;
    return {
      env: { ...base, profile: 'cluster', dnsmasq: null, unbound: null, readyQuery: { name: 'kubernetes.default.svc.cluster.local', type: 'A' }, corefile: (port) => block(o.mode, port, body, tls) },
      defaultQueries: generated ?? path.join(QUERIES_DIR, 'cluster-mix.txt'), generatedQueries: generated, cleanup,
    };
  }
  // forward: one minimal responder is the upstream of every target (kdns forward + cache, dnsmasq, unbound).
  const upPort = await freePort();
  const up = spawn(process.execPath, [path.join(ROOT, 'bench', 'minimal-responder.ts'), '--port', String(upPort)], { stdio: 'ignore' });
  cleanups.push(() => stopChild(up));
  if (!(await waitForDns({ host: '127.0.0.1', port: upPort, family: 4 }, 15_000, { name: 'up.example.org', type: 'A' }))) {
    await cleanup();
    throw new Error('the upstream (minimal responder) did not start');
  }
  const upstream = `127.0.0.1:${upPort}`;
  log(`forward profile: upstream minimal responder at ${upstream}`);
  return {
    env: {
      ...base, profile: 'forward', readyQuery: { name: 'ready.example.org', type: 'A' },
      corefile: (port) => block(o.mode, port, `forward . ${upstream}\ncache 30`, tls),
      dnsmasq: { forwardTo: upstream, cacheSize: 10_000 },
      unbound: { forwardTo: upstream, msgCacheSize: '64m' },
    },
    defaultQueries: path.join(QUERIES_DIR, 'outside-names.txt'), generatedQueries: null, cleanup,
  };
}

// ---------------------------------------------------------------------------------------------
// The bench

/**
 * The dnsperf and resperf settings pass through to every run (runDnsperf, runResperf), with the
 * same defaults except `outstanding` over DoH (1: see dnsperfBench); resperf's -C is `resperfClients`.
 */
export interface DnsperfBenchOptions
  extends Pick<DnsperfRunOptions, 'mode' | 'dohUri' | 'dohMethod' | 'duration' | 'clients' | 'threads' | 'outstanding' | 'rate' | 'timeout' | 'statsInterval' | 'edns'>,
    Pick<ResperfRunOptions, 'maxRate' | 'ramp' | 'constant' | 'plotInterval' | 'maxLoss' | 'lossThreshold' | 'fallBehind'> {
  tools?: Tool[];
  /** Default ['kdns1']. */
  targets?: string[];
  /** Target the ratios are taken to; default the first target that is not kdns, else none. */
  baseline?: string;
  profile?: Profile;
  /** A Corefile for the kdns targets instead of a profile's (`{port}` and `{$KDNS_BENCH_PORT}` are the port). */
  corefile?: string;
  /** SERVICESxENDPOINTS for the cluster profile, default 200x2000 (bench/queries/cluster-mix.txt). */
  cluster?: string;
  queries?: string;
  rounds?: number;
  workers?: number;
  /** Seconds of unmeasured dnsperf load (closed loop, same queries) on each fresh server before the measured run: JIT warm-up. Default 0. */
  warmup?: number;
  /** resperf -C sockets, default 1. */
  resperfClients?: number;
  out?: string;
  log?: (line: string) => void;
}

export interface RunRecord {
  round: number;
  target: string;
  tool: Tool;
  ok: boolean;
  error?: string;
  command?: string;
  argv?: string[];
  /** Server CPU (µs) over the tool's run, its process tree; null for an address. */
  serverCpuUs?: number | null;
  toolCpuUs?: number | null;
  dnsperf?: DnsperfStats;
  resperf?: ResperfStats & { plot: ResperfPoint[]; curve: ResperfCurve };
}

export interface TargetSummary {
  target: string;
  tool: Tool;
  ok: number;
  failed: number;
  // dnsperf
  qps?: { median: number; min: number; max: number };
  avgLatencyMs?: number;
  maxLatencyMs?: number;
  stddevLatencyMs?: number | null;
  lossPct?: number;
  interrupted?: number;
  rcodes?: Record<string, number>;
  serverCpuUsPerQuery?: number | null;
  toolCpuUsPerQuery?: number | null;
  // resperf
  maxThroughput?: { median: number; min: number; max: number };
  lossAtMaxPct?: number;
  lossOnsetQps?: number | null;
  lastCleanQps?: number | null;
  cutShort?: string[];
  /** Median over rounds of this ÷ baseline in the same round. */
  vsBaseline?: Record<string, number | null> | null;
}

export interface DnsperfBenchReport {
  startedAt: string;
  machine: { cpus: number; model: string; kernel: string; node: string; dnsperf: string | null };
  config: Record<string, unknown>;
  baseline: string | null;
  summary: TargetSummary[];
  runs: RunRecord[];
  markdown: string;
  outFile: string;
}

function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function toolVersion(): string | null {
  try {
    return /Version (\S+)/.exec(execFileSync(findTool('dnsperf') ?? 'dnsperf', ['-h'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }))?.[1] ?? null;
  } catch (err) {
    const out = String((err as { stdout?: string }).stdout ?? '') + String((err as { stderr?: string }).stderr ?? '');
    return /Version (\S+)/.exec(out)?.[1] ?? null;
  }
}

export async function dnsperfBench(opts: DnsperfBenchOptions = {}): Promise<DnsperfBenchReport> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const missing = dnsperfMissing();
  if (missing) throw new Error(missing);
  const tools = opts.tools ?? ['dnsperf'];
  const targets = opts.targets ?? ['kdns1'];
  const cfg = {
    tools, targets,
    profile: opts.profile ?? 'records',
    corefile: opts.corefile ?? null,
    cluster: opts.cluster ?? `${CLUSTER_MIX.services}x${CLUSTER_MIX.endpoints}`,
    rounds: Math.max(1, Math.min(20, Math.floor(opts.rounds ?? 1))),
    workers: opts.workers ?? os.availableParallelism(),
    mode: opts.mode ?? 'udp',
    duration: Math.min(120, opts.duration ?? 5),
    clients: opts.clients ?? 4,
    threads: opts.threads ?? 1,
    // dnsperf 2.10's DoH client handles one response per connection at a time: more in flight ends
    // it with `_http2_frame_recv_cb: frame received when already having a dns msg`.
    outstanding: opts.outstanding ?? (opts.mode === 'doh' ? 1 : 100),
    rate: opts.rate ?? null,
    timeout: opts.timeout ?? 2,
    statsInterval: opts.statsInterval ?? null,
    edns: opts.edns ?? false,
    warmup: Math.min(30, opts.warmup ?? 0),
    maxRate: opts.maxRate ?? 50_000,
    ramp: Math.min(120, opts.ramp ?? 10),
    constant: Math.min(120, opts.constant ?? 0),
    resperfClients: opts.resperfClients ?? 1,
    plotInterval: opts.plotInterval ?? 0.5,
    maxLoss: opts.maxLoss ?? null,
    lossThreshold: opts.lossThreshold ?? 1,
    fallBehind: opts.fallBehind ?? null,
    queries: '' as string,
  };
  const baseline = opts.baseline ?? targets.find((t) => !/^kdns/.test(t)) ?? null;
  if (baseline && !targets.includes(baseline)) throw new Error(`baseline ${baseline} is not one of the targets`);
  const startedAt = new Date();
  const setup = await setupProfile({ profile: cfg.profile, mode: cfg.mode, workers: cfg.workers, cluster: cfg.cluster, corefile: opts.corefile }, log);
  const runs: RunRecord[] = [];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kdns-dnsperf-q-'));
  try {
    const src = opts.queries ?? setup.defaultQueries;
    cfg.queries = setup.generatedQueries ? '(generated for the cluster)' : path.relative(ROOT, path.resolve(src));
    const { file: qfile, queries } = prepareQueryFile(src, tmp);
    log(`${queries.length} queries from ${cfg.queries}; targets ${targets.join(', ')}; ${tools.join(' + ')}; ${cfg.rounds} round(s)`);
    for (let round = 1; round <= cfg.rounds; round++) {
      // Rotate the order so no target always goes first.
      const order = targets.map((_, i) => targets[(i + round - 1) % targets.length]!);
      for (const name of order) {
        for (const tool of tools) {
          // A fresh server for every measurement (resperf's man page: start each test with an empty cache).
          const rec: RunRecord = { round, target: name, tool, ok: false };
          runs.push(rec);
          let t: StartedTarget | null = null;
          try {
            t = await startTarget(name, setup.env);
            rec.command = t.command;
            if (cfg.warmup > 0) {
              await runDnsperf({ server: t.server, queriesFile: qfile, mode: cfg.mode, duration: cfg.warmup, clients: cfg.clients, outstanding: cfg.outstanding, timeout: cfg.timeout, dohUri: opts.dohUri, dohMethod: opts.dohMethod });
            }
            const cpu0 = t.pid ? processTreeCpuUs(t.pid) : NaN;
            if (tool === 'dnsperf') {
              const r = await runDnsperf({
                server: t.server, queriesFile: qfile, mode: cfg.mode, duration: cfg.duration, clients: cfg.clients, threads: cfg.threads,
                outstanding: cfg.outstanding, rate: cfg.rate ?? undefined, timeout: cfg.timeout, statsInterval: cfg.statsInterval ?? undefined,
                edns: cfg.edns, dohUri: opts.dohUri, dohMethod: opts.dohMethod,
              });
              rec.dnsperf = r.stats;
              rec.argv = r.run.argv.map((a) => (a === qfile ? cfg.queries : a));
              rec.toolCpuUs = r.run.cpuUs;
              log(`round ${round}/${cfg.rounds} ${name} dnsperf: ${r.stats.qps.toFixed(0)} q/s, ${r.stats.lost} lost, avg ${(1000 * (r.stats.latency?.avgS ?? NaN)).toFixed(3)} ms`);
            } else {
              const r = await runResperf({
                server: t.server, queriesFile: qfile, mode: cfg.mode, maxRate: cfg.maxRate, ramp: cfg.ramp, constant: cfg.constant,
                clients: cfg.resperfClients, timeout: cfg.timeout, plotInterval: cfg.plotInterval, maxLoss: cfg.maxLoss ?? undefined,
                lossThreshold: cfg.lossThreshold, fallBehind: cfg.fallBehind ?? undefined, dohUri: opts.dohUri, dohMethod: opts.dohMethod,
              });
              rec.resperf = { ...r.stats, plot: r.plot, curve: r.curve };
              rec.argv = r.run.argv.map((a) => (a === qfile ? cfg.queries : a));
              rec.toolCpuUs = r.run.cpuUs;
              log(`round ${round}/${cfg.rounds} ${name} resperf: max ${r.stats.maxThroughputQps.toFixed(0)} q/s, loss > ${cfg.lossThreshold} % from ${r.curve.lossOnset ? `${r.curve.lossOnset.actualQps.toFixed(0)} q/s` : 'never'}${r.stats.cutShort ? ` (${r.stats.cutShort.detail})` : ''}`);
            }
            const cpu1 = t.pid ? processTreeCpuUs(t.pid) : NaN;
            rec.serverCpuUs = Number.isFinite(cpu1 - cpu0) ? cpu1 - cpu0 : null;
            rec.ok = true;
          } catch (err) {
            rec.error = err instanceof Error ? err.message : String(err);
            log(`round ${round}/${cfg.rounds} ${name} ${tool}: FAILED: ${rec.error}`);
          } finally {
            await t?.stop();
          }
        }
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
    await setup.cleanup();
  }
  const summary = summarize(runs, targets, tools, baseline);
  const machine = { cpus: os.availableParallelism(), model: os.cpus()[0]?.model ?? '?', kernel: os.release(), node: process.version, dnsperf: toolVersion() };
  const outFile = path.resolve(opts.out ?? path.join(ROOT, 'bench', 'out', `dnsperf-${fileTimestamp(startedAt)}.json`));
  const markdown = renderMarkdown(machine, cfg, baseline, summary, runs);
  const report: DnsperfBenchReport = { startedAt: startedAt.toISOString(), machine, config: cfg, baseline, summary, runs, markdown, outFile };
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, JSON.stringify(report, null, 2));
  return report;
}

const perQuery = (us: number | null | undefined, n: number): number => (us === null || us === undefined || !n ? NaN : us / n);

export function summarize(runs: RunRecord[], targets: string[], tools: Tool[], baseline: string | null): TargetSummary[] {
  const out: TargetSummary[] = [];
  for (const tool of tools) {
    for (const target of targets) {
      const mine = runs.filter((r) => r.target === target && r.tool === tool);
      const ok = mine.filter((r) => r.ok);
      const s: TargetSummary = { target, tool, ok: ok.length, failed: mine.length - ok.length };
      const ratio = (f: (r: RunRecord) => number): number | null => {
        if (!baseline || baseline === target) return null;
        const xs = ok.map((r) => {
          const b = runs.find((x) => x.ok && x.tool === tool && x.target === baseline && x.round === r.round);
          return b ? f(r) / f(b) : NaN;
        });
        const m = median(xs);
        return Number.isFinite(m) ? m : null;
      };
      if (tool === 'dnsperf') {
        const d = ok.map((r) => r.dnsperf!);
        const qps = d.map((x) => x.qps);
        const sent = d.reduce((a, x) => a + x.sent, 0);
        const rcodes: Record<string, number> = {};
        for (const x of d) for (const [k, v] of Object.entries(x.rcodes)) rcodes[k] = (rcodes[k] ?? 0) + v;
        Object.assign(s, {
          qps: { median: median(qps), min: Math.min(...qps), max: Math.max(...qps) },
          avgLatencyMs: 1000 * median(d.map((x) => x.latency?.avgS ?? NaN)),
          maxLatencyMs: 1000 * Math.max(...d.map((x) => x.latency?.maxS ?? NaN)),
          stddevLatencyMs: d.some((x) => x.latency?.stddevS != null) ? 1000 * median(d.map((x) => x.latency?.stddevS ?? NaN)) : null,
          lossPct: sent ? (100 * d.reduce((a, x) => a + x.lost, 0)) / sent : NaN,
          interrupted: d.reduce((a, x) => a + x.interrupted, 0),
          rcodes,
          serverCpuUsPerQuery: nullIfNaN(median(ok.map((r) => perQuery(r.serverCpuUs, r.dnsperf!.completed)))),
          toolCpuUsPerQuery: nullIfNaN(median(ok.map((r) => perQuery(r.toolCpuUs, r.dnsperf!.sent)))),
        });
        s.vsBaseline = baseline && baseline !== target ? {
          qps: ratio((r) => r.dnsperf!.qps),
          avgLatency: ratio((r) => r.dnsperf!.latency?.avgS ?? NaN),
          serverCpuPerQuery: ratio((r) => perQuery(r.serverCpuUs, r.dnsperf!.completed)),
        } : null;
      } else {
        const d = ok.map((r) => r.resperf!);
        const mt = d.map((x) => x.maxThroughputQps);
        Object.assign(s, {
          maxThroughput: { median: median(mt), min: Math.min(...mt), max: Math.max(...mt) },
          lossAtMaxPct: median(d.map((x) => x.lossAtMaxPct)),
          lossOnsetQps: nullIfNaN(median(d.map((x) => x.curve.lossOnset?.actualQps ?? NaN))),
          lastCleanQps: nullIfNaN(median(d.map((x) => x.curve.lastCleanQps ?? NaN))),
          cutShort: [...new Set(d.map((x) => x.cutShort?.reason).filter((x): x is 'fell behind' | 'max outstanding' => !!x))],
          serverCpuUsPerQuery: nullIfNaN(median(ok.map((r) => perQuery(r.serverCpuUs, r.resperf!.completed)))),
        });
        s.vsBaseline = baseline && baseline !== target ? {
          maxThroughput: ratio((r) => r.resperf!.maxThroughputQps),
          lossOnset: ratio((r) => r.resperf!.curve.lossOnset?.actualQps ?? NaN),
        } : null;
      }
      out.push(s);
    }
  }
  return out;
}

const nullIfNaN = (x: number): number | null => (Number.isFinite(x) ? x : null);
const f0 = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(0));
const f1 = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(1));
const f3 = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(3));
const fr = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '–' : `${x.toFixed(2)}×`);

const row = (cells: string[]): string => `| ${cells.join(' | ')} |`;

function renderMarkdown(machine: DnsperfBenchReport['machine'], cfg: Record<string, unknown> & { rounds: number; tools: Tool[] }, baseline: string | null, summary: TargetSummary[], runs: RunRecord[]): string {
  const firstError = (target: string, tool: Tool): string => (runs.find((r) => r.target === target && r.tool === tool && !r.ok)?.error ?? '?').replace(/\|/g, '/').slice(0, 120);
  const lines: string[] = [];
  lines.push(`${machine.cpus} × ${machine.model}, ${machine.kernel}, Node ${machine.node}, dnsperf ${machine.dnsperf ?? '?'}. Profile \`${String(cfg.profile)}\`${cfg.corefile ? ` (\`${String(cfg.corefile)}\`)` : ''}, queries \`${String(cfg.queries)}\`, mode ${String(cfg.mode)}, ${cfg.rounds} round(s).`);
  const base = baseline ? ` vs ${baseline}` : '';
  if (cfg.tools.includes('dnsperf')) {
    const open = cfg.rate ? `open loop at ${String(cfg.rate)} q/s (-Q)` : `closed loop, -q ${String(cfg.outstanding)} outstanding`;
    lines.push('', `### dnsperf: ${String(cfg.duration)} s, -c ${String(cfg.clients)} -T ${String(cfg.threads)}, ${open}`, '');
    const head = ['target', 'QPS median (min–max)', ...(baseline ? [`QPS${base}`] : []), 'avg / max latency ms', 'latency stddev ms', 'lost', 'server CPU µs/q', 'dnsperf CPU µs/q', ...(baseline ? [`CPU/q${base}`] : []), 'rcodes'];
    lines.push(row(head), row(head.map(() => '---')));
    for (const s of summary.filter((x) => x.tool === 'dnsperf')) {
      if (!s.ok) {
        lines.push(row([s.target, `failed: ${firstError(s.target, 'dnsperf')}`, ...head.slice(2).map(() => '')]));
        continue;
      }
      const rc = Object.entries(s.rcodes ?? {}).map(([k, v]) => `${k} ${v}`).join(', ');
      const isBase = s.target === baseline;
      lines.push(row([
        s.target, `${f0(s.qps!.median)} (${f0(s.qps!.min)}–${f0(s.qps!.max)})`, ...(baseline ? [isBase ? 'baseline' : fr(s.vsBaseline?.qps)] : []),
        `${f3(s.avgLatencyMs)} / ${f3(s.maxLatencyMs)}`, f3(s.stddevLatencyMs), `${s.lossPct!.toFixed(2)} %`, f1(s.serverCpuUsPerQuery), f1(s.toolCpuUsPerQuery),
        ...(baseline ? [isBase ? 'baseline' : fr(s.vsBaseline?.serverCpuPerQuery)] : []), rc,
      ]));
    }
  }
  if (cfg.tools.includes('resperf')) {
    lines.push('', `### resperf: ramp 0 → ${String(cfg.maxRate)} q/s over ${String(cfg.ramp)} s${cfg.constant ? ` + ${String(cfg.constant)} s constant` : ''}, -C ${String(cfg.resperfClients)}`, '');
    const head = ['target', 'max throughput q/s median (min–max)', ...(baseline ? [`max throughput${base}`] : []), 'lost at max', `loss > ${String(cfg.lossThreshold)} % from (sent q/s)`, 'last clean q/s', 'server CPU µs/q', 'cut short'];
    lines.push(row(head), row(head.map(() => '---')));
    for (const s of summary.filter((x) => x.tool === 'resperf')) {
      if (!s.ok) {
        lines.push(row([s.target, `failed: ${firstError(s.target, 'resperf')}`, ...head.slice(2).map(() => '')]));
        continue;
      }
      lines.push(row([
        s.target, `${f0(s.maxThroughput!.median)} (${f0(s.maxThroughput!.min)}–${f0(s.maxThroughput!.max)})`,
        ...(baseline ? [s.target === baseline ? 'baseline' : fr(s.vsBaseline?.maxThroughput)] : []),
        `${f1(s.lossAtMaxPct)} %`, s.lossOnsetQps === null ? 'never' : f0(s.lossOnsetQps), f0(s.lastCleanQps), f1(s.serverCpuUsPerQuery), s.cutShort?.join(', ') || '–',
      ]));
    }
  }
  if (baseline) lines.push('', `Ratios: per round, target ÷ ${baseline} of the same round, median over rounds.`);
  lines.push('', 'dnsperf/resperf share the 2 cores with the server: read ratios of the same run, not absolute numbers (bench/README.md).');
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// CLI

const USAGE = `usage: node bench/dnsperf.ts [options]
  --tool dnsperf|resperf|both    which tool(s) to run against each target (default dnsperf)
  --targets LIST                 comma list (default kdns1); the first that is not kdns is the baseline:
                                   kdns1, kdns2, ..., kdnsN   kdns started here with -workers 1, 2, ..., N
                                   minimal, minimalN          bench/minimal-responder.ts (1 or N threads)
                                   dnsmasq, unbound1, unboundN Debian's, serving the same data (records, forward profiles)
                                   [LABEL=]HOST:PORT          a server already running (loopback only)
  --baseline NAME                target the ratios are taken to
  --profile records|cluster|forward  what kdns serves (default records):
                                   records  one name from a records block (bench/Corefile.bench); queries cluster-hit.txt
                                   cluster  the synthetic cluster (--cluster, default 200x2000) from manifests; queries cluster-mix.txt
                                   forward  forward + cache 30 to a minimal responder upstream; queries outside-names.txt
  --corefile FILE                kdns config instead of a profile ({port} and {$KDNS_BENCH_PORT} are the port)
  --cluster SxE                  synthetic cluster size for --profile cluster (other sizes generate their own queries)
  --queries FILE                 query file (name TYPE per line; # comments are stripped for dnsperf)
  --rounds N                     interleaved rounds, a fresh server for each run (default 1)
  --warmup SEC                   unmeasured dnsperf load on each fresh server first (JIT warm-up; fills caches too)
  --workers N                    N for kdnsN/minimalN/unboundN (default: cores)
  --mode udp|tcp|dot|doh         transport (dot/doh: kdns gets a tls:// / https:// block and a test certificate)
  --doh-uri URI --doh-method GET|POST
 dnsperf:
  --duration SEC (5)  --clients N (-c, 4)  --threads N (-T, 1)  --outstanding N (-q, 100)
  --rate QPS (-Q, open loop)  --timeout SEC (-t, 2)  --stats-interval SEC (-S)  --edns (-e)
 resperf:
  --max-rate QPS (-m, 50000)  --ramp SEC (-r, 10)  --constant SEC (-c, 0)  --resperf-clients N (-C, 1)
  --plot-interval SEC (-i, 0.5)  --max-loss PCT (-L)  --loss-threshold PCT (1: our "loss from" figure)  --fall-behind N (-F)
  --out FILE                     JSON report (default bench/out/dnsperf-<time>.json)
  --json                         print the JSON report instead of Markdown`;

export async function dnsperfCli(argv: string[] = process.argv.slice(2)): Promise<void> {
  const values = parseCli(
    USAGE,
    Object.fromEntries([
      ...['tool', 'targets', 'baseline', 'profile', 'corefile', 'cluster', 'queries', 'rounds', 'workers', 'mode', 'doh-uri', 'doh-method',
        'duration', 'clients', 'threads', 'outstanding', 'rate', 'timeout', 'stats-interval', 'max-rate', 'ramp', 'constant',
        'resperf-clients', 'plot-interval', 'max-loss', 'loss-threshold', 'fall-behind', 'warmup', 'out'].map((k) => [k, { type: 'string' as const }]),
      ['edns', { type: 'boolean' as const }], ['json', { type: 'boolean' as const }],
    ]),
    { args: argv },
  );
  if (!values) return;
  const v = values as Record<string, string | boolean | undefined>;
  const str = (k: string): string | undefined => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  const num = (k: string): number | undefined => {
    const s = str(k);
    if (s === undefined) return undefined;
    const n = Number(s);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${k}: not a number: ${s}`);
    return n;
  };
  const oneOf = <T extends string>(k: string, allowed: readonly T[]): T | undefined => {
    const s = str(k);
    if (s === undefined) return undefined;
    if (!allowed.includes(s as T)) throw new Error(`--${k} must be one of ${allowed.join(', ')}`);
    return s as T;
  };
  const tool = oneOf('tool', ['dnsperf', 'resperf', 'both'] as const) ?? 'dnsperf';
  const report = await dnsperfBench({
    tools: tool === 'both' ? ['dnsperf', 'resperf'] : [tool],
    targets: str('targets')?.split(',').map((s) => s.trim()).filter(Boolean),
    baseline: str('baseline'),
    profile: oneOf('profile', ['records', 'cluster', 'forward'] as const),
    corefile: str('corefile'),
    cluster: str('cluster'),
    queries: str('queries'),
    rounds: num('rounds'),
    workers: num('workers'),
    mode: oneOf('mode', ['udp', 'tcp', 'dot', 'doh'] as const),
    dohUri: str('doh-uri'),
    dohMethod: oneOf('doh-method', ['GET', 'POST'] as const),
    duration: num('duration'),
    clients: num('clients'),
    threads: num('threads'),
    outstanding: num('outstanding'),
    rate: num('rate'),
    timeout: num('timeout'),
    statsInterval: num('stats-interval'),
    edns: v.edns === true,
    warmup: num('warmup'),
    maxRate: num('max-rate'),
    ramp: num('ramp'),
    constant: num('constant'),
    resperfClients: num('resperf-clients'),
    plotInterval: num('plot-interval'),
    maxLoss: num('max-loss'),
    lossThreshold: num('loss-threshold'),
    fallBehind: num('fall-behind'),
    out: str('out'),
  });
  if (v.json) console.log(JSON.stringify(report, null, 2));
  else console.log(`${report.markdown}\n\nJSON: ${path.relative(process.cwd(), report.outFile)}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  dnsperfCli().catch((err: unknown) => {
    console.error(`dnsperf: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
