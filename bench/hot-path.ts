// The JavaScript cost of answering one query, without sockets: a worker thread built as kdns
// builds its workers (same Corefile plan, record tables, plugins, metrics block and young
// generation cap) calls the worker's handle() and observe() on a list of encoded queries, over
// and over, and reports nanoseconds per query. Loopback runs measure the whole server, and the
// kernel's share makes their CPU figures swing by ±10 % run to run; this one isolates the part a
// hot-path change can move, for A/B runs of such a change (run it in each worktree, alternately).
//
//   node bench/hot-path.ts [--mix cluster-only] [--services 1000] [--endpoints 10000] [--seed 1]
//       [--count 10000] [--conf COREFILE] [--rounds 7] [--queries-per-round 500000] [--json]
//       [--client ADDRESS | --client endpoint]
//
// Without --conf the Corefile is the capacity run's (kubeadm's shape: errors, kubernetes over the
// synthetic cluster's manifests, prometheus, forward, cache 30, loadbalance). A query that a
// plugin defers (forwarded) has no answer to measure: those are counted, and more than 1 % of
// them stops the run, since the figure would then leave out their cost.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { parseCorefile } from '../src/corefile/index.ts';
import { buildPlan } from '../src/config/plan.ts';
import { openWorkerBlock } from '../src/metrics/server.ts';
import { WORKER_YOUNG_GENERATION_MB, workerConfigOf } from '../src/server/server.ts';
import { numberArg, parseCli } from './cli-args.ts';
import { encodeQuery } from './dnsutil.ts';
import { NAMED_MIXES, mixQueries, parseMix } from './mix.ts';
import { clusterCorefile } from './peers.ts';
import { syntheticCluster, writeManifests } from './synthetic-cluster.ts';
import type { HotPathInput, HotPathResult } from './hot-path-worker.ts';

const USAGE = `usage: node bench/hot-path.ts [--mix cluster-only] [--services 1000] [--endpoints 10000] [--seed 1]
    [--count 10000] [--conf COREFILE] [--rounds 7] [--queries-per-round 500000] [--json]
    [--client ADDRESS | --client endpoint]
  handle() + observe() of a kdns worker, no sockets: nanoseconds per query (median of rounds).
  --conf   a Corefile of your own (its first server block's first listener is used); the queries
           still come from --mix over the synthetic cluster
  --client the queries' source address (default 127.0.0.1, no pod); \`endpoint\`: the first
           endpoint address of the synthetic cluster (a pod behind a Service, as autopath sees it)`;

async function main(): Promise<void> {
  const v = parseCli(USAGE, {
    mix: { type: 'string', default: 'cluster-only' },
    services: { type: 'string' },
    endpoints: { type: 'string' },
    seed: { type: 'string' },
    count: { type: 'string' },
    conf: { type: 'string' },
    rounds: { type: 'string' },
    'queries-per-round': { type: 'string' },
    json: { type: 'boolean', default: false },
    client: { type: 'string', default: '127.0.0.1' },
  });
  if (!v) return;
  const services = numberArg(v.services) ?? 1000;
  const endpoints = numberArg(v.endpoints) ?? 10 * services;
  const rounds = numberArg(v.rounds) ?? 7;
  const perRound = numberArg(v['queries-per-round']) ?? 500_000;
  const count = numberArg(v.count) ?? 10_000;
  if (rounds < 1 || perRound < 1000) throw new Error('--rounds >= 1 and --queries-per-round >= 1000');

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdns-hot-path-'));
  try {
    const cluster = syntheticCluster({ services, endpoints, seed: numberArg(v.seed) ?? 1 });
    const manifests = path.join(dir, 'manifests');
    writeManifests(cluster, manifests);
    const mix = NAMED_MIXES[v.mix] ?? parseMix(v.mix);
    const { queries } = mixQueries(cluster, mix, { count });
    const client = v.client === 'endpoint' ? cluster.services.find((s) => s.readyAddresses.length > 0)?.readyAddresses[0] ?? '127.0.0.1' : v.client!;
    // No socket is opened: the port and the upstream only have to be well-formed.
    const text = v.conf
      ? fs.readFileSync(v.conf, 'utf8')
      : clusterCorefile({ port: 53, zone: 'cluster.local', upstream: '127.0.0.1:9', metricsPort: 9153, manifests });
    const plan = buildPlan(parseCorefile(text, v.conf ?? '<hot-path>'), { defaultPort: 53 });
    const started = [];
    // The plugins' primary parts log to stdout, as kdns does; with --json stdout is the result's.
    const stdoutWrite = process.stdout.write;
    if (v.json) process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
    try {
      for (const s of plan.servers) for (const p of s.primaries) {
        started.push(p.part);
        await p.part.start?.();
      }
      // A big cluster's table is served while still partial (its Services go in as the event
      // loop turns): measure the complete table, as kdns serves it from then on.
      while ([...plan.tables.values()].some((t) => t.partial)) await new Promise((r) => setTimeout(r, 10));
    } finally {
      process.stdout.write = stdoutWrite;
    }
    try {
      // As DnsServer gives its workers, with worker 0's metrics block; no TCP listener is opened.
      const config = { ...workerConfigOf(plan, { tcp: { maxConnections: 0, idleTimeoutMs: 0 }, testHooks: false }), metrics: openWorkerBlock(0) };
      const wire = queries.map((q, i) => encodeQuery({ name: q.name.replace('{unique}', `u${i}`), type: q.type }).wire);
      const input: HotPathInput = { config, queries: wire, rounds, perRound, client };
      const result = await new Promise<HotPathResult>((resolve, reject) => {
        const w = new Worker(new URL('./hot-path-worker.ts', import.meta.url), { workerData: input, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } });
        w.once('message', (m: HotPathResult | { kind: 'error'; message: string }) => (m.kind === 'error' ? reject(new Error(m.message)) : resolve(m)));
        w.once('error', reject);
        w.once('exit', (code) => reject(new Error(`hot-path worker exited (${code})`)));
      });
      if (v.json) console.log(JSON.stringify(result, null, 2));
      else {
        console.log(`${result.queries} queries (${v.mix}), ${rounds} rounds of ${perRound}: ${result.medianNs.toFixed(0)} ns/query (median; min ${result.minNs.toFixed(0)}; rounds ${result.nsPerQuery.map((x) => x.toFixed(0)).join(', ')})`);
        console.log(`answers ${JSON.stringify(result.rcodes)}; deferred ${result.deferred} per round; ${result.gc.count} GCs, ${result.gc.ms.toFixed(1)} ms`);
      }
    } finally {
      for (const p of started.reverse()) await p.stop?.();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  main().catch((err: unknown) => {
    console.error(`hot-path: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
