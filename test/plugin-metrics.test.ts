// Plugin metrics with CoreDNS's names, labels and buckets: cache (coredns_cache_*), forward
// (coredns_proxy_*, coredns_forward_*) and kubernetes (coredns_kubernetes_dns_programming_*,
// kdns_kubernetes_watch_restarts_total). One real CLI with two workers, scraped on /metrics;
// upstreams are fault servers in this process, the cluster is the fake API server.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { endpointSlice, namespace, service, startFakeApiServer, type RunningFakeApiServer } from './fake-apiserver/index.ts';
import type { K8sObject } from './fake-apiserver/resources.ts';
import { TcpConnection, udpQuery } from './helpers/dns-client.ts';
import { type RunningServer, freePort, startServer } from './helpers/server-process.ts';
import { type FaultServer, startFaultServer } from './upstream/fault-server.ts';
import { SlotStore } from '../src/metrics/store.ts';
import { SharedCounter } from '../src/metrics/shared.ts';
import { MetricsWriter } from '../src/metrics/worker.ts';
import { TIME_BUCKETS, exponentialBuckets } from '../src/metrics/buckets.ts';
import { Item, Store } from '../src/plugins/cache/store.ts';
import type { Query } from '../src/dns/query.ts';
import { eventually } from './helpers/eventually.ts';
import { Scrape, scrapeMetrics } from './helpers/scrape.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('plugin metrics (unit)', () => {
  test('sumOf: a series that is the sum of other series\' slots, declared again without change', () => {
    const store = new SlotStore();
    const hits = new SharedCounter(store, { name: 'h_total', help: 'h', labelNames: ['type'] });
    const misses = new SharedCounter(store, { name: 'm_total', help: 'm' });
    const requests = new SharedCounter(store, { name: 'r_total', help: 'r', labelNames: ['z'] });
    const a = hits.series(['success']);
    const b = hits.series(['denial']);
    const c = misses.series();
    requests.sumOf(['.'], [a, b, c]);
    requests.sumOf(['.'], [a, b, c]); // a reload
    assert.equal(store.size, 3, 'no slot of its own');
    const w = new MetricsWriter(store.open());
    w.inc(a);
    w.inc(a);
    w.inc(b);
    w.inc(c);
    assert.deepEqual(requests.get().values, [{ value: 4, labels: { z: '.' } }]);
    assert.throws(() => requests.series(['.']), /sum of other slots/);
    assert.throws(() => hits.sumOf(['success'], [c]), /own slot/);
  });

  test('cache store: adding to a full shard evicts one item and says so', () => {
    const store = new Store(4);
    const item = (key: number): Item => {
      const q = { lower: new Uint8Array([1, 97, 0]), nameLen: 3, qtype: 1, qclass: 1, doBit: false, flags: 0 } as unknown as Query;
      return new Item(q, key, 0, 0, new Uint8Array(0), 0, 0, 0, new Uint16Array(0), 30, 0, false);
    };
    // Keys 256 apart share a shard.
    for (let i = 0; i < 4; i++) assert.equal(store.add(item(7 + 256 * i)), false);
    assert.equal(store.add(item(7)), false, 'replacing an item evicts nothing');
    assert.equal(store.add(item(7 + 256 * 4)), true);
    assert.equal(store.size, 4);
    assert.equal(store.add(item(8)), false, 'another shard has room');
  });

  test('CoreDNS\'s programming-duration buckets: 1 ms doubling 20 times (~17 minutes)', () => {
    const b = exponentialBuckets(0.001, 2, 20);
    assert.equal(b[0], 0.001);
    assert.equal(b[19], 524.288);
  });
});

describe('plugin metrics (real CLI, 2 workers)', () => {
  let kdns: RunningServer;
  let api: RunningFakeApiServer;
  let up1: FaultServer; // fwd.test: durations by rcode, connection reuse
  let up2: FaultServer; // hc.test: health checks
  let up3: FaultServer; // mc.test: max_concurrent
  let metricsPort: number;
  const scrape = (): Promise<Scrape> => scrapeMetrics(metricsPort);
  const server = (): string => `dns://127.0.0.1:${kdns.port}`;

  const slice = (name: string, svc: string, ips: string[], trigger?: Date): K8sObject => {
    const o = endpointSlice({ service: svc, ns: 'prod', name, endpoints: ips.map((ip) => ({ addresses: [ip] })), ports: [{ name: 'p', port: 80 }] });
    if (trigger) o.metadata.annotations = { 'endpoints.kubernetes.io/last-change-trigger-time': trigger.toISOString() };
    return o;
  };

  before(async () => {
    [up1, up2, up3] = await Promise.all([startFaultServer(), startFaultServer(), startFaultServer()]);
    api = await startFakeApiServer({ bookmarkMs: 500 });
    await api.client.bulk([
      namespace('prod'),
      service({ name: 'db', ns: 'prod', clusterIP: 'None', ports: [{ name: 'p', port: 80 }] }),
      slice('db-a', 'db', ['10.244.1.1']),
      service({ name: 'web', ns: 'prod', clusterIP: '10.96.0.50', ports: [{ name: 'p', port: 80 }] }),
      slice('web-a', 'web', ['10.244.2.1']),
    ]);
    metricsPort = await freePort();
    // Only the first block has `prometheus`: plugin metrics are the process's, as in CoreDNS,
    // and counted in every block.
    const corefile = `cache.test:{PORT} {
    bind 127.0.0.1
    prometheus 127.0.0.1:${metricsPort}
    cache 30
    records cache.test {
        www 60 IN A 10.0.0.1
    }
}
stale.test:{PORT} {
    bind 127.0.0.1
    cache 1 {
        serve_stale 1h
    }
    records stale.test {
        www 60 IN A 10.0.0.2
    }
}
fwd.test:{PORT} {
    bind 127.0.0.1
    forward . ${up1.address}
}
hc.test:{PORT} {
    bind 127.0.0.1
    forward . ${up2.address} {
        health_check 1500ms
    }
}
mc.test:{PORT} {
    bind 127.0.0.1
    forward . ${up3.address} {
        max_concurrent 1
    }
}
cluster.local:{PORT} {
    bind 127.0.0.1
    kubernetes cluster.local {
        endpoint ${api.url}
    }
}
`;
    kdns = await startServer(corefile, { workers: 2 });
  });

  after(async () => {
    await kdns?.stop();
    await Promise.all([up1?.stop(), up2?.stop(), up3?.stop(), api?.stop()]);
  });

  test('cache: hits by type, misses, requests = hits + misses, entries, with CoreDNS\'s labels', async () => {
    // One TCP connection is served by one worker, whose cache sees every query.
    const t = new TcpConnection(kdns.port);
    const rcodes: string[] = [];
    for (const [name, type] of [['www', 'A'], ['www', 'A'], ['www', 'A'], ['nope', 'A'], ['nope', 'A'], ['www', 'AAAA']] as const) {
      rcodes.push((await t.query(`${name}.cache.test`, { type })).rcode);
    }
    assert.deepEqual(rcodes, ['NOERROR', 'NOERROR', 'NOERROR', 'NXDOMAIN', 'NXDOMAIN', 'NOERROR']);
    const base = { server: server(), zones: 'cache.test.', view: '' };
    const m = await scrape();
    assert.equal(m.sum('coredns_cache_requests_total', base), 6);
    assert.equal(m.sum('coredns_cache_misses_total', base), 3);
    assert.equal(m.sum('coredns_cache_hits_total', { ...base, type: 'success' }), 2);
    assert.equal(m.sum('coredns_cache_hits_total', { ...base, type: 'denial' }), 1);
    assert.equal(m.sum('coredns_cache_entries', { ...base, type: 'success' }), 1, 'one answer, in one worker');
    assert.equal(m.sum('coredns_cache_entries', { ...base, type: 'denial' }), 2, 'NXDOMAIN and NODATA');
    assert.equal(m.sum('coredns_cache_evictions_total', base), 0);
    assert.equal(m.sum('coredns_cache_drops_total', base), 0);
    assert.deepEqual(m.labelNames('coredns_cache_hits_total'), ['server', 'type', 'zones', 'view']);
    assert.deepEqual(m.labelNames('coredns_cache_entries'), ['server', 'type', 'zones', 'view']);
    assert.deepEqual(m.labelNames('coredns_cache_requests_total'), ['server', 'zones', 'view']);
    assert.deepEqual(m.labelNames('coredns_cache_misses_total'), ['server', 'zones', 'view']);
    assert.equal(m.type('coredns_cache_entries'), 'gauge');
    assert.equal(m.type('coredns_cache_hits_total'), 'counter');
    assert.equal(m.help('coredns_cache_hits_total'), 'The count of cache hits.');

    // serve_stale in a block without `prometheus`: an expired answer is served (a hit, served
    // stale) and refreshed in the background (counted as a prefetch, as CoreDNS does).
    const stale = { server: server(), zones: 'stale.test.', view: '' };
    assert.equal((await t.query('www.stale.test')).answers[0]?.ttl, 1);
    await sleep(1100);
    const r = await t.query('www.stale.test');
    assert.equal(r.answers[0]?.ttl, 0, 'served stale');
    t.close();
    const m2 = await scrape();
    assert.equal(m2.sum('coredns_cache_requests_total', stale), 2);
    assert.equal(m2.sum('coredns_cache_misses_total', stale), 1);
    assert.equal(m2.sum('coredns_cache_hits_total', { ...stale, type: 'success' }), 1);
    assert.equal(m2.sum('coredns_cache_served_stale_total', stale), 1);
    assert.equal(m2.sum('coredns_cache_prefetch_total', stale), 1);
  });

  test('forward: request duration per upstream and rcode, CoreDNS buckets; connection reuse', async () => {
    up1.setRecords('a.fwd.test', [{ type: 'A', ttl: 30, data: '10.1.0.1' }]);
    up1.behave('rcode SERVFAIL', { name: 'sf.fwd.test' });
    const rcodes: string[] = [];
    for (const name of ['a', 'a', 'a', 'nx', 'nx', 'sf']) rcodes.push((await udpQuery(kdns.port, `${name}.fwd.test`)).rcode);
    assert.deepEqual(rcodes, ['NOERROR', 'NOERROR', 'NOERROR', 'NXDOMAIN', 'NXDOMAIN', 'SERVFAIL']);
    const m = await scrape();
    const to = { proxy_name: 'forward', to: up1.address };
    const d = 'coredns_proxy_request_duration_seconds';
    assert.equal(m.sum(`${d}_count`, { ...to, rcode: 'NOERROR' }), 3);
    assert.equal(m.sum(`${d}_count`, { ...to, rcode: 'NXDOMAIN' }), 2);
    assert.equal(m.sum(`${d}_count`, { ...to, rcode: 'SERVFAIL' }), 1);
    assert.equal(m.sum(`${d}_count`, to), 6);
    assert.deepEqual(m.labelNames(`${d}_count`), ['proxy_name', 'to', 'rcode']);
    assert.deepEqual(m.series(`${d}_bucket`, { ...to, rcode: 'NOERROR' }).map((b) => b.labels.le), [...TIME_BUCKETS.map(String), '+Inf']);
    const sum = m.sum(`${d}_sum`, to);
    assert.ok(sum > 0 && sum < 6, `duration sum ${sum}`);
    // Every send went on a socket from the cache (hit) or a new one (miss).
    const hits = m.sum('coredns_proxy_conn_cache_hits_total', { ...to, proto: 'udp' });
    const misses = m.sum('coredns_proxy_conn_cache_misses_total', { ...to, proto: 'udp' });
    assert.equal(hits + misses, 6);
    assert.ok(misses >= 1);
    assert.deepEqual(m.labelNames('coredns_proxy_conn_cache_misses_total'), ['proxy_name', 'to', 'proto']);
  });

  test('forward: a failed health check counted once (by the primary, not per worker); all upstreams down', async () => {
    // Three bad answers mark the upstream down (max_fails 2); the first probe is then lost (1 s
    // timeout: one failure), the next one, 1.5 s after it, is answered.
    up2.behave('malformed no-qr', { name: 'bad.hc.test' });
    up2.behave('drop', { times: 1 }); // the next query of any other name: the first probe (`.`)
    assert.equal((await udpQuery(kdns.port, 'bad.hc.test', { timeoutMs: 3000 })).rcode, 'SERVFAIL');
    await eventually(async () => assert.ok(up2.count('.') >= 1, 'probing'));
    // While it is down every query finds all upstreams down and tries one anyway.
    assert.equal((await udpQuery(kdns.port, 'ok.hc.test')).rcode, 'NXDOMAIN');
    const to = { proxy_name: 'forward', to: up2.address };
    await eventually(async () => assert.equal((await scrape()).sum('coredns_proxy_healthcheck_failures_total', to), 1), 4000);
    await eventually(async () => assert.ok(up2.count('.') >= 2, 'second probe'), 4000);
    await sleep(300);
    const m = await scrape();
    assert.equal(m.sum('coredns_proxy_healthcheck_failures_total', to), 1, 'one failed probe, one count');
    assert.deepEqual(m.labelNames('coredns_proxy_healthcheck_failures_total'), ['proxy_name', 'to']);
    assert.equal(m.sum('coredns_forward_healthcheck_broken_total'), 1);
    assert.equal(m.series('coredns_forward_healthcheck_broken_total')[0]!.labels.le, undefined);
    assert.deepEqual(Object.keys(m.series('coredns_forward_healthcheck_broken_total')[0]!.labels), []);
  });

  test('forward: max_concurrent rejects (REFUSED) are counted across workers', async () => {
    up3.behave('delay 300');
    const replies = await Promise.all(['m1', 'm2', 'm3'].map((n) => udpQuery(kdns.port, `${n}.mc.test`)));
    assert.deepEqual(replies.map((r) => r.rcode).sort(), ['NXDOMAIN', 'REFUSED', 'REFUSED']);
    const m = await scrape();
    assert.equal(m.sum('coredns_forward_max_concurrent_rejects_total'), 2);
    assert.equal(m.help('coredns_forward_max_concurrent_rejects_total'), 'Counter of the number of queries rejected because the concurrent queries were at maximum.');
  });

  test('kubernetes: the objects served, by kind, and the names in its record table', async () => {
    const m = await scrape();
    const kinds = Object.fromEntries(m.series('kdns_kubernetes_objects').map((x) => [x.labels.kind, x.value]));
    assert.deepEqual(kinds, { services: 2, endpointslices: 2, namespaces: 1, pods: 0 });
    // Every table shows its names: the kubernetes table holds the two Services' names at least.
    const names = m.series('kdns_table_names');
    assert.ok(names.length >= 2, 'the records table and the kubernetes table');
    assert.ok(names.some((x) => x.value >= 2), JSON.stringify(names));
  });

  test('kubernetes: DNS programming duration of a headless service from the trigger-time annotation', async () => {
    const m0 = await scrape();
    const h = 'coredns_kubernetes_dns_programming_duration_seconds';
    assert.equal(m0.sum(`${h}_count`), 0, 'the initial list is not measured');
    // The endpoint controller saw the change 1.5 s ago.
    await api.client.apply(slice('db-a', 'db', ['10.244.1.1', '10.244.1.2'], new Date(Date.now() - 1500)));
    // A ClusterIP service's answers do not change with its endpoints: not measured (CoreDNS).
    await api.client.apply(slice('web-a', 'web', ['10.244.2.1', '10.244.2.2'], new Date(Date.now() - 1500)));
    await eventually(async () => {
      const r = await udpQuery(kdns.port, 'db.prod.svc.cluster.local');
      assert.deepEqual(r.answers.map((a) => a.data).sort(), ['10.244.1.1', '10.244.1.2']);
    });
    const m = await eventually(async () => {
      const m = await scrape();
      assert.equal(m.sum(`${h}_count`, { service_kind: 'headless_with_selector' }), 1);
      return m;
    });
    assert.equal(m.sum(`${h}_count`), 1);
    const seconds = m.sum(`${h}_sum`);
    assert.ok(seconds >= 1.5 && seconds < 10, `${seconds} s`);
    assert.deepEqual(m.series(`${h}_bucket`).map((b) => b.labels.le), [...exponentialBuckets(0.001, 2, 20).map(String), '+Inf']);
    assert.equal(m.sum(`${h}_bucket`, { le: '1.024' }), 0);
    assert.equal(m.sum(`${h}_bucket`, { le: '2.048' }) + m.sum(`${h}_bucket`, { le: '4.096' }) > 0, true);
    assert.equal(m.help(h), 'Histogram of the time (in seconds) it took to program a dns instance.');
  });

  test('kubernetes: informer restarts after the API server went away are counted per resource', async () => {
    const r = 'kdns_kubernetes_watch_restarts_total';
    assert.equal((await scrape()).sum(r), 0);
    await api.client.pause('reset');
    await sleep(600);
    await api.client.resume();
    const m = await eventually(async () => {
      const m = await scrape();
      for (const resource of ['namespaces', 'services', 'endpointslices']) assert.ok(m.sum(r, { resource }) >= 1, resource);
      return m;
    });
    assert.equal(m.sum(r, { resource: 'pods' }), 0, 'pods are not watched');
    // And the watches work again.
    await api.client.apply(slice('db-a', 'db', ['10.244.1.3']));
    await eventually(async () => {
      const a = await udpQuery(kdns.port, 'db.prod.svc.cluster.local');
      assert.deepEqual(a.answers.map((x) => x.data), ['10.244.1.3']);
    }, 10_000);
  });
});
