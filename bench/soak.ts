// Soak: does kdns's memory stay flat over a long run? kdns serves the demo cluster (manifests),
// forwards everything else to the minimal responder and caches it, with prometheus on, while the
// load generator sends a mix at a fixed rate: cluster hits, cluster misses (the ndots:5 search
// path), cached outside names, and a share of never-seen names (cache misses that also fill the
// cache up to its capacity). RSS is sampled every few seconds.
//
//   node bench/soak.ts [--minutes 5] [--rate 5000] [--workers 1] [--sample 5] [--malloc-arena-max N]
//                      [--cgroup DIR]   (kdns alone in that cgroup; set its memory limit first)
//                      [--inspect-gc]   (each minute a full GC of kdns's primary thread, and its heap after it)
//
// Prints the samples and a least-squares slope of RSS (MiB per minute) over the second half of
// the run (the first half includes warm-up and the cache filling), and the same for the floor of
// each thread's heap in use (per minute, the lowest sample: what collections could not free).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort, waitForDns } from './dnsutil.ts';
import { runLoad } from './loadgen.ts';
import { INSPECTOR_RE, gcOverInspector } from './inspector.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function slope(points: Array<[number, number]>): number {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  const num = points.reduce((s, p) => s + (p[0] - mx) * (p[1] - my), 0);
  const den = points.reduce((s, p) => s + (p[0] - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

/** MiB of V8 heap in use and reserved per thread (primary, each worker), and Buffers, from /metrics. */
async function heapByThread(metricsPort: number): Promise<{ used: Record<string, number>; text: string }> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const one = (re: RegExp): number => Number(re.exec(text)?.[1] ?? NaN) / 2 ** 20;
  const used: Record<string, number> = { primary: one(/^nodejs_heap_size_used_bytes (\S+)$/m) };
  const total: Record<string, number> = { primary: one(/^nodejs_heap_size_total_bytes (\S+)$/m) };
  let external = one(/^nodejs_external_memory_bytes (\S+)$/m);
  for (const m of text.matchAll(/^kdns_worker_heap_used_bytes\{worker="(\d+)"\} (\S+)$/gm)) used[`worker${m[1]}`] = Number(m[2]) / 2 ** 20;
  for (const m of text.matchAll(/^kdns_worker_heap_total_bytes\{worker="(\d+)"\} (\S+)$/gm)) total[`worker${m[1]}`] = Number(m[2]) / 2 ** 20;
  for (const m of text.matchAll(/^kdns_worker_external_memory_bytes\{worker="\d+"\} (\S+)$/gm)) external += Number(m[1]) / 2 ** 20;
  const parts = Object.keys(used).map((k) => `${k} ${used[k]!.toFixed(1)}/${(total[k] ?? NaN).toFixed(1)}`);
  return { used, text: `heap used/reserved MiB: ${parts.join(', ')}; external ${external.toFixed(1)}` };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { minutes: { type: 'string' }, rate: { type: 'string' }, workers: { type: 'string' }, sample: { type: 'string' }, 'malloc-arena-max': { type: 'string' }, cgroup: { type: 'string' }, 'inspect-gc': { type: 'boolean' } } });
  const minutes = Number(values.minutes ?? 5);
  const rate = Number(values.rate ?? 5000);
  const workers = Number(values.workers ?? 1);
  const sampleS = Number(values.sample ?? 5);

  const upstream = spawn(process.execPath, [path.join(ROOT, 'bench', 'minimal-responder.ts'), '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const upPort = await new Promise<number>((resolve) => upstream.stdout!.on('data', (d: Buffer) => {
    const m = /ready (\d+)/.exec(d.toString());
    if (m) resolve(Number(m[1]));
  }));
  const port = await freePort();
  const metrics = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdns-soak-'));
  const corefile = path.join(dir, 'Corefile');
  fs.writeFileSync(corefile, `.:${port} {
    bind 127.0.0.1
    errors
    prometheus 127.0.0.1:${metrics}
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        manifests ${path.join(ROOT, 'demo', 'cluster')}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    forward . 127.0.0.1:${upPort}
    cache 30 {
        success 9984
        denial 9984
    }
    loadbalance
}
`);
  // --inspect-gc: every minute a full collection of the primary thread (over its inspector) and
  // its heap in use right after: exactly what the primary holds, garbage excluded.
  const inspectGc = values['inspect-gc'] === true;
  const kdnsArgs = [...(inspectGc ? ['--inspect=127.0.0.1:0'] : []), path.join(ROOT, 'bin', 'kdns.js'), '-conf', corefile, '-workers', String(workers), '-quiet'];
  // --cgroup DIR: kdns alone runs in that (existing) cgroup, e.g. one with the pod's memory limit.
  // The shell joins it before exec, so Node sizes its heaps from the limit from the start.
  const cgroup = values.cgroup;
  const kdns = spawn(cgroup ? 'sh' : process.execPath, cgroup ? ['-c', `echo $$ > "${cgroup}/cgroup.procs" && exec "$0" "$@"`, process.execPath, ...kdnsArgs] : kdnsArgs, {
    stdio: ['ignore', 'inherit', inspectGc ? 'pipe' : 'inherit'],
    // glibc gives each thread its own malloc arenas; capping them trades a little contention for RSS.
    env: values['malloc-arena-max'] ? { ...process.env, MALLOC_ARENA_MAX: values['malloc-arena-max'] } : process.env,
  });
  let inspector: string | null = null;
  kdns.stderr?.on('data', (d: Buffer) => {
    inspector ??= INSPECTOR_RE.exec(d.toString())?.[1] ?? null;
    if (!/Debugger|inspector|For help/.test(d.toString())) process.stderr.write(d);
  });
  const primaryAfterGc: Array<[number, number]> = [];
  try {
    if (!(await waitForDns({ host: '127.0.0.1', port, family: 4 }, 20_000))) throw new Error('kdns did not start');
    const mix = [
      ...Array.from({ length: 4 }, () => ({ name: 'kubernetes.default.svc.cluster.local', type: 'A' })),
      { name: 'db.demo.svc.cluster.local', type: 'A' },
      { name: 'web.demo.svc.cluster.local', type: 'AAAA' },
      { name: 'example.org.default.svc.cluster.local', type: 'A' },
      { name: 'example.org.svc.cluster.local', type: 'A' },
      ...Array.from({ length: 20 }, (_, i) => ({ name: `host${i}.example.org`, type: 'A' })),
    ];
    const samples: Array<[number, number]> = [];
    // Heap in use per thread (primary + each worker, from /metrics): after each minute, the
    // lowest value seen in it. Garbage comes and goes with collections; what is retained shows
    // as a floor that rises.
    const heapFloors: Array<{ minute: number; floors: Record<string, number> }> = [];
    let window: Record<string, number> = {};
    let windowStart = 0;
    const t0 = Date.now();
    const sampler = setInterval(() => {
      const s: [number, number] = [(Date.now() - t0) / 60_000, rssMiB(kdns.pid!)];
      samples.push(s);
      heapByThread(metrics).then((heaps) => {
        for (const [k, v] of Object.entries(heaps.used)) window[k] = Math.min(window[k] ?? Infinity, v);
        console.log(`${s[0].toFixed(2)} min  RSS ${s[1].toFixed(1)} MiB  ${heaps.text}`);
        if (s[0] - windowStart >= 1) {
          heapFloors.push({ minute: Math.round(s[0]), floors: window });
          window = {};
          windowStart = s[0];
          if (inspectGc && inspector) {
            gcOverInspector(inspector).then((u) => {
              primaryAfterGc.push([s[0], u.heapUsed / 2 ** 20]);
              console.log(`${s[0].toFixed(2)} min  primary heap in use after a full GC: ${(u.heapUsed / 2 ** 20).toFixed(2)} MiB`);
            }, (err: Error) => console.log(`forced GC failed: ${err.message}`));
          }
        }
      }, (err: Error) => console.log(`${s[0].toFixed(2)} min  RSS ${s[1].toFixed(1)} MiB  (scrape failed: ${err.message})`));
    }, sampleS * 1000);
    // Two loads side by side for the whole run: the mix, and never-seen names at a tenth of it.
    const seconds = Math.min(minutes * 60, 120);
    const rounds = Math.ceil((minutes * 60) / seconds);
    let answered = 0;
    let lost = 0;
    for (let i = 0; i < rounds; i++) {
      const [a, b] = await Promise.all([
        runLoad({ server: `127.0.0.1:${port}`, queries: mix, rate: rate * 0.9, duration: seconds, warmup: 0 }),
        runLoad({ server: `127.0.0.1:${port}`, qname: 'soak.example.org', unique: true, rate: rate * 0.1, duration: seconds, warmup: 0 }),
      ]);
      answered += a.answered + b.answered;
      lost += a.timeouts + b.timeouts;
    }
    clearInterval(sampler);
    const second = samples.filter((s) => s[0] >= minutes / 2);
    const threads = Object.keys(heapFloors[0]?.floors ?? {});
    console.log(`\nheap-in-use floor per minute (MiB):\n| minute | ${threads.join(' | ')} |\n|---|${threads.map(() => '---:').join('|')}|`);
    for (const f of heapFloors) console.log(`| ${f.minute} | ${threads.map((t) => (f.floors[t] ?? NaN).toFixed(1)).join(' | ')} |`);
    const lateFloors = heapFloors.filter((f) => f.minute >= minutes / 2);
    if (primaryAfterGc.length > 1) {
      console.log(`primary heap after full GCs: ${primaryAfterGc.map(([, v]) => v.toFixed(2)).join(', ')} MiB; slope ${slope(primaryAfterGc).toFixed(3)} MiB/min`);
    }
    for (const t of threads) {
      console.log(`${t}: heap floor slope over the second half ${slope(lateFloors.map((f) => [f.minute, f.floors[t] ?? NaN])).toFixed(3)} MiB/min`);
    }
    console.log(`\n${answered} answered, ${lost} lost; RSS ${samples[0]?.[1].toFixed(1)} -> ${samples.at(-1)?.[1].toFixed(1)} MiB; ` +
      `slope over the second half ${slope(second).toFixed(2)} MiB/min (${second.length} samples)`);
  } finally {
    kdns.kill('SIGTERM');
    upstream.kill('SIGTERM');
  }
}

main().catch((err: unknown) => {
  console.error(`soak: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
