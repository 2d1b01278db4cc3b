// kdns inside kubeadm's memory limit (170Mi, the CoreDNS Deployment's): the real CLI with kubeadm's
// plugins, 2 workers, the demo cluster, run alone in a memory cgroup of 170 MiB (bench/cgroup.ts),
// then a bounded burst of queries (cluster hits, search-path misses, cached and never-seen outside
// names that fill the caches). It must size the workers' heaps from the limit, answer every query,
// and stay inside the limit: no OOM kill, still serving afterwards. The long version, with CoreDNS
// beside it, is bench/soak.ts --limit-mib 170 --coredns PATH.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startUpstream } from '../bench/capacity.ts';
import { createMemoryCgroup, memoryCgroupUnavailable } from '../bench/cgroup.ts';
import { runLoad } from '../bench/loadgen.ts';
import { freePort, ROOT, startServer } from './helpers/server-process.ts';
import { udpQuery } from './helpers/dns-client.ts';
import { scrapeMetrics } from './helpers/scrape.ts';

const LIMIT_MIB = 170;
const unavailable = memoryCgroupUnavailable();

test(`kdns serves the demo cluster inside a ${LIMIT_MIB} MiB memory cgroup through a burst of queries`, { skip: unavailable ?? false, timeout: 60_000 }, async () => {
  const upstream = await startUpstream();
  const cgroup = createMemoryCgroup('kdns-test-memory', LIMIT_MIB * 2 ** 20);
  const metrics = await freePort();
  let server: Awaited<ReturnType<typeof startServer>> | null = null;
  try {
    server = await startServer(`.:{PORT} {
    bind 127.0.0.1
    errors
    health 127.0.0.1:0
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        manifests ${join(ROOT, 'demo', 'cluster')}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }
    prometheus 127.0.0.1:${metrics}
    forward . ${upstream.address}
    cache 30
    loop
    loadbalance
}
`, { workers: 2, wrap: cgroup.wrap });
    // The workers' old generation is a share of the limit: 170 / (2 workers + 2) = 42 MiB.
    assert.match(server.stdout(), /2 workers, worker heap limit 42 MiB \(memory limit 170 MiB\)/);
    const port = server.port;
    const mix = [
      { name: 'kubernetes.default.svc.cluster.local', type: 'A' },
      { name: 'db.demo.svc.cluster.local', type: 'A' },
      { name: 'web.demo.svc.cluster.local', type: 'AAAA' },
      { name: 'example.org.default.svc.cluster.local', type: 'A' },
      { name: 'example.org.svc.cluster.local', type: 'A' },
      ...Array.from({ length: 20 }, (_, i) => ({ name: `host${i}.example.org`, type: 'A' })),
    ];
    // 5 s: 3,600 q/s of the mix and 400 q/s of names never seen before (each a cache miss).
    const [a, b] = await Promise.all([
      runLoad({ server: `127.0.0.1:${port}`, queries: mix, rate: 3600, duration: 5, warmup: 0 }),
      runLoad({ server: `127.0.0.1:${port}`, qname: 'burst.example.org', unique: true, rate: 400, duration: 5, warmup: 0 }),
    ]);
    assert.ok(a.answered + b.answered >= 15_000, `answered ${a.answered + b.answered}`);
    assert.equal(a.timeouts + b.timeouts, 0, 'no query lost');
    assert.equal(b.rcodes.NOERROR, b.answered, 'every never-seen name forwarded and answered');
    const stats = cgroup.stats();
    assert.equal(stats.oomKills, 0, 'no OOM kill in the cgroup');
    assert.equal(server.proc.exitCode, null, 'kdns still running');
    assert.ok(stats.usage < LIMIT_MIB * 2 ** 20, `usage ${(stats.usage / 2 ** 20).toFixed(1)} MiB`);
    // Still answering, from the cluster and through the forwarder.
    const r = await udpQuery(port, 'kubernetes.default.svc.cluster.local');
    assert.equal(r.rcode, 'NOERROR');
    assert.deepEqual(r.answers.map((x) => x.data), ['10.96.0.1']);
    // No worker died and was replaced (a worker over its heap limit would be).
    const scrape = await scrapeMetrics(metrics);
    assert.equal(scrape.sum('coredns_panics_total'), 0);
  } finally {
    await server?.stop();
    await upstream.stop();
    cgroup.remove();
  }
});
