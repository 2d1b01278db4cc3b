// `prometheus`: CoreDNS's metric names, labels and buckets on /metrics, counted by the workers in
// their own shared blocks and summed by the primary at scrape time, also across a worker crash.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { TcpConnection, encodeQuery, udpQuery, udpRaw } from './helpers/dns-client.ts';
import { decodeReply } from './helpers/decode.ts';
import { type RunningServer, freePort, runCli, startServer } from './helpers/server-process.ts';
import { runLoad } from '../bench/loadgen.ts';
import { parseCorefile } from '../src/corefile/index.ts';
import { buildPlan } from '../src/config/plan.ts';
import { SlotStore } from '../src/metrics/store.ts';
import { SharedCounter, SharedGauge, SharedHistogram } from '../src/metrics/shared.ts';
import { MetricsWriter } from '../src/metrics/worker.ts';
import { TIME_BUCKETS } from '../src/metrics/buckets.ts';
import { isIPv6 } from '../src/plugins/prometheus/labels.ts';
import { Scrape } from './helpers/scrape.ts';

async function scrape(port: number): Promise<Scrape> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return new Scrape(await res.text());
}

describe('metrics blocks (unit)', () => {
  test('live blocks are summed; a closed block keeps its counts and drops its gauges', () => {
    const store = new SlotStore();
    const c = new SharedCounter(store, { name: 'c_total', help: 'c', labelNames: ['k'] });
    const g = new SharedGauge(store, { name: 'g', help: 'g' });
    const a = c.series(['a']);
    const b = c.series(['b']);
    assert.equal(c.series({ k: 'a' }), a, 'the same label set is the same slot');
    const gs = g.series();
    const w1 = new MetricsWriter(store.open());
    const w2block = store.open();
    const w2 = new MetricsWriter(w2block);
    w1.inc(a);
    w1.add(b, 5);
    w2.inc(a);
    w1.set(gs, 10);
    w2.set(gs, 7);
    c.inc(a, 100); // the primary counts too
    assert.equal(store.read(a), 102);
    assert.equal(store.read(gs), 17);
    store.close(w2block);
    store.close(w2block); // twice: no double count
    assert.equal(store.read(a), 102, 'a gone worker\'s counts stay');
    assert.equal(store.read(b), 5);
    assert.equal(store.read(gs), 10, 'a gone worker\'s gauge goes');
    const w3 = new MetricsWriter(store.open()); // its replacement starts from zero and adds
    w3.inc(a);
    assert.equal(store.read(a), 103);
    assert.equal(store.liveBlocks, 2);
    const out = c.get().values.map((v) => [v.labels.k, v.value]);
    assert.deepEqual(out, [['a', 103], ['b', 5]]);
  });

  test('grids: row-major slots, the last label fastest; zero series hidden, label-less shown', () => {
    const store = new SlotStore();
    const c = new SharedCounter(store, { name: 'x_total', help: 'x', labelNames: ['a', 'b'] });
    const grid = c.grid([['a1', 'a2'], ['b1', 'b2', 'b3']]);
    assert.deepEqual(grid.strides, [3, 1]);
    assert.deepEqual(c.grid([['a1', 'a2'], ['b1', 'b2', 'b3']]), grid, 'declared again (a reload): same slots');
    const w = new MetricsWriter(store.open());
    w.inc(grid.base + 1 * 3 + 2);
    assert.deepEqual(c.get().values, [{ value: 1, labels: { a: 'a2', b: 'b3' } }]);
    // A series declared by a grid and separately shows once, with both slots summed.
    w.inc(c.series(['a2', 'b3']));
    assert.deepEqual(c.get().values, [{ value: 2, labels: { a: 'a2', b: 'b3' } }]);
    const plain = new SharedCounter(store, { name: 'y_total', help: 'y' });
    plain.series();
    assert.deepEqual(plain.get().values, [{ value: 0, labels: {} }]);
  });

  test('histograms: per-bucket slots become cumulative buckets, sum and count', () => {
    const store = new SlotStore();
    const h = new SharedHistogram(store, { name: 'h_seconds', help: 'h', labelNames: ['z'], buckets: [0.1, 1] });
    const s = h.series(['z1']);
    const w1 = new MetricsWriter(store.open());
    const w2 = new MetricsWriter(store.open());
    w1.observe(s, h.buckets, 0.05);
    w1.observe(s, h.buckets, 0.1); // le is inclusive
    w2.observe(s, h.buckets, 0.5);
    w2.observe(s, h.buckets, 7);
    const v = h.get().values.map((x) => [x.metricName, x.labels.le ?? '', x.value]);
    assert.deepEqual(v, [
      ['h_seconds_bucket', '0.1', 2], ['h_seconds_bucket', '1', 3], ['h_seconds_bucket', '+Inf', 4],
      ['h_seconds_sum', '', 7.65], ['h_seconds_count', '', 4],
    ]);
  });

  test('CoreDNS time buckets: 0.25 ms doubling, 16 of them; IPv4-mapped clients are family 1', () => {
    assert.equal(TIME_BUCKETS.length, 16);
    assert.equal(TIME_BUCKETS[0], 0.00025);
    assert.equal(TIME_BUCKETS[15], 8.192);
    assert.equal(isIPv6('127.0.0.1'), false);
    assert.equal(isIPv6('::ffff:127.0.0.1'), false);
    assert.equal(isIPv6('::1'), true);
    assert.equal(isIPv6('fd00::1'), true);
  });
});

describe('prometheus configuration', () => {
  const plan = (body: string): void => {
    buildPlan(parseCorefile(`.:1053 {\n    ${body}\n}\n`, 'Corefile'), { defaultPort: 53 });
  };
  test('errors point at the token', () => {
    assert.throws(() => plan('prometheus :9153 :9154'), /Corefile:2:\d+: too many arguments for prometheus/);
    assert.throws(() => plan('prometheus 9153'), /'9153' is not a listen address/);
    assert.throws(() => plan('prometheus {\n        tls a b\n    }'), /unknown option 'tls' for prometheus/);
    assert.throws(() => plan('prometheus\n    prometheus :9154'), /plugin 'prometheus' is given twice/);
    plan('prometheus');
    plan('prometheus [::1]:9153');
  });
});

describe('prometheus (real CLI, 2 workers)', () => {
  let s: RunningServer;
  let metricsPort: number;
  let port2: number;
  let port3: number;
  let port4: number;
  const server1 = (): string => `dns://127.0.0.1:${s.port}`;

  before(async () => {
    metricsPort = await freePort();
    port2 = await freePort();
    port3 = await freePort();
    port4 = await freePort();
    const corefile = `.:{PORT} {
    bind 127.0.0.1
    prometheus 127.0.0.1:${metricsPort}
    records example.test {
        www 60 IN A 10.0.0.1
        www 60 IN AAAA fd00::1
        txt 60 IN TXT "hello"
    }
    whoami
}
.:${port2} {
    bind 127.0.0.1
    prometheus 127.0.0.1:${metricsPort}
    whoami
}
.:${port3} {
    bind 127.0.0.1
    whoami
}
.:${port4} {
    bind 127.0.0.1
    prometheus 127.0.0.1:${metricsPort}
    records example.test {
        www 60 IN A 10.0.0.1
    }
}
`;
    s = await startServer(corefile, { workers: 2, env: { KDNS_TEST_HOOKS: '1' } });
  });
  after(async () => {
    assert.equal(await s.stop(), 0);
  });

  const queries = async (): Promise<void> => {
    const udp: Array<Promise<unknown>> = [];
    for (let i = 0; i < 6; i++) udp.push(udpQuery(s.port, 'www.example.test'));
    for (let i = 0; i < 4; i++) udp.push(udpQuery(s.port, 'www.example.test', { type: 'AAAA' }));
    for (let i = 0; i < 3; i++) udp.push(udpQuery(s.port, 'nope.example.test'));
    for (let i = 0; i < 2; i++) udp.push(udpQuery(s.port, 'txt.example.test', { type: 'TXT', edns: { do: true } }));
    udp.push(udpQuery(s.port, 'www.example.test', { type: 'HINFO' }));
    for (let i = 0; i < 3; i++) udp.push(udpQuery(port2, 'who.example'));
    for (let i = 0; i < 4; i++) udp.push(udpQuery(port3, 'who.example'));
    for (let i = 0; i < 2; i++) udp.push(udpQuery(port4, 'outside.test'));
    const replies = await Promise.all(udp);
    assert.equal(replies.length, 25);
    // TCP: several connections, so both workers are likely to take some.
    for (let c = 0; c < 5; c++) {
      const t = new TcpConnection(s.port);
      assert.equal((await t.query('www.example.test')).rcode, 'NOERROR');
      t.close();
    }
  };

  test('exact counts of known queries, summed over the workers, with CoreDNS names and labels', async () => {
    await queries();
    const m = await scrape(metricsPort);
    const base = { server: server1(), zone: '.', view: '' };
    const req = 'coredns_dns_requests_total';
    assert.equal(m.sum(req, { ...base, proto: 'udp', family: '1', type: 'A' }), 9);
    assert.equal(m.sum(req, { ...base, proto: 'udp', family: '1', type: 'AAAA' }), 4);
    assert.equal(m.sum(req, { ...base, proto: 'udp', family: '1', type: 'TXT' }), 2);
    assert.equal(m.sum(req, { ...base, proto: 'udp', family: '1', type: 'other' }), 1, 'HINFO is "other"');
    assert.equal(m.sum(req, { ...base, proto: 'tcp', family: '1', type: 'A' }), 5);
    assert.equal(m.sum(req, { server: server1() }), 21);
    assert.deepEqual(Object.keys(m.series(req)[0]!.labels), ['server', 'zone', 'view', 'proto', 'family', 'type']);

    const res = 'coredns_dns_responses_total';
    assert.equal(m.sum(res, { ...base, rcode: 'NOERROR', plugin: 'records' }), 18);
    assert.equal(m.sum(res, { ...base, rcode: 'NXDOMAIN', plugin: 'records' }), 3);
    assert.equal(m.sum(res, { server: server1() }), 21);
    assert.deepEqual(Object.keys(m.series(res)[0]!.labels), ['server', 'zone', 'view', 'rcode', 'plugin']);
    assert.equal(m.sum('coredns_dns_do_requests_total', base), 2);

    // Histograms: counts match, buckets are cumulative and end at the count.
    assert.equal(m.sum('coredns_dns_request_duration_seconds_count', base), 21);
    const le = m.series('coredns_dns_request_duration_seconds_bucket').filter((x) => x.labels.server === server1()).map((x) => x.labels.le);
    assert.deepEqual(le, [...TIME_BUCKETS.map(String), '+Inf']);
    for (const [name, proto, n] of [['coredns_dns_request_size_bytes', 'udp', 16], ['coredns_dns_request_size_bytes', 'tcp', 5], ['coredns_dns_response_size_bytes', 'udp', 16], ['coredns_dns_response_size_bytes', 'tcp', 5]] as const) {
      assert.equal(m.sum(`${name}_count`, { ...base, proto }), n, `${name} ${proto}`);
      const buckets = m.series(`${name}_bucket`).filter((x) => x.labels.server === server1() && x.labels.proto === proto);
      assert.deepEqual(buckets.map((b) => b.labels.le), ['0', '100', '200', '300', '400', '511', '1023', '2047', '4095', '8291', '16000', '32000', '48000', '64000', '+Inf']);
      for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i]!.value >= buckets[i - 1]!.value);
      assert.equal(buckets.at(-1)!.value, n);
      assert.ok(m.sum(`${name}_sum`, { ...base, proto }) > 0);
    }
    // A request of 29..60 bytes sits in the le="100" bucket, not le="0".
    assert.equal(m.sum('coredns_dns_request_size_bytes_bucket', { ...base, proto: 'tcp', le: '0' }), 0);
    assert.equal(m.sum('coredns_dns_request_size_bytes_bucket', { ...base, proto: 'tcp', le: '100' }), 5);

    // The second block has its own server label; the block without prometheus is not counted.
    const server2 = { server: `dns://127.0.0.1:${port2}`, zone: '.', view: '' };
    assert.equal(m.sum(req, { ...server2, proto: 'udp', family: '1', type: 'A' }), 3);
    assert.equal(m.sum(res, { ...server2, rcode: 'NOERROR', plugin: 'whoami' }), 3);
    assert.doesNotMatch(m.text, new RegExp(`:${port3}"`));
    // No plugin answered (records passed, nothing after it): the server wrote the SERVFAIL.
    assert.equal(m.sum(res, { server: `dns://127.0.0.1:${port4}`, rcode: 'SERVFAIL', plugin: '' }), 2);
    assert.equal(m.sum(res, { server: `dns://127.0.0.1:${port4}` }), 2);

    // Which plugins each block enables (bind is no chain plugin in CoreDNS).
    const enabled = (srv: string): string[] => m.series('coredns_plugin_enabled').filter((x) => x.labels.server === srv).map((x) => x.labels.name!).sort();
    assert.deepEqual(enabled(server1()), ['prometheus', 'records', 'whoami']);
    assert.deepEqual(enabled(`dns://127.0.0.1:${port2}`), ['prometheus', 'whoami']);
    assert.deepEqual(Object.keys(m.series('coredns_plugin_enabled')[0]!.labels), ['server', 'zone', 'view', 'name']);

    assert.equal(m.byKey.get(`coredns_build_info{version="0.1.0",revision="",goversion="${process.version}"}`), 1);
    assert.equal(m.byKey.get('coredns_panics_total'), 0);
    assert.equal(m.byKey.get('kdns_workers_alive'), 2);
    assert.equal(m.byKey.get('kdns_worker_restarts_total'), 0);
    // Every message each worker received, in every block, with or without prometheus in it.
    const perWorker = m.series('kdns_worker_queries_total');
    assert.deepEqual(perWorker.map((x) => x.labels.worker).sort(), ['0', '1']);
    assert.equal(perWorker.reduce((n, x) => n + x.value, 0), 21 + 3 + 4 + 2);
    for (const name of ['kdns_worker_heap_used_bytes', 'kdns_worker_heap_total_bytes', 'kdns_worker_heap_young_bytes', 'kdns_worker_external_memory_bytes']) {
      const mem = m.series(name);
      assert.deepEqual(mem.map((x) => x.labels.worker).sort(), ['0', '1'], name);
      for (const x of mem) assert.ok(x.value > 100_000 && x.value < 2 ** 31, `${name} ${x.value}`);
    }
    assert.equal(m.byKey.get('coredns_reload_failed_total'), 0);
    assert.equal(m.byKey.get('kdns_table_generation{table="t1"}')! >= 1, true);
    assert.ok(m.byKey.get('kdns_table_bytes{table="t1"}')! > 0);
    // www and txt of example.test., and the zone apex (its SOA and NS).
    assert.equal(m.byKey.get('kdns_table_names{table="t1"}'), 3);
    for (const p of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_virtual_memory_bytes', 'process_open_fds', 'process_max_fds', 'process_start_time_seconds']) {
      assert.ok((m.byKey.get(p) ?? 0) > 0, p);
    }
    assert.match(m.text, /^# TYPE coredns_dns_requests_total counter$/m);
    assert.match(m.text, /^# TYPE coredns_dns_request_duration_seconds histogram$/m);
    assert.match(m.text, /^# TYPE coredns_plugin_enabled gauge$/m);
    const other = await fetch(`http://127.0.0.1:${metricsPort}/other`);
    assert.equal(other.status, 404);
    await other.arrayBuffer();
  });

  test('a worker that crashes: its counts are kept, one panic, a replacement, counting goes on', async () => {
    const before = await scrape(metricsPort);
    const req = 'coredns_dns_requests_total';
    const total = before.sum(req, { server: server1() });
    const c = new TcpConnection(s.port);
    await c.connected();
    c.send(encodeQuery('crash.kdns.test', { type: 'TXT', cls: 'CH' }));
    await c.next(); // answered (and counted), then the worker dies
    c.close();
    const deadline = Date.now() + 10_000;
    let m = await scrape(metricsPort);
    while ((m.byKey.get('kdns_worker_restarts_total') !== 1 || m.byKey.get('kdns_workers_alive') !== 2) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      m = await scrape(metricsPort);
    }
    assert.match(s.stderr(), /worker \d died: test hook: worker crash requested/);
    assert.equal(m.byKey.get('coredns_panics_total'), 1);
    assert.equal(m.byKey.get('kdns_worker_restarts_total'), 1);
    assert.equal(m.byKey.get('kdns_workers_alive'), 2);
    // Everything counted before the crash is still there (whichever worker had counted it).
    assert.equal(m.sum(req, { server: server1() }), total + 1);
    assert.equal(m.sum(req, { server: server1(), proto: 'tcp', type: 'TXT' }), 1);
    for (const [k, v] of before.byKey) {
      if (!k.startsWith('coredns_dns_') || !k.includes(server1())) continue;
      if (k.includes('proto="tcp"') || k.startsWith('coredns_dns_request_duration') || k.startsWith('coredns_dns_responses_total')) {
        assert.ok(m.byKey.get(k)! >= v, k);
      } else {
        assert.equal(m.byKey.get(k), v, k);
      }
    }
    // The replacement counts into the same series.
    for (let i = 0; i < 10; i++) await udpQuery(s.port, 'www.example.test');
    const after = await scrape(metricsPort);
    assert.equal(after.sum(req, { server: server1() }), total + 11);
    assert.equal(after.sum('coredns_dns_request_duration_seconds_count', { server: server1() }), total + 11);
    // Per worker: the dead worker's count stays with its index, which the replacement continues.
    const perWorker = (x: typeof m): number => x.series('kdns_worker_queries_total').reduce((n, s) => n + s.value, 0);
    assert.equal(perWorker(after), perWorker(before) + 11);
    for (const w of ['0', '1']) assert.ok(after.sum('kdns_worker_queries_total', { worker: w }) >= before.sum('kdns_worker_queries_total', { worker: w }), `worker ${w} never goes back`);
  });
});

describe('prometheus across a reload', () => {
  test('counts go on from where they were; plugin_enabled follows the new configuration', async () => {
    const metricsPort = await freePort();
    const corefile = (extra: string): string => `.:{PORT} {
    bind 127.0.0.1
    reload 2s 1s
    prometheus 127.0.0.1:${metricsPort}
    records example.test {
        www 60 IN A 10.0.0.1
    }
${extra}}
`;
    const s = await startServer(corefile('    whoami\n'), { workers: 2 });
    try {
      for (let i = 0; i < 10; i++) await udpQuery(s.port, 'www.example.test');
      const server = `dns://127.0.0.1:${s.port}`;
      let m = await scrape(metricsPort);
      assert.equal(m.sum('coredns_dns_requests_total', { server }), 10);
      assert.ok(m.series('coredns_plugin_enabled').some((x) => x.labels.name === 'whoami'));
      const args = s.proc.spawnargs;
      const file = args[args.indexOf('-conf') + 1]!;
      writeFileSync(file, readFileSync(file, 'utf8').replace('    whoami\n', ''));
      await s.waitFor('[INFO] Reloading complete', 8000);
      const deadline = Date.now() + 5000;
      do {
        await new Promise((r) => setTimeout(r, 100));
        m = await scrape(metricsPort);
      } while (m.byKey.get('kdns_workers_alive') !== 2 && Date.now() < deadline);
      assert.equal(m.byKey.get('kdns_workers_alive'), 2, 'the old workers are gone, the new ones alive');
      assert.equal(m.sum('coredns_dns_requests_total', { server }), 10, 'the old workers\' counts are kept');
      assert.ok(!m.series('coredns_plugin_enabled').some((x) => x.labels.name === 'whoami'), 'whoami is no longer enabled');
      assert.ok(m.series('coredns_plugin_enabled').some((x) => x.labels.name === 'records'));
      for (let i = 0; i < 5; i++) await udpQuery(s.port, 'www.example.test');
      m = await scrape(metricsPort);
      assert.equal(m.sum('coredns_dns_requests_total', { server }), 15);
      // The new server's workers continue the old ones' per-worker counts.
      assert.equal(m.series('kdns_worker_queries_total').reduce((n, x) => n + x.value, 0), 15);
      assert.equal(m.sum('coredns_dns_responses_total', { server, rcode: 'NOERROR', plugin: 'records' }), 15);
      assert.equal(m.byKey.get('coredns_panics_total'), 0);
    } finally {
      assert.equal(await s.stop(), 0);
    }
  });
});

describe('prometheus: several bind addresses, and queries no zone matches', () => {
  test('each bind address has its own server label (metrics and cache); unmatched names count under zone "dropped"', async () => {
    const metricsPort = await freePort();
    const corefile = `example.test:{PORT} {
    bind 127.0.0.1 127.0.0.2
    prometheus 127.0.0.1:${metricsPort}
    cache 30
    records example.test {
        www 60 IN A 10.0.0.1
    }
}
`;
    const s = await startServer(corefile, { workers: 1 });
    try {
      const ask = async (host: string, name: string): Promise<string> => {
        const reply = await udpRaw(s.port, encodeQuery(name), 2000, host);
        assert.ok(reply, `answer from ${host}`);
        return decodeReply(reply).rcode;
      };
      for (let i = 0; i < 3; i++) assert.equal(await ask('127.0.0.1', 'www.example.test'), 'NOERROR');
      for (let i = 0; i < 2; i++) assert.equal(await ask('127.0.0.2', 'www.example.test'), 'NOERROR');
      for (let i = 0; i < 4; i++) assert.equal(await ask('127.0.0.2', 'www.other.test'), 'REFUSED');
      const m = await scrape(metricsPort);
      const one = `dns://127.0.0.1:${s.port}`;
      const two = `dns://127.0.0.2:${s.port}`;
      const req = 'coredns_dns_requests_total';
      assert.equal(m.sum(req, { server: one, zone: 'example.test.' }), 3);
      assert.equal(m.sum(req, { server: two, zone: 'example.test.' }), 2);
      assert.equal(m.sum(req, { server: two, zone: 'dropped', type: 'A', proto: 'udp' }), 4);
      assert.equal(m.sum(req, { server: one, zone: 'dropped' }), 0);
      assert.equal(m.sum('coredns_dns_responses_total', { server: two, zone: 'dropped', rcode: 'REFUSED', plugin: '' }), 4);
      assert.equal(m.sum('coredns_dns_request_duration_seconds_count', { server: two, zone: 'dropped' }), 4);
      assert.equal(m.sum('coredns_dns_response_size_bytes_count', { server: two, zone: 'dropped', proto: 'udp' }), 4);
      // One cache serves both addresses (the first query anywhere misses); requests and hits
      // go under the address asked, its entries under the first address.
      assert.equal(m.sum('coredns_cache_requests_total', { server: one }), 3);
      assert.equal(m.sum('coredns_cache_requests_total', { server: two }), 2);
      assert.equal(m.sum('coredns_cache_misses_total', { server: one }), 1);
      assert.equal(m.sum('coredns_cache_hits_total', { server: two, type: 'success' }), 2);
      assert.equal(m.sum('coredns_cache_entries', { server: one, type: 'success' }), 1);
      assert.equal(m.sum('coredns_cache_entries', { server: two }), 0);
    } finally {
      assert.equal(await s.stop(), 0);
    }
  });
});

describe('-worker.young-mb: the V8 young generation of each worker', () => {
  // The gauge is sampled every 5 s; V8 grows a worker's new space under sustained traffic
  // (to 16 MiB at ~100k q/s) unless the flag caps it. Both servers get the same load.
  test('capped at 3 MiB by default (new space 2 MiB), V8 grows it with 0', { timeout: 60_000 }, async () => {
    const corefile = (metricsPort: number): string => `.:{PORT} {
    bind 127.0.0.1
    prometheus 127.0.0.1:${metricsPort}
    records example.test {
        www 60 IN A 192.0.2.1
    }
}
`;
    const runs = await Promise.all(
      [[], ['-worker.young-mb', '0']].map(async (args) => {
        const metricsPort = await freePort();
        const s = await startServer(corefile(metricsPort), { workers: 1, args });
        return { s, metricsPort };
      }),
    );
    try {
      for (const { s } of runs) {
        const r = await runLoad({ server: `127.0.0.1:${s.port}`, qname: 'www.example.test', duration: 1.5, warmup: 0, concurrency: 64 });
        assert.ok(r.answered > 10_000, `answered ${r.answered}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 5500));
      const young = await Promise.all(runs.map(async ({ metricsPort }) => (await scrape(metricsPort)).byKey.get('kdns_worker_heap_young_bytes{worker="0"}')));
      assert.ok(young[0] !== undefined && young[0] <= 2 * 2 ** 20, `capped: ${young[0]}`);
      assert.ok(young[1] !== undefined && young[1] > 2 * 2 ** 20, `V8's sizing: ${young[1]}`);
    } finally {
      for (const { s } of runs) assert.equal(await s.stop(), 0);
    }
  });

  test('a value out of range is a flag error', async () => {
    const r = await runCli(['-worker.young-mb', '2048']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /invalid value '2048' for -worker\.young-mb: want a number from 0 to 1024/);
  });
});
