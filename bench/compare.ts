// A/B comparison of kdns against the minimal responder, interleaved in one run.
//
//   node bench/run.ts [--duration 5] [--rounds 3] [--targets minimal,kdns1,kdnsN]
//       [--loadgen-threads 1] [--sockets 16] [--concurrency 32 | --rate QPS] [--warmup 1]
//       [--timeout 1000] [--queries bench/queries/cluster-hit.txt] [--workers N]
//       [--out FILE] [--json]
//
// Targets: minimal (minimal responder, 1 thread), minimalN (N threads),
// kdns1 (kdns -workers 1), kdnsN (kdns -workers N); N = --workers, default = cores.
// Each (round, target) spawns a fresh child on a fresh loopback port, waits until
// it answers a DNS query (15 s cap), runs the load, then kills it. Target order is
// rotated every round so no target always runs first.
//
// Hidden: --kdns-cmd "CMD" replaces the kdns command line (run as `sh -c "exec CMD"`;
// `{port}` and `{workers}` are substituted, env KDNS_BENCH_PORT / KDNS_BENCH_WORKERS
// are set), e.g. --kdns-cmd "node bench/minimal-responder.ts --port {port} --threads {workers}"
// to prove the harness before kdns exists.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { affinity, pinnedArgv } from './cpu-affinity.ts';
import { numberArg, parseCli } from './cli-args.ts';
import { freePort, readQueryFile, waitForDns } from './dnsutil.ts';
import type { QuerySpec } from './dnsutil.ts';
import { mergeHistograms, runLoad, summarize } from './loadgen.ts';
import type { LatencySummaryMs, LoadResult } from './loadgen.ts';
import { fileTimestamp } from './run-info.ts';
import { median } from './stats.ts';
import { PRIMARY_ENV, PRIMARY_NODE_FLAGS } from '../bin/node-flags.js';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH_DIR, '..');

export interface CompareOptions {
  duration?: number;
  rounds?: number;
  targets?: string[];
  loadgenThreads?: number;
  /** UDP sockets per generator thread (default 16). */
  sockets?: number;
  concurrency?: number;
  rate?: number;
  warmup?: number;
  timeoutMs?: number;
  queriesFile?: string;
  /** N for kdnsN / minimalN; default os.availableParallelism(). */
  workers?: number;
  /** Override for the kdns command line (see header). */
  kdnsCmd?: string;
  /** JSON output path; default bench/out/compare-<timestamp>.json. */
  out?: string;
  /** Progress lines go here (default stderr). */
  log?: (line: string) => void;
}

export interface TargetSummary {
  name: string;
  command: string;
  ok: boolean;
  error?: string;
  rounds: number;
  qpsMedian: number;
  qpsMin: number;
  qpsMax: number;
  latencyMs: LatencySummaryMs;
  sent: number;
  answered: number;
  timeouts: number;
  loss: number;
  cpuUsPerQuery: number | null;
  loadgenCpuUsPerQuery: number;
  /** Median over rounds of (this / minimal in the same round); null without minimal. */
  vsMinimal: { qps: number; cpuPerQuery: number | null; p50: number; p99: number } | null;
}

export interface CompareReport {
  startedAt: string;
  machine: { cpus: number; model: string; kernel: string; node: string };
  config: Required<Omit<CompareOptions, 'log' | 'kdnsCmd' | 'out' | 'rate'>> & { rate: number | null; kdnsCmd: string | null };
  summary: TargetSummary[];
  runs: { round: number; target: string; ok: boolean; error?: string; result?: LoadResult }[];
  markdown: string;
  outFile: string;
}

export interface TargetDef {
  name: string;
  /** argv (already substituted) or a shell command when `shell` is set. */
  argv: string[];
  shell: boolean;
  env: Record<string, string>;
  /** A helper (upstream, API server) runs on the generator's cores when pinned; default: a server under test. */
  helper?: boolean;
}

const KNOWN_TARGETS = ['minimal', 'minimalN', 'kdns1', 'kdnsN'];

function targetDef(name: string, port: number, workers: number, kdnsCmd: string | undefined): TargetDef {
  const node = process.execPath;
  const env = { KDNS_BENCH_PORT: String(port) };
  switch (name) {
    case 'minimal':
    case 'minimalN': {
      const threads = name === 'minimal' ? 1 : workers;
      return { name, argv: [node, 'bench/minimal-responder.ts', '--port', String(port), '--threads', String(threads)], shell: false, env };
    }
    case 'kdns1':
    case 'kdnsN': {
      const w = name === 'kdns1' ? 1 : workers;
      if (kdnsCmd) {
        const cmd = kdnsCmd.replaceAll('{port}', String(port)).replaceAll('{workers}', String(w));
        return { name, argv: [cmd], shell: true, env: { ...env, KDNS_BENCH_WORKERS: String(w) } };
      }
      return {
        name,
        argv: [node, ...PRIMARY_NODE_FLAGS, 'bin/kdns.js', '-conf', 'bench/Corefile.bench', '-workers', String(w), '-quiet'],
        shell: false,
        env: { ...env, ...PRIMARY_ENV },
      };
    }
    default:
      throw new Error(`unknown target ${name} (known: ${KNOWN_TARGETS.join(', ')})`);
  }
}

function describe(t: TargetDef): string {
  return t.shell ? t.argv[0]! : t.argv.map((a) => (a === process.execPath ? 'node' : a)).join(' ');
}

export interface Running {
  child: ChildProcess;
  exited: Promise<number | string>;
  hasExited: () => boolean;
  stderrTail: () => string;
}

export function startTarget(t: TargetDef): Running {
  const env: NodeJS.ProcessEnv = { ...process.env, ...t.env };
  // Make sure `node` in a --kdns-cmd means this Node (24), not an older system one.
  env.PATH = `${path.dirname(process.execPath)}${path.delimiter}${env.PATH ?? ''}`;
  const argv = pinnedArgv(t.helper ? affinity.generator : affinity.server, t.shell ? ['/bin/sh', '-c', `exec ${t.argv[0]}`] : t.argv);
  const child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (d: Buffer): void => {
    tail = (tail + d.toString()).slice(-2000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let done = false;
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, sig) => {
      done = true;
      resolve(code ?? sig ?? -1);
    });
    child.once('error', (err) => {
      done = true;
      tail += `\n${err.message}`;
      resolve(-1);
    });
  });
  return { child, exited, hasExited: () => done, stderrTail: () => tail.trim() };
}

export async function stopTarget(r: Running): Promise<void> {
  if (r.hasExited()) return;
  r.child.kill('SIGTERM');
  const t = setTimeout(() => {
    if (!r.hasExited()) r.child.kill('SIGKILL');
  }, 3000);
  await r.exited;
  clearTimeout(t);
}

/** The most telling line of a failed child's output: the first `...Error...` line, else the last line. */
export function errorHint(tail: string): string {
  const lines = tail.split('\n').map((l) => l.trim()).filter(Boolean);
  if (lines.length === 0) return '';
  return `: ${lines.find((l) => /error/i.test(l)) ?? lines[lines.length - 1]}`;
}

const r2 = (x: number): number => Math.round(x * 100) / 100;

function fmtRatio(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '–' : `${x.toFixed(2)}×`;
}

export async function compare(opts: CompareOptions = {}): Promise<CompareReport> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const cores = os.availableParallelism();
  const cfg = {
    duration: Math.min(120, opts.duration ?? 5),
    rounds: Math.max(1, Math.min(20, opts.rounds ?? 3)),
    targets: opts.targets ?? ['minimal', 'kdns1', 'kdnsN'],
    loadgenThreads: opts.loadgenThreads ?? 1,
    sockets: opts.sockets ?? 16,
    concurrency: opts.concurrency ?? 32,
    rate: opts.rate && opts.rate > 0 ? opts.rate : null,
    warmup: opts.warmup ?? 1,
    timeoutMs: opts.timeoutMs ?? 1000,
    queriesFile: path.resolve(opts.queriesFile ?? path.join(BENCH_DIR, 'queries', 'cluster-hit.txt')),
    workers: opts.workers ?? cores,
    kdnsCmd: opts.kdnsCmd ?? null,
  };
  for (const t of cfg.targets) if (!KNOWN_TARGETS.includes(t)) throw new Error(`unknown target ${t} (known: ${KNOWN_TARGETS.join(', ')})`);
  const queries: QuerySpec[] = readQueryFile(cfg.queriesFile);
  const startedAt = new Date();

  let current: Running | undefined;
  const onSignal = (): void => {
    if (current) current.child.kill('SIGKILL');
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const runs: CompareReport['runs'] = [];
  const failed = new Map<string, string>();
  const commands = new Map<string, string>();
  try {
    for (let round = 1; round <= cfg.rounds; round++) {
      const k = (round - 1) % cfg.targets.length;
      const order = [...cfg.targets.slice(k), ...cfg.targets.slice(0, k)];
      for (const name of order) {
        if (failed.has(name)) continue;
        const port = await freePort();
        const def = targetDef(name, port, cfg.workers, cfg.kdnsCmd ?? undefined);
        commands.set(name, describe(def).replaceAll(String(port), '{port}'));
        log(`round ${round}/${cfg.rounds}  ${name}: ${describe(def)}`);
        if (!def.shell && def.argv.includes('bin/kdns.js') && !fs.existsSync(path.join(ROOT, 'bin', 'kdns.js'))) {
          const msg = 'bin/kdns.js not found (kdns not built yet?)';
          log(`  FAILED: ${msg}`);
          runs.push({ round, target: name, ok: false, error: msg });
          failed.set(name, msg);
          continue;
        }
        const running = startTarget(def);
        current = running;
        try {
          const abort = { aborted: false };
          void running.exited.then(() => (abort.aborted = true));
          const ready = await waitForDns({ host: '127.0.0.1', port, family: 4 }, 15_000, queries[0], abort);
          if (!ready) {
            const why = running.hasExited() ? `exited (${await running.exited})` : 'not answering after 15 s';
            throw new Error(`${why}${errorHint(running.stderrTail())}`);
          }
          const result = await runLoad({
            server: `127.0.0.1:${port}`,
            threads: cfg.loadgenThreads,
            sockets: cfg.sockets,
            duration: cfg.duration,
            concurrency: cfg.concurrency,
            rate: cfg.rate ?? undefined,
            warmup: cfg.warmup,
            timeoutMs: cfg.timeoutMs,
            queries,
            pid: running.child.pid,
          });
          if (running.hasExited()) throw new Error(`exited during the run${errorHint(running.stderrTail())}`);
          runs.push({ round, target: name, ok: true, result });
          const l = result.latencyMs;
          log(
            `  qps ${result.qps}  p50 ${l.p50} p99 ${l.p99} ms  loss ${(result.loss * 100).toFixed(3)}%  cpu ${result.target?.cpuUsPerQuery ?? '–'} µs/q  (loadgen ${result.loadgen.cpuUsPerQuery} µs/q)`,
          );
        } catch (err) {
          const msg = err instanceof Error ? err.message : String(err);
          log(`  FAILED: ${msg}`);
          runs.push({ round, target: name, ok: false, error: msg });
          failed.set(name, msg);
        } finally {
          await stopTarget(running);
          current = undefined;
        }
        await new Promise((r) => setTimeout(r, 300));
      }
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  const summary = cfg.targets.map((name) => summarizeTarget(name, commands.get(name) ?? '', runs, failed.get(name)));
  const outFile = path.resolve(opts.out ?? path.join(BENCH_DIR, 'out', `compare-${fileTimestamp(startedAt)}.json`));
  const machine = {
    cpus: cores,
    model: os.cpus()[0]?.model ?? 'unknown',
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
  };
  const markdown = renderMarkdown(machine, cfg, summary, runs);
  const report: CompareReport = { startedAt: startedAt.toISOString(), machine, config: cfg, summary, runs, markdown, outFile };
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, JSON.stringify(report, null, 2));
  return report;
}

function summarizeTarget(name: string, command: string, runs: CompareReport['runs'], error: string | undefined): TargetSummary {
  const mine = runs.filter((r) => r.target === name && r.ok && r.result).map((r) => ({ round: r.round, res: r.result! }));
  const base = runs.filter((r) => r.target === 'minimal' && r.ok && r.result);
  const h = mergeHistograms(mine.map((m) => m.res.histogram));
  const latencyMs = summarize(h);
  h.destroy();
  const qps = mine.map((m) => m.res.qps);
  const sent = mine.reduce((a, m) => a + m.res.sent, 0);
  const answered = mine.reduce((a, m) => a + m.res.answered, 0);
  const timeouts = mine.reduce((a, m) => a + m.res.timeouts, 0);
  const cpu = mine.every((m) => m.res.target) ? mine.reduce((a, m) => a + m.res.target!.cpuUs, 0) : NaN;
  const lgCpu = mine.reduce((a, m) => a + m.res.loadgen.cpuUs, 0);

  let vsMinimal: TargetSummary['vsMinimal'] = null;
  if (base.length > 0 && mine.length > 0) {
    const paired = (f: (r: LoadResult) => number | null): number | null => {
      const ratios: number[] = [];
      for (const m of mine) {
        const b = base.find((x) => x.round === m.round)?.result;
        if (!b) continue;
        const num = f(m.res);
        const den = f(b);
        if (num !== null && den !== null && den > 0) ratios.push(num / den);
      }
      return ratios.length ? r2(median(ratios)) : null;
    };
    vsMinimal = {
      qps: paired((r) => r.qps) ?? NaN,
      cpuPerQuery: paired((r) => r.target?.cpuUsPerQuery ?? null),
      p50: paired((r) => r.latencyMs.p50) ?? NaN,
      p99: paired((r) => r.latencyMs.p99) ?? NaN,
    };
  }
  return {
    name,
    command,
    ok: mine.length > 0,
    ...(error !== undefined ? { error } : {}),
    rounds: mine.length,
    qpsMedian: Math.round(median(qps) || 0),
    qpsMin: qps.length ? Math.min(...qps) : 0,
    qpsMax: qps.length ? Math.max(...qps) : 0,
    latencyMs,
    sent,
    answered,
    timeouts,
    loss: sent > 0 ? timeouts / sent : 0,
    cpuUsPerQuery: answered > 0 && Number.isFinite(cpu) ? r2(cpu / answered) : null,
    loadgenCpuUsPerQuery: answered > 0 ? r2(lgCpu / answered) : 0,
    vsMinimal,
  };
}

function renderMarkdown(
  machine: CompareReport['machine'],
  cfg: CompareReport['config'],
  summary: TargetSummary[],
  runs: CompareReport['runs'],
): string {
  const load = cfg.rate
    ? `open loop, ${cfg.rate} qps offered`
    : `closed loop, ${cfg.concurrency} outstanding per loadgen thread`;
  const gen = `${cfg.loadgenThreads} loadgen thread(s) × ${cfg.sockets} sockets`;
  const lines = [
    `### kdns bench: ${load}`,
    '',
    `${machine.cpus} × ${machine.model}, ${machine.kernel}, Node ${machine.node}. ${cfg.rounds} interleaved round(s) × ${cfg.duration} s per target (+${cfg.warmup} s warmup), ${gen}, queries \`${path.relative(ROOT, cfg.queriesFile)}\`, N = ${cfg.workers}.`,
    '',
    '| target | QPS (median, min–max) | p50 ms | p90 ms | p99 ms | p99.9 ms | loss | CPU µs/query | loadgen µs/query |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const s of summary) {
    if (!s.ok) {
      lines.push(`| ${s.name} | failed: ${(s.error ?? '').replaceAll('|', '\\|').slice(0, 120)} | | | | | | | |`);
      continue;
    }
    const l = s.latencyMs;
    lines.push(
      `| ${s.name} | ${s.qpsMedian} (${s.qpsMin}–${s.qpsMax}) | ${l.p50} | ${l.p90} | ${l.p99} | ${l.p999} | ${(s.loss * 100).toFixed(3)}% | ${s.cpuUsPerQuery ?? '–'} | ${s.loadgenCpuUsPerQuery} |`,
    );
  }
  const withBase = summary.filter((s) => s.ok && s.vsMinimal);
  lines.push('');
  if (withBase.length > 0) {
    lines.push('Ratio to `minimal` (median of per-round ratios, same run):', '');
    lines.push('| target | QPS × | CPU/query × | p50 × | p99 × |', '|---|---:|---:|---:|---:|');
    for (const s of withBase) {
      const v = s.vsMinimal!;
      lines.push(`| ${s.name} | ${fmtRatio(v.qps)} | ${fmtRatio(v.cpuPerQuery)} | ${fmtRatio(v.p50)} | ${fmtRatio(v.p99)} |`);
    }
  } else {
    lines.push('_No ratios: `minimal` was not measured in this run._');
  }
  const lagging = runs.filter((r) => r.result?.generatorLag).map((r) => `${r.target}#${r.round}`);
  if (lagging.length) lines.push('', `**Warning:** the generator could not sustain the offered rate in ${lagging.join(', ')}.`);
  lines.push('', 'Commands:', '');
  for (const s of summary) lines.push(`- ${s.name}: \`${s.command}\``);
  return lines.join('\n');
}

const USAGE = `usage: node bench/run.ts [options]      (npm run bench -- [options])
  --duration SEC         measured seconds per target per round (default 5)
  --rounds N             interleaved rounds (default 3)
  --targets LIST         comma list of minimal,minimalN,kdns1,kdnsN (default minimal,kdns1,kdnsN)
  --workers N            N for kdnsN/minimalN (default: cores)
  --loadgen-threads N    generator threads (default 1)
  --sockets N            UDP sockets (source ports) per generator thread (default 16)
  --concurrency N        closed loop: outstanding queries per generator thread (default 32)
  --rate QPS             open loop at a fixed offered rate (for CPU µs/query comparisons)
  --warmup SEC           unmeasured warmup per run (default 1)
  --timeout MS           query timeout (default 1000)
  --queries FILE         dnsperf query file (default bench/queries/cluster-hit.txt)
  --out FILE             JSON report path (default bench/out/compare-<time>.json)
  --json                 print the JSON report instead of markdown`;

export async function compareCli(argv: string[] = process.argv.slice(2)): Promise<void> {
  const values = parseCli(
    USAGE,
    {
      duration: { type: 'string' },
      rounds: { type: 'string' },
      targets: { type: 'string' },
      workers: { type: 'string' },
      'loadgen-threads': { type: 'string' },
      sockets: { type: 'string' },
      concurrency: { type: 'string' },
      rate: { type: 'string' },
      warmup: { type: 'string' },
      timeout: { type: 'string' },
      queries: { type: 'string' },
      out: { type: 'string' },
      'kdns-cmd': { type: 'string' },
      json: { type: 'boolean' },
    },
    { args: argv },
  );
  if (!values) return;
  const report = await compare({
    duration: numberArg(values.duration),
    rounds: numberArg(values.rounds),
    targets: values.targets?.split(',').map((s) => s.trim()).filter(Boolean),
    workers: numberArg(values.workers),
    loadgenThreads: numberArg(values['loadgen-threads']),
    sockets: numberArg(values.sockets),
    concurrency: numberArg(values.concurrency),
    rate: numberArg(values.rate),
    warmup: numberArg(values.warmup),
    timeoutMs: numberArg(values.timeout),
    queriesFile: values.queries,
    out: values.out,
    kdnsCmd: values['kdns-cmd'],
  });
  if (values.json) console.log(JSON.stringify(report, null, 2));
  else console.log(`${report.markdown}\n\nJSON: ${path.relative(process.cwd(), report.outFile)}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  compareCli().catch((err: unknown) => {
    console.error(`compare: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
