// Soak: does a server's memory stay flat, and inside a pod's memory limit, over a long run?
// kdns (and, with --coredns, CoreDNS side by side in the same run) serve a small fixture cluster
// with kubeadm's default Corefile (log, errors, health with lameduck, ready, kubernetes,
// prometheus, forward with max_concurrent, cache 30 with cluster.local disabled, loop, reload,
// loadbalance), forwarding to bench/upstream-responder.ts, while the load generator sends a mix at
// a fixed rate to each: cluster hits and ndots:5 search-path misses (bench/synthetic-cluster.ts's
// mix), cached outside names, and a tenth of never-seen names (cache misses that fill the cache to
// its capacity). RSS, the cgroup's charge and each kdns thread's heap are sampled every few seconds.
//
//   node bench/soak.ts [--minutes 5] [--rate 4000] [--workers 2] [--sample 5]
//       [--limit-mib 170]   (each server alone in a memory cgroup of its own with this limit: kubeadm's)
//       [--cgroup DIR]      (kdns alone in that existing cgroup; set its memory limit first)
//       [--coredns PATH]    (CoreDNS with the same Corefile and load, at the same time)
//       [--source api|manifests] (kdns reads the cluster from the fake API server (default) or manifests)
//       [--services 10 --endpoints 100] [--malloc-arena-max N] [--inspect-gc] [--out FILE]
//
// --inspect-gc: each minute a full GC of kdns's primary thread, and its heap after it.
// Prints the samples, then per server: answered and lost queries, RSS at start/end/max and its
// least-squares slope over the second half (the first half includes warm-up and the caches
// filling), the cgroup's peak and OOM kills; for kdns the floor of each thread's heap in use per
// minute (the lowest sample: what collections could not free). Writes bench/out/soak-<time>.json.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startFakeApiServer, type RunningFakeApiServer } from '../test/fake-apiserver/index.ts';
import { startUpstream } from './capacity.ts';
import { anonMiB, createMemoryCgroup, rssMiB, type MemoryCgroup } from './cgroup.ts';
import { freePort, waitForDns, type QuerySpec } from './dnsutil.ts';
import { INSPECTOR_RE, gcOverInspector } from './inspector.ts';
import { runLoad } from './loadgen.ts';
import { fileTimestamp, machineInfo, sourceState } from './run-info.ts';
import { clusterQueries, syntheticCluster, writeManifests } from './synthetic-cluster.ts';
import { PRIMARY_ENV, PRIMARY_NODE_FLAGS } from '../bin/node-flags.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MiB = 2 ** 20;

export function slope(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  const num = points.reduce((s, p) => s + (p[0] - mx) * (p[1] - my), 0);
  const den = points.reduce((s, p) => s + (p[0] - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

/** kubeadm's default Corefile (../shared/reference/corefile-default) on loopback ports of its own. */
export function kubeadmCorefile(o: { port: number; health: number; ready: number; metrics: number; upstream: string; source: string }): string {
  return `.:${o.port} {
    bind 127.0.0.1
    log
    errors
    health 127.0.0.1:${o.health} {
       lameduck 5s
    }
    ready 127.0.0.1:${o.ready}
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       ${o.source}
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus 127.0.0.1:${o.metrics}
    forward . ${o.upstream} {
       max_concurrent 1000
    }
    cache 30 {
       disable success cluster.local
       disable denial cluster.local
    }
    loop
    reload
    loadbalance
}
`;
}

/** MiB of V8 heap in use and reserved per kdns thread (primary, each worker), and Buffers, from /metrics. */
async function heapByThread(metricsPort: number): Promise<{ used: Record<string, number>; total: Record<string, number>; external: number }> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const one = (re: RegExp): number => Number(re.exec(text)?.[1] ?? NaN) / MiB;
  const used: Record<string, number> = { primary: one(/^nodejs_heap_size_used_bytes (\S+)$/m) };
  const total: Record<string, number> = { primary: one(/^nodejs_heap_size_total_bytes (\S+)$/m) };
  let external = one(/^nodejs_external_memory_bytes (\S+)$/m);
  for (const m of text.matchAll(/^kdns_worker_heap_used_bytes\{worker="(\d+)"\} (\S+)$/gm)) used[`worker${m[1]}`] = Number(m[2]) / MiB;
  for (const m of text.matchAll(/^kdns_worker_heap_total_bytes\{worker="(\d+)"\} (\S+)$/gm)) total[`worker${m[1]}`] = Number(m[2]) / MiB;
  for (const m of text.matchAll(/^kdns_worker_external_memory_bytes\{worker="\d+"\} (\S+)$/gm)) external += Number(m[1]) / MiB;
  return { used, total, external };
}

interface Sample {
  minute: number;
  rss: number;
  /** RssAnon: the process's own memory, without the mapped binary and libraries (page cache). */
  anon: number;
  /** The cgroup's charge, MiB (null without --limit-mib / --cgroup). */
  cgroup: number | null;
  heaps?: string;
}

interface SoakServer {
  name: 'kdns' | 'coredns';
  child: ChildProcess;
  port: number;
  metrics: number;
  cgroup: MemoryCgroup | null;
  samples: Sample[];
  heapFloors: Array<{ minute: number; floors: Record<string, number> }>;
  window: Record<string, number>;
  windowStart: number;
  exitedAt: number | null;
  exitCode: string | null;
  stderr: string;
  answered: number;
  lost: number;
}

export interface SoakSummary {
  name: string;
  answered: number;
  lost: number;
  rssStartMiB: number;
  rssEndMiB: number;
  rssMaxMiB: number;
  rssSlopeSecondHalf: number;
  anonEndMiB: number;
  anonMaxMiB: number;
  cgroupLimitMiB: number | null;
  cgroupPeakMiB: number | null;
  cgroupEndMiB: number | null;
  oomKills: number | null;
  exited: string | null;
  heapFloorSlopes?: Record<string, number>;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string' }, rate: { type: 'string' }, workers: { type: 'string' }, sample: { type: 'string' },
      'malloc-arena-max': { type: 'string' }, cgroup: { type: 'string' }, 'limit-mib': { type: 'string' }, coredns: { type: 'string' },
      source: { type: 'string' }, services: { type: 'string' }, endpoints: { type: 'string' }, 'inspect-gc': { type: 'boolean' }, out: { type: 'string' },
    },
  });
  const minutes = Number(values.minutes ?? 5);
  const rate = Number(values.rate ?? 4000);
  const workers = Number(values.workers ?? 2);
  const sampleS = Number(values.sample ?? 5);
  const limitMiB = values['limit-mib'] !== undefined ? Number(values['limit-mib']) : null;
  const source = values.source ?? 'api';
  if (!(minutes > 0) || !(rate > 0) || !(workers >= 1) || !(sampleS > 0)) throw new Error('--minutes, --rate, --workers and --sample must be positive');
  if (limitMiB !== null && !(limitMiB >= 32)) throw new Error('--limit-mib must be at least 32');
  if (source !== 'api' && source !== 'manifests') throw new Error('--source is api or manifests');
  if (values.cgroup && limitMiB !== null) throw new Error('--cgroup and --limit-mib exclude each other');
  const corednsBin = values.coredns ? path.resolve(values.coredns) : null;
  if (corednsBin && !fs.existsSync(corednsBin)) throw new Error(`--coredns ${corednsBin}: no such file`);

  const cluster = syntheticCluster({ services: Number(values.services ?? 10), endpoints: Number(values.endpoints ?? 100), seed: 1 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdns-soak-'));
  const upstream = await startUpstream();
  let api: RunningFakeApiServer | null = null;
  const servers: SoakServer[] = [];
  const cleanup = async (): Promise<void> => {
    for (const s of servers) if (s.exitedAt === null) s.child.kill('SIGKILL');
    await Promise.all(servers.map((s) => (s.exitedAt === null ? new Promise((r) => s.child.once('exit', r)) : null)));
    for (const s of servers) s.cgroup?.remove();
    await upstream.stop();
    await api?.stop();
  };
  try {
    if (source === 'api' || corednsBin) {
      api = await startFakeApiServer({});
      await api.client.bulk(cluster.objects as never[], { batch: 2000 });
    }
    let manifests = '';
    if (source === 'manifests') {
      manifests = path.join(dir, 'manifests');
      fs.mkdirSync(manifests);
      writeManifests(cluster, manifests);
    }
    const inspectGc = values['inspect-gc'] === true;
    const start = async (name: 'kdns' | 'coredns'): Promise<SoakServer> => {
      const [port, health, ready, metrics] = [await freePort(), await freePort(), await freePort(), await freePort()];
      const file = path.join(dir, `Corefile.${name}`);
      const src = name === 'kdns' && source === 'manifests' ? `manifests ${manifests}` : `endpoint ${api!.url}`;
      fs.writeFileSync(file, kubeadmCorefile({ port, health, ready, metrics, upstream: upstream.address, source: src }));
      const argv = name === 'kdns'
        ? [process.execPath, ...PRIMARY_NODE_FLAGS, ...(inspectGc ? ['--inspect=127.0.0.1:0'] : []), path.join(ROOT, 'bin', 'kdns.js'), '-conf', file, '-workers', String(workers)]
        : [corednsBin!, '-conf', file];
      const cgroup = limitMiB !== null ? createMemoryCgroup(`soak-${name}`, limitMiB * MiB) : null;
      // --cgroup DIR (kdns only): join an existing group the same way.
      const wrapped = cgroup ? cgroup.wrap(argv) : name === 'kdns' && values.cgroup ? ['/bin/sh', '-c', `echo $$ > "${values.cgroup}/cgroup.procs" && exec "$@"`, 'sh', ...argv] : argv;
      const child = spawn(wrapped[0]!, wrapped.slice(1), {
        // `log` writes a line per query: to /dev/null, as a pod's stdout costs the server nothing to keep.
        stdio: ['ignore', 'ignore', 'pipe'],
        // glibc gives each thread its own malloc arenas; capping them trades a little contention for RSS.
        env: { ...process.env, ...(name === 'kdns' ? PRIMARY_ENV : {}), ...(values['malloc-arena-max'] ? { MALLOC_ARENA_MAX: values['malloc-arena-max'] } : {}) },
      });
      const s: SoakServer = {
        name, child, port, metrics, cgroup, samples: [], heapFloors: [], window: {}, windowStart: 0,
        exitedAt: null, exitCode: null, stderr: '', answered: 0, lost: 0,
      };
      child.stderr!.on('data', (d: Buffer) => (s.stderr = (s.stderr + d.toString()).slice(-4000)));
      child.once('exit', (code, sig) => {
        s.exitedAt = Date.now();
        s.exitCode = String(code ?? sig);
      });
      servers.push(s);
      if (!(await waitForDns({ host: '127.0.0.1', port, family: 4 }, 30_000))) throw new Error(`${name} did not start: ${s.stderr.trim().split('\n').at(-1) ?? ''}`);
      return s;
    };
    const kdns = await start('kdns');
    if (corednsBin) await start('coredns');
    let inspector: string | null = inspectGc ? INSPECTOR_RE.exec(kdns.stderr)?.[1] ?? null : null;

    const outside = Array.from({ length: 20 }, (_, i): QuerySpec => ({ name: `host${i}.example.org`, type: 'A' }));
    const mix: QuerySpec[] = [...clusterQueries(cluster, { count: 800 }), ...Array.from({ length: 200 }, (_, i) => outside[i % 20]!)];
    const primaryAfterGc: Array<[number, number]> = [];
    const t0 = Date.now();
    const sampler = setInterval(() => {
      const minute = (Date.now() - t0) / 60_000;
      for (const s of servers) {
        const sample: Sample = { minute, rss: rssMiB(s.child.pid!), anon: anonMiB(s.child.pid!), cgroup: s.cgroup ? s.cgroup.stats().usage / MiB : null };
        s.samples.push(sample);
        const line = (extra: string): void => console.log(`${minute.toFixed(2)} min  ${s.name.padEnd(7)} RSS ${sample.rss.toFixed(1)} MiB (anon ${sample.anon.toFixed(1)})${sample.cgroup !== null ? `  cgroup ${sample.cgroup.toFixed(1)} MiB` : ''}${extra}`);
        if (s.name !== 'kdns' || s.exitedAt !== null) {
          line('');
          continue;
        }
        heapByThread(s.metrics).then((h) => {
          for (const [k, v] of Object.entries(h.used)) s.window[k] = Math.min(s.window[k] ?? Infinity, v);
          sample.heaps = `heap used/reserved MiB: ${Object.keys(h.used).map((k) => `${k} ${h.used[k]!.toFixed(1)}/${(h.total[k] ?? NaN).toFixed(1)}`).join(', ')}; external ${h.external.toFixed(1)}`;
          line(`  ${sample.heaps}`);
          if (minute - s.windowStart >= 1) {
            s.heapFloors.push({ minute: Math.round(minute), floors: s.window });
            s.window = {};
            s.windowStart = minute;
            inspector ??= INSPECTOR_RE.exec(s.stderr)?.[1] ?? null;
            if (inspectGc && inspector) {
              gcOverInspector(inspector).then((u) => {
                primaryAfterGc.push([minute, u.heapUsed / MiB]);
                console.log(`${minute.toFixed(2)} min  kdns primary heap in use after a full GC: ${(u.heapUsed / MiB).toFixed(2)} MiB`);
              }, (err: Error) => console.log(`forced GC failed: ${err.message}`));
            }
          }
        }, (err: Error) => line(`  (scrape failed: ${err.message})`));
      }
    }, sampleS * 1000);

    // Per server, two loads side by side for the whole run: the mix, and never-seen names at a tenth of it.
    const seconds = Math.min(minutes * 60, 120);
    const rounds = Math.ceil((minutes * 60) / seconds);
    for (let i = 0; i < rounds; i++) {
      await Promise.all(servers.map(async (s) => {
        if (s.exitedAt !== null) return;
        const [a, b] = await Promise.all([
          runLoad({ server: `127.0.0.1:${s.port}`, queries: mix, rate: rate * 0.9, duration: seconds, warmup: 0 }),
          runLoad({ server: `127.0.0.1:${s.port}`, qname: 'soak.example.org', unique: true, rate: rate * 0.1, duration: seconds, warmup: 0 }),
        ]);
        s.answered += a.answered + b.answered;
        s.lost += a.timeouts + b.timeouts;
      }));
    }
    clearInterval(sampler);

    const summaries: SoakSummary[] = servers.map((s) => {
      const second = s.samples.filter((x) => x.minute >= minutes / 2 && Number.isFinite(x.rss)).map((x): [number, number] => [x.minute, x.rss]);
      const rss = s.samples.map((x) => x.rss).filter(Number.isFinite);
      const cg = s.cgroup?.stats();
      const late = s.heapFloors.filter((f) => f.minute >= minutes / 2);
      const threads = Object.keys(s.heapFloors[0]?.floors ?? {});
      return {
        name: s.name, answered: s.answered, lost: s.lost,
        rssStartMiB: rss[0] ?? NaN, rssEndMiB: rss.at(-1) ?? NaN, rssMaxMiB: Math.max(...rss), rssSlopeSecondHalf: slope(second),
        anonEndMiB: s.samples.at(-1)?.anon ?? NaN, anonMaxMiB: Math.max(...s.samples.map((x) => x.anon).filter(Number.isFinite)),
        cgroupLimitMiB: limitMiB, cgroupPeakMiB: cg?.peak != null ? cg.peak / MiB : null, cgroupEndMiB: cg ? cg.usage / MiB : null, oomKills: cg ? cg.oomKills : null,
        exited: s.exitedAt === null ? null : `exit ${s.exitCode} after ${((s.exitedAt - t0) / 60_000).toFixed(1)} min`,
        ...(s.name === 'kdns' ? { heapFloorSlopes: Object.fromEntries(threads.map((t) => [t, slope(late.map((f) => [f.minute, f.floors[t] ?? NaN]))])) } : {}),
      };
    });

    if (kdns.heapFloors.length > 0) {
      const threads = Object.keys(kdns.heapFloors[0]!.floors);
      console.log(`\nkdns heap-in-use floor per minute (MiB):\n| minute | ${threads.join(' | ')} |\n|---|${threads.map(() => '---:').join('|')}|`);
      for (const f of kdns.heapFloors) console.log(`| ${f.minute} | ${threads.map((t) => (f.floors[t] ?? NaN).toFixed(1)).join(' | ')} |`);
    }
    if (primaryAfterGc.length > 1) console.log(`kdns primary heap after full GCs: ${primaryAfterGc.map(([, v]) => v.toFixed(2)).join(', ')} MiB; slope ${slope(primaryAfterGc).toFixed(3)} MiB/min`);
    const f1 = (v: number | null): string => (v === null || !Number.isFinite(v) ? '–' : v.toFixed(1));
    console.log(`\n${minutes} min at ${rate} q/s per server, ${workers} kdns workers${limitMiB !== null ? `, each server in a ${limitMiB} MiB memory cgroup` : ''}:\n`);
    console.log('| server | answered | lost | RSS start | RSS end | RSS max | RSS slope, 2nd half (MiB/min) | anon end | anon max | cgroup peak | cgroup end | OOM kills | exited |');
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
    for (const s of summaries) {
      console.log(`| ${s.name} | ${s.answered} | ${s.lost} | ${f1(s.rssStartMiB)} | ${f1(s.rssEndMiB)} | ${f1(s.rssMaxMiB)} | ${s.rssSlopeSecondHalf.toFixed(2)} | ${f1(s.anonEndMiB)} | ${f1(s.anonMaxMiB)} | ${f1(s.cgroupPeakMiB)} | ${f1(s.cgroupEndMiB)} | ${s.oomKills ?? '–'} | ${s.exited ?? 'no'} |`);
    }
    const k = summaries.find((s) => s.name === 'kdns')!;
    const c = summaries.find((s) => s.name === 'coredns');
    if (c) console.log(`\nkdns ÷ CoreDNS: RSS end ${(k.rssEndMiB / c.rssEndMiB).toFixed(2)}x, RSS max ${(k.rssMaxMiB / c.rssMaxMiB).toFixed(2)}x, anon max ${(k.anonMaxMiB / c.anonMaxMiB).toFixed(2)}x${k.cgroupPeakMiB && c.cgroupPeakMiB ? `, cgroup peak ${(k.cgroupPeakMiB / c.cgroupPeakMiB).toFixed(2)}x` : ''}`);
    const out = values.out ?? path.join(ROOT, 'bench', 'out', `soak-${fileTimestamp(new Date())}.json`);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, JSON.stringify({
      machine: machineInfo(), source: sourceState(), options: { minutes, rate, workers, limitMiB, coredns: corednsBin, source },
      summaries, samples: Object.fromEntries(servers.map((s) => [s.name, s.samples])), heapFloors: kdns.heapFloors,
    }, null, 2));
    console.log(`\nwrote ${path.relative(process.cwd(), out)}`);
  } finally {
    await cleanup();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    console.error(`soak: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
