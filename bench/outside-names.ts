// Outside names: kdns (`forward` + `cache`) against Debian's unbound (and dnsmasq, the kube-dns
// stand-in) in front of the same upstream, A/B interleaved in one run.
//
//   node bench/outside-names.ts [--rounds 3] [--duration 5] [--concurrency 32] [--rate 2000]
//       [--targets minimal,kdns1,kdnsN,unbound1,unboundN,dnsmasq] [--workers N] [--out FILE]
//
// Upstream: the minimal responder (bench/minimal-responder.ts), which answers any name with one
// A record (TTL 5), so it is never the bottleneck and every server pays the same to reach it.
// Two query mixes per target and round:
//   hit   100 names cycled; after the warm-up every answer comes from the server's cache
//   miss  a fresh first label per query (loadgen --unique): every query goes upstream
// `minimal` is the floor: the minimal responder itself answering every query (no cache, no
// upstream), what a Node UDP server costs before doing anything.
// Each mix runs closed-loop (capacity: QPS, latency under load, server CPU per query) and
// open-loop at --rate (latency when not saturated). Medians over rounds are printed as a
// Markdown table with ratios to unbound with the same thread count.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort, waitForDns } from './dnsutil.ts';
import { runLoad, type LoadResult } from './loadgen.ts';
import { startDnsmasq, startUnbound, type Daemon } from '../test/helpers/unbound.ts';
import { PRIMARY_ENV, PRIMARY_NODE_FLAGS } from '../bin/node-flags.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const HIT_NAMES = Array.from({ length: 100 }, (_, i) => ({ name: `host${i}.example.org`, type: 'A' }));

interface Target {
  name: string;
  start(upstream: string): Promise<{ port: number; pid: number; stop(): Promise<void> }>;
}

function kdnsTarget(workers: number): Target {
  return {
    name: workers === 1 ? 'kdns1' : `kdns${workers}`,
    async start(upstream) {
      const port = await freePort();
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdns-bench-'));
      const file = path.join(dir, 'Corefile');
      fs.writeFileSync(file, `.:${port} {\n    bind 127.0.0.1\n    forward . ${upstream}\n    cache 30\n}\n`);
      const proc = spawn(process.execPath, [...PRIMARY_NODE_FLAGS, path.join(ROOT, 'bin', 'kdns.js'), '-conf', file, '-workers', String(workers), '-quiet'], { stdio: 'ignore', env: { ...process.env, ...PRIMARY_ENV } });
      if (!(await waitForDns({ host: '127.0.0.1', port, family: 4 }, 15_000, { name: 'ready.example.org', type: 'A' }))) throw new Error('kdns did not start');
      return { port, pid: proc.pid!, stop: () => stopChild(proc) };
    },
  };
}

function daemonTarget(name: string, make: (upstream: string) => Promise<Daemon | { skip: string }>): Target {
  return {
    name,
    async start(upstream) {
      const d = await make(upstream);
      if ('skip' in d) throw new Error(d.skip);
      return { port: d.port, pid: d.pid, stop: () => d.stop() };
    },
  };
}

function stopChild(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null) return resolve();
    proc.once('exit', () => resolve());
    proc.kill('SIGTERM');
    setTimeout(() => proc.kill('SIGKILL'), 3000).unref();
  });
}

async function startMinimal(): Promise<{ port: number; pid: number; stop(): Promise<void> }> {
  const proc = spawn(process.execPath, [path.join(ROOT, 'bench', 'minimal-responder.ts'), '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      const m = /ready (\d+)/.exec(d.toString());
      if (m) resolve(Number(m[1]));
    });
    proc.once('exit', () => reject(new Error('minimal responder exited')));
  });
  return { port, pid: proc.pid!, stop: () => stopChild(proc) };
}

async function startUpstream(): Promise<{ address: string; stop(): Promise<void> }> {
  const m = await startMinimal();
  return { address: `127.0.0.1:${m.port}`, stop: m.stop };
}

interface Row {
  target: string;
  mix: 'hit' | 'miss';
  loop: 'closed' | 'open';
  qps: number;
  p50: number;
  p99: number;
  cpuUsPerQuery: number | null;
  loss: number;
}

function row(target: string, mix: 'hit' | 'miss', loop: 'closed' | 'open', r: LoadResult): Row {
  return { target, mix, loop, qps: r.qps, p50: r.latencyMs.p50, p99: r.latencyMs.p99, cpuUsPerQuery: r.target?.cpuUsPerQuery ?? null, loss: r.loss };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string' }, duration: { type: 'string' }, concurrency: { type: 'string' }, rate: { type: 'string' },
      targets: { type: 'string' }, workers: { type: 'string' }, out: { type: 'string' },
    },
  });
  const rounds = Number(values.rounds ?? 3);
  const duration = Number(values.duration ?? 5);
  const concurrency = Number(values.concurrency ?? 32);
  const rate = Number(values.rate ?? 2000);
  const n = Number(values.workers ?? os.availableParallelism());
  const all: Target[] = [
    { name: 'minimal', start: async () => startMinimal() },
    kdnsTarget(1), kdnsTarget(n),
    daemonTarget('unbound1', (up) => startUnbound({ forwardTo: up, threads: 1, msgCacheSize: '64m' })),
    daemonTarget(`unbound${n}`, (up) => startUnbound({ forwardTo: up, threads: n, msgCacheSize: '64m' })),
    daemonTarget('dnsmasq', (up) => startDnsmasq({ forwardTo: up, cacheSize: 10000 })),
  ];
  const wanted = (values.targets ?? `minimal,kdns1,kdns${n},unbound1,unbound${n},dnsmasq`).split(',');
  const targets = all.filter((t) => wanted.includes(t.name));
  const upstream = await startUpstream();
  const rows: Row[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      // Rotate the order every round so no target always goes first.
      const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
      for (const t of order) {
        const s = await t.start(upstream.address);
        try {
          const server = `127.0.0.1:${s.port}`;
          const base = { server, duration, pid: s.pid, timeoutMs: 1000 };
          rows.push(row(t.name, 'hit', 'closed', await runLoad({ ...base, queries: HIT_NAMES, concurrency })));
          rows.push(row(t.name, 'hit', 'open', await runLoad({ ...base, queries: HIT_NAMES, rate })));
          rows.push(row(t.name, 'miss', 'closed', await runLoad({ ...base, qname: 'example.org', unique: true, concurrency })));
          rows.push(row(t.name, 'miss', 'open', await runLoad({ ...base, qname: 'example.org', unique: true, rate })));
          process.stderr.write(`round ${round + 1}/${rounds} ${t.name}: hit ${rows.at(-4)!.qps.toFixed(0)} q/s, miss ${rows.at(-2)!.qps.toFixed(0)} q/s\n`);
        } finally {
          await s.stop();
        }
      }
    }
  } finally {
    await upstream.stop();
  }

  const summary = targets.flatMap((t) => (['hit', 'miss'] as const).map((mix) => {
    const pick = (loop: 'closed' | 'open') => rows.filter((r) => r.target === t.name && r.mix === mix && r.loop === loop);
    const closed = pick('closed');
    const open = pick('open');
    return {
      target: t.name, mix,
      qps: median(closed.map((r) => r.qps)),
      p50Loaded: median(closed.map((r) => r.p50)), p99Loaded: median(closed.map((r) => r.p99)),
      cpuUsPerQuery: median(closed.map((r) => r.cpuUsPerQuery ?? NaN)),
      p50AtRate: median(open.map((r) => r.p50)), p99AtRate: median(open.map((r) => r.p99)),
      lossAtRate: Math.max(...open.map((r) => r.loss)),
    };
  }));
  const out = values.out ?? path.join(ROOT, 'bench', 'out', `outside-names-${Date.now()}.json`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify({ machine: `${os.cpus()[0]?.model} x${os.availableParallelism()}`, node: process.version, rounds, duration, concurrency, rate, rows, summary }, null, 2));

  const peerOf = (target: string): string => (target === 'kdns1' ? 'unbound1' : target.startsWith('kdns') ? `unbound${target.slice(4)}` : '');
  console.log(`| server | mix | QPS (closed loop, c=${concurrency}) | vs unbound | p50 / p99 ms loaded | CPU µs/query | p50 / p99 ms at ${rate}/s |`);
  console.log('|---|---|---|---|---|---|---|');
  for (const s of summary) {
    const peer = summary.find((p) => p.target === peerOf(s.target) && p.mix === s.mix);
    const ratio = peer ? `${(s.qps / peer.qps).toFixed(2)}x` : '';
    console.log(`| ${s.target} | ${s.mix} | ${s.qps.toFixed(0)} | ${ratio} | ${s.p50Loaded.toFixed(3)} / ${s.p99Loaded.toFixed(3)} | ${s.cpuUsPerQuery.toFixed(1)} | ${s.p50AtRate.toFixed(3)} / ${s.p99AtRate.toFixed(3)} |`);
  }
  console.log(`\nraw results: ${path.relative(ROOT, out)}`);
}

main().catch((err: unknown) => {
  console.error(`outside-names: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
