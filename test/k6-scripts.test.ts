// The k6 scripts (k6/): they type-check against @types/k6; their pure parts (k6/lib: DNS wire
// code, Prometheus text parser) work against a real kdns over UDP, TCP and DoH and on a real
// /metrics scrape; and, where a k6 binary is installed, each script runs for a few seconds.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request as httpsRequest } from 'node:https';
import dnsPacket from 'dns-packet';
import { TcpConnection, udpRaw } from './helpers/dns-client.ts';
import { type RunningServer, ROOT, freePort, startServer, tempDir } from './helpers/server-process.ts';
import { makeCertificates, opensslMissing, type Certificates } from './helpers/certificates.ts';
import { Scrape } from './helpers/scrape.ts';
import {
  base64url, encodeName, encodeQuery, parseHeader, parseMessage, parseNameList, parseQueryList, qtypeCode, rcodeName, readName, typeName,
} from '../k6/lib/dns-wire.ts';
import {
  byLabel, histogram, histogramDelta, histogramQuantile, kdnsRates, kdnsSnapshot, parsePrometheus, sumOf,
} from '../k6/lib/prometheus.ts';
import { envSettings } from '../k6/lib/env.ts';

const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

function k6Binary(): string | undefined {
  try {
    execFileSync('k6', ['version'], { stdio: 'ignore', timeout: 10_000 });
    return 'k6';
  } catch {
    return undefined;
  }
}
const K6 = k6Binary();
const NO_K6 = K6 ? undefined : 'no k6 binary here: it is not in Debian or on npm, and its GitHub releases cannot be downloaded from this machine (k6/README.md)';

describe('k6 scripts type-check', () => {
  test('tsc --noEmit -p k6 passes (types: k6, no Node types)', () => {
    const r = spawnSync(process.execPath, [TSC, '--noEmit', '-p', 'k6'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, `tsc -p k6 failed:\n${r.stdout}${r.stderr}`);
  });

  test('k6/tsconfig.json checks the scripts, and the root tsconfig does not include k6/', () => {
    const files = spawnSync(process.execPath, [TSC, '--listFilesOnly', '-p', 'k6'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 }).stdout;
    for (const f of ['k6/doh.ts', 'k6/metrics-scrape.ts', 'k6/lib/dns-wire.ts', 'k6/lib/prometheus.ts', 'k6/lib/env.ts', '@types/k6/index.d.ts']) assert.ok(files.includes(f), `${f} not checked`);
    assert.ok(!files.includes('@types/node'), 'Node types leak into the k6 check');
    const root = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')) as { include: string[]; compilerOptions: { types: string[] } };
    assert.ok(!root.include.some((p) => p.startsWith('k6')), 'root tsconfig includes k6/');
    assert.deepEqual(root.compilerOptions.types, ['node']);
  });
});

describe('k6/lib/dns-wire (unit)', () => {
  test('encodeQuery: header, question, RD; dns-packet reads it back', () => {
    const q = encodeQuery('kubernetes.default.svc.cluster.local', 'SRV', { id: 0x1234 });
    const d = dnsPacket.decode(Buffer.from(q));
    assert.equal(d.id, 0x1234);
    assert.equal(d.flags! & dnsPacket.RECURSION_DESIRED, dnsPacket.RECURSION_DESIRED);
    assert.deepEqual(d.questions, [{ name: 'kubernetes.default.svc.cluster.local', type: 'SRV', class: 'IN' }]);
    assert.equal(d.additionals!.length, 0);
    const h = parseHeader(q);
    assert.deepEqual([h.qr, h.rd, h.qdcount, h.ancount, h.arcount], [false, true, 1, 0, 0]);
    assert.equal(encodeQuery('a.b.', 'A', { rd: false })[2], 0, 'RD clear');
    assert.deepEqual(encodeName('.'), [0]);
    assert.deepEqual(encodeName('a.bc'), [1, 97, 2, 98, 99, 0]);
    assert.throws(() => encodeName('bad..name'));
    assert.throws(() => encodeName(`${'x'.repeat(64)}.test`));
    assert.throws(() => encodeName('ünicode.test'), /punycode/);
  });

  test('encodeQuery: EDNS, DO bit and RFC 8467 padding', () => {
    const e = dnsPacket.decode(Buffer.from(encodeQuery('example.org', 'AAAA', { edns: 4096, dnssecOk: true })));
    const opt = e.additionals![0] as unknown as { type: string; udpPayloadSize: number; flags: number };
    assert.equal(opt.type, 'OPT');
    assert.equal(opt.udpPayloadSize, 4096);
    assert.equal(opt.flags & dnsPacket.DNSSEC_OK, dnsPacket.DNSSEC_OK);
    for (const name of ['a.io', 'kubernetes.default.svc.cluster.local', `${'x'.repeat(60)}.example.org`]) {
      const p = encodeQuery(name, 'A', { padTo: 128 });
      assert.equal(p.length % 128, 0, `${name}: ${p.length} bytes`);
      const opts = (dnsPacket.decode(Buffer.from(p)).additionals![0] as unknown as { options: { code: number }[] }).options;
      assert.equal(opts[0]!.code, 12, 'padding option');
    }
  });

  test('qtype and rcode names', () => {
    assert.equal(qtypeCode('aaaa'), 28);
    assert.equal(qtypeCode('TYPE65'), 65);
    assert.equal(qtypeCode(33), 33);
    assert.throws(() => qtypeCode('BOGUS'));
    assert.equal(typeName(33), 'SRV');
    assert.equal(typeName(999), 'TYPE999');
    assert.deepEqual([0, 2, 3, 5, 16, 40].map(rcodeName), ['NOERROR', 'SERVFAIL', 'NXDOMAIN', 'REFUSED', 'BADVERS', 'RCODE40']);
  });

  test('parseMessage: answers of each type, authority SOA, EDNS extended RCODE, min TTL', () => {
    const resp = Buffer.from(dnsPacket.encode({
      id: 7, type: 'response', flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_DESIRED,
      questions: [{ name: 'svc.test', type: 'A', class: 'IN' }],
      answers: [
        { name: 'svc.test', type: 'CNAME', ttl: 30, data: 'real.svc.test' },
        { name: 'real.svc.test', type: 'A', ttl: 5, data: '10.96.0.1' },
        { name: 'real.svc.test', type: 'AAAA', ttl: 7, data: 'fd00:10:96::a' },
        { name: '_http._tcp.svc.test', type: 'SRV', ttl: 9, data: { priority: 0, weight: 100, port: 80, target: 'real.svc.test' } },
        { name: 'svc.test', type: 'MX', ttl: 60, data: { preference: 10, exchange: 'mx.svc.test' } },
        { name: 'svc.test', type: 'TXT', ttl: 60, data: ['hello', 'world'] },
      ],
      authorities: [{ name: 'test', type: 'SOA', ttl: 300, data: { mname: 'ns.test', rname: 'host.test', serial: 1, refresh: 2, retry: 3, expire: 4, minimum: 60 } }],
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 1, ednsVersion: 0, flags: 0, options: [] } as unknown as dnsPacket.Answer],
    }));
    const m = parseMessage(resp);
    assert.equal(m.header.id, 7);
    assert.ok(m.header.qr && m.header.aa && m.header.rd);
    assert.deepEqual(m.question, { name: 'svc.test.', type: 1, typeName: 'A', class: 1 });
    assert.deepEqual(m.answers.map((a) => [a.typeName, a.data]), [
      ['CNAME', 'real.svc.test.'], ['A', '10.96.0.1'], ['AAAA', 'fd00:10:96::a'], ['SRV', '0 100 80 real.svc.test.'], ['MX', '10 mx.svc.test.'], ['TXT', 'hello world'],
    ]);
    assert.equal(m.minTtl, 5);
    assert.equal(m.authority[0]!.data, 'ns.test. host.test. 1 2 3 4 60');
    assert.equal(m.negativeTtl, 60);
    assert.equal(m.additional.length, 0, 'OPT is not an additional record');
    assert.equal(m.ednsUdpSize, 1232);
    // extended RCODE 1 << 4 | header 0 = 16 (BADVERS)
    assert.equal(m.rcode, 16);
    assert.equal(m.rcodeName, 'BADVERS');
    assert.equal(m.size, resp.length);
    assert.equal(parseMessage(resp.buffer.slice(resp.byteOffset, resp.byteOffset + resp.length)).answers.length, 6, 'an ArrayBuffer works too');
  });

  test('parseMessage: compression pointers, and malformed messages throw', () => {
    // Header (1 question, 1 answer), question www.example.org A IN, answer pointing at the question name.
    const q = encodeQuery('www.example.org', 'A', { id: 1 });
    const msg = new Uint8Array([...q, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
    msg[2] = 0x81;
    msg[3] = 0x80;
    msg[7] = 1;
    const m = parseMessage(msg);
    assert.deepEqual(m.answers.map((a) => [a.name, a.data, a.ttl]), [['www.example.org.', '192.0.2.1', 60]]);
    // A pointer to the middle of the question name (example.org).
    assert.equal(readName(new Uint8Array([...msg, 0xc0, 16]), msg.length).name, 'example.org.');
    assert.throws(() => parseMessage(msg.slice(0, msg.length - 2)), /past the end/);
    assert.throws(() => parseMessage(new Uint8Array(5)), /too short/);
    const loop = new Uint8Array([...q.slice(0, 12), 0xc0, 12, 0, 1, 0, 1]);
    assert.throws(() => parseMessage(loop), /loop/);
  });

  test('query lists and base64url', () => {
    assert.deepEqual(parseQueryList('# c\n; dnsperf comment\nwww.a.test AAAA\n\nb.test\nc.test srv # trailing\n'), [
      { name: 'www.a.test', type: 'AAAA' }, { name: 'b.test', type: 'A' }, { name: 'c.test', type: 'SRV' },
    ]);
    assert.deepEqual(parseNameList('a.test, b.test:AAAA,c.test srv'), [
      { name: 'a.test', type: 'A' }, { name: 'b.test', type: 'AAAA' }, { name: 'c.test', type: 'SRV' },
    ]);
    for (let n = 0; n < 40; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 89 + n * 7) & 0xff);
      assert.equal(base64url(bytes), Buffer.from(bytes).toString('base64url'), `${n} bytes`);
    }
    // Every bench query file reads as valid queries.
    for (const f of ['cluster-hit.txt', 'cluster-mix.txt', 'outside-names.txt']) {
      const list = parseQueryList(readFileSync(join(ROOT, 'bench', 'queries', f), 'utf8'));
      assert.ok(list.length > 0, f);
      for (const x of list) encodeQuery(x.name, x.type);
    }
  });
});

describe('k6/lib/prometheus (unit)', () => {
  const text = [
    '# HELP coredns_dns_requests_total Counter of DNS requests made per zone, protocol and family.',
    '# TYPE coredns_dns_requests_total counter',
    'coredns_dns_requests_total{server="dns://:53",zone=".",view="",proto="udp",family="1",type="A"} 10',
    'coredns_dns_requests_total{server="dns://:53",zone=".",view="",proto="tcp",family="1",type="A"} 2',
    'coredns_dns_responses_total{server="dns://:53",zone=".",view="",rcode="NOERROR",plugin="records"} 9',
    'coredns_dns_responses_total{server="dns://:53",zone=".",view="",rcode="NXDOMAIN",plugin="records"} 3',
    'odd{msg="a \\"quoted\\" \\\\ back\\nslash",le="+Inf"} NaN 1700000000000',
    'h_bucket{le="0.1"} 1', 'h_bucket{le="0.2"} 3', 'h_bucket{le="+Inf"} 4', 'h_sum 0.9', 'h_count 4',
    'kdns_workers_alive 2',
    'sci 1.5e-05',
  ].join('\n');

  test('samples, labels with escapes, special values, timestamps, HELP/TYPE', () => {
    const e = parsePrometheus(text);
    assert.equal(e.samples.length, 12);
    assert.equal(e.types.coredns_dns_requests_total, 'counter');
    assert.match(e.help.coredns_dns_requests_total!, /^Counter of DNS requests/);
    const odd = e.samples.find((s) => s.name === 'odd')!;
    assert.equal(odd.labels.msg, 'a "quoted" \\ back\nslash');
    assert.ok(Number.isNaN(odd.value));
    assert.equal(odd.timestamp, 1700000000000);
    assert.equal(e.samples.find((s) => s.name === 'sci')!.value, 1.5e-5);
    assert.equal(sumOf(e.samples, 'coredns_dns_requests_total'), 12);
    assert.equal(sumOf(e.samples, 'coredns_dns_requests_total', { proto: 'tcp' }), 2);
    assert.equal(sumOf(e.samples, 'absent'), null);
    assert.deepEqual(byLabel(e.samples, 'coredns_dns_responses_total', 'rcode'), { NOERROR: 9, NXDOMAIN: 3 });
    assert.throws(() => parsePrometheus('bad{x="1" 1'));
    assert.throws(() => parsePrometheus('name notanumber'));
  });

  test('histograms: quantiles interpolate as PromQL does; deltas between scrapes', () => {
    const h = histogram(parsePrometheus(text).samples, 'h')!;
    assert.deepEqual(h.buckets.map((b) => [b.le, b.count]), [[0.1, 1], [0.2, 3], [Infinity, 4]]);
    assert.equal(h.count, 4);
    assert.equal(histogramQuantile(0.25, h), 0.1);
    assert.ok(Math.abs(histogramQuantile(0.5, h)! - 0.15) < 1e-12);
    assert.equal(histogramQuantile(0.99, h), 0.2, 'the +Inf bucket answers with the highest finite bound');
    assert.equal(histogramQuantile(0.5, { buckets: [{ le: 1, count: 0 }, { le: Infinity, count: 0 }], sum: 0, count: 0 }), null);
    const later = { buckets: [{ le: 0.1, count: 11 }, { le: 0.2, count: 13 }, { le: Infinity, count: 14 }], sum: 1.9, count: 14 };
    const d = histogramDelta(h, later);
    assert.deepEqual(d.buckets.map((b) => b.count), [10, 10, 10]);
    assert.equal(d.count, 10);
    assert.equal(histogramQuantile(0.5, d), 0.05);
  });

  test('snapshots: an absent counter is 0 (nothing counted yet), an absent gauge is null; a counter reset counts from 0', () => {
    const idle = kdnsSnapshot(parsePrometheus('coredns_build_info{version="1",revision="",goversion="v24"} 1\n').samples, 0);
    assert.deepEqual([idle.requests, idle.cacheHits, idle.workerRestarts, idle.workersAlive, idle.rssBytes, idle.duration], [0, 0, 0, null, null, null]);
    const busy = kdnsSnapshot(parsePrometheus(text).samples, 2000);
    const r = kdnsRates(idle, busy);
    assert.equal(r.seconds, 2);
    assert.equal(r.requestsPerSecond, 6);
    assert.deepEqual(r.responsesPerSecond, { NOERROR: 4.5, NXDOMAIN: 1.5 });
    assert.equal(r.cacheHitRatio, null, 'no cache lookups');
    const restarted = kdnsSnapshot(parsePrometheus('coredns_dns_requests_total{type="A"} 4\n').samples, 4000);
    assert.equal(kdnsRates(busy, restarted).requestsPerSecond, 2, 'went down from 12 to 4: a restart, 4 new');
  });
});

describe('k6/lib/env (unit)', () => {
  test('unset and empty variables take the default; numbers are checked', () => {
    const { env, envNum } = envSettings({ A: 'x', EMPTY: '', N: '2.5', BAD: 'ten' });
    assert.deepEqual([env('A', 'd'), env('EMPTY', 'd'), env('UNSET', 'd')], ['x', 'd', 'd']);
    assert.deepEqual([envNum('N', 1), envNum('EMPTY', 7), envNum('UNSET', 3)], [2.5, 7, 3]);
    assert.throws(() => envNum('BAD', 1), /BAD must be a number/);
  });
});

// ---------------------------------------------------------------------------------------------
// Against a real kdns

function udpAsk(port: number, q: Uint8Array): Promise<Uint8Array> {
  return udpRaw(port, q, 2000).then((r) => {
    if (!r) throw new Error('no UDP answer');
    return r;
  });
}

const RECORDS = `records cluster.local {
        kubernetes.default.svc.cluster.local. 5 IN A 10.96.0.1
        kubernetes.default.svc.cluster.local. 5 IN AAAA fd00:10:96::1
        _https._tcp.kubernetes.default.svc.cluster.local. 5 IN SRV 0 100 443 kubernetes.default.svc.cluster.local.
    }`;

describe('k6/lib against kdns over UDP and TCP, and its /metrics', () => {
  let s: RunningServer;
  let metricsPort: number;
  before(async () => {
    metricsPort = await freePort();
    s = await startServer(`.:{PORT} {
    bind 127.0.0.1
    prometheus 127.0.0.1:${metricsPort}
    cache 30
    ${RECORDS}
}
`, { workers: 2 });
  });
  after(async () => {
    await s?.stop();
  });

  test('queries encoded by k6/lib get the answers kdns serves, parsed by k6/lib (UDP)', async () => {
    const a = parseMessage(await udpAsk(s.port, encodeQuery('kubernetes.default.svc.cluster.local', 'A', { id: 4242 })));
    assert.equal(a.header.id, 4242);
    assert.ok(a.header.qr && a.header.aa && a.header.rd);
    assert.equal(a.rcodeName, 'NOERROR');
    assert.deepEqual(a.answers.map((x) => [x.typeName, x.data, x.ttl]), [['A', '10.96.0.1', 5]]);
    assert.equal(a.minTtl, 5);
    assert.equal(a.question!.name, 'kubernetes.default.svc.cluster.local.');

    const aaaa = parseMessage(await udpAsk(s.port, encodeQuery('kubernetes.default.svc.cluster.local', 'AAAA', { id: 1 })));
    assert.deepEqual(aaaa.answers.map((x) => x.data), ['fd00:10:96::1']);

    const srv = parseMessage(await udpAsk(s.port, encodeQuery('_https._tcp.kubernetes.default.svc.cluster.local', 'SRV', { id: 2 })));
    assert.deepEqual(srv.answers.map((x) => x.data), ['0 100 443 kubernetes.default.svc.cluster.local.']);
    assert.ok(srv.additional.some((x) => x.typeName === 'A' && x.data === '10.96.0.1'), 'the target address rides along');

    const nx = parseMessage(await udpAsk(s.port, encodeQuery('nope.default.svc.cluster.local', 'A', { id: 3 })));
    assert.equal(nx.rcodeName, 'NXDOMAIN');
    assert.equal(nx.answers.length, 0);
    assert.equal(nx.minTtl, null);
    assert.ok(nx.negativeTtl !== null && nx.negativeTtl > 0, 'NXDOMAIN carries the SOA');

    const nodata = parseMessage(await udpAsk(s.port, encodeQuery('kubernetes.default.svc.cluster.local', 'TXT', { id: 4 })));
    assert.equal(nodata.rcodeName, 'NOERROR');
    assert.equal(nodata.answers.length, 0);

    const edns = parseMessage(await udpAsk(s.port, encodeQuery('kubernetes.default.svc.cluster.local', 'A', { id: 5, edns: 1232, padTo: 128 })));
    assert.equal(edns.rcodeName, 'NOERROR');
    assert.ok(edns.ednsUdpSize !== null, 'an EDNS query gets an OPT back');
  });

  test('the same over TCP (one connection, several queries)', async () => {
    const c = new TcpConnection(s.port);
    try {
      await c.connected();
      for (const [i, [name, type]] of [['kubernetes.default.svc.cluster.local', 'A'], ['nope.default.svc.cluster.local', 'A'], ['_https._tcp.kubernetes.default.svc.cluster.local', 'SRV']].entries()) {
        c.send(encodeQuery(name!, type!, { id: 100 + i }));
        const m = parseMessage(await c.next());
        assert.equal(m.header.id, 100 + i);
        assert.equal(m.question!.typeName, type);
        assert.equal(m.rcodeName, name!.startsWith('nope') ? 'NXDOMAIN' : 'NOERROR');
      }
    } finally {
      c.close();
    }
  });

  test('/metrics: k6/lib/prometheus reads the same samples as the tests\' parser; snapshots and rates between scrapes', async () => {
    const get = async (): Promise<string> => {
      const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      assert.equal(res.status, 200);
      return res.text();
    };
    for (let i = 0; i < 6; i++) await udpAsk(s.port, encodeQuery('kubernetes.default.svc.cluster.local', 'A', { id: i }));
    for (let i = 0; i < 3; i++) await udpAsk(s.port, encodeQuery(`gone${i}.default.svc.cluster.local`, 'A', { id: i }));
    const text1 = await get();
    const e1 = parsePrometheus(text1);
    const ref = new Scrape(text1);
    assert.equal(e1.samples.length, ref.samples.length);
    for (const [i, x] of ref.samples.entries()) {
      const y = e1.samples[i]!;
      assert.equal(y.name, x.name);
      assert.deepEqual(y.labels, x.labels);
      assert.ok(Object.is(y.value, x.value) || y.value === x.value, `${x.name}: ${y.value} vs ${x.value}`);
    }
    assert.equal(e1.types.coredns_dns_request_duration_seconds, 'histogram');
    const snap1 = kdnsSnapshot(e1.samples, Date.now());
    assert.equal(snap1.workersAlive, 2);
    assert.ok(snap1.rssBytes! > 10e6, `rss ${snap1.rssBytes}`);
    assert.ok(snap1.cpuSeconds! > 0);
    assert.ok(snap1.requests >= 9, `requests ${snap1.requests}`);
    assert.ok((snap1.responses.NOERROR ?? 0) >= 6 && (snap1.responses.NXDOMAIN ?? 0) >= 3, JSON.stringify(snap1.responses));
    assert.equal(snap1.duration!.count, snap1.requests, 'every request is in the duration histogram');

    // 40 more queries: 30 hits of one name (cached after the first), 10 NXDOMAIN.
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 30; i++) await udpAsk(s.port, encodeQuery('kubernetes.default.svc.cluster.local', 'A', { id: i }));
    for (let i = 0; i < 10; i++) await udpAsk(s.port, encodeQuery(`nx${i}.default.svc.cluster.local`, 'A', { id: i }));
    const snap2 = kdnsSnapshot(parsePrometheus(await get()).samples, Date.now());
    assert.equal(snap2.requests - snap1.requests, 40);
    const r = kdnsRates(snap1, snap2);
    assert.ok(r.seconds > 0);
    assert.ok(Math.abs(r.requestsPerSecond! * r.seconds - 40) < 1e-6);
    assert.ok(Math.abs(r.responsesPerSecond.NXDOMAIN! * r.seconds - 10) < 1e-6);
    assert.ok(Math.abs(r.responsesPerSecond.NOERROR! * r.seconds - 30) < 1e-6);
    assert.equal(r.servfailRatio, 0);
    assert.ok(r.cacheHitRatio !== null && r.cacheHitRatio >= 0.7, `cache hit ratio ${r.cacheHitRatio}`);
    assert.ok(r.p50Seconds !== null && r.p50Seconds > 0 && r.p50Seconds <= r.p99Seconds!, `p50 ${r.p50Seconds} p99 ${r.p99Seconds}`);
    assert.ok(r.meanSeconds! > 0);
    assert.equal(r.workerRestarts, 0);
    assert.throws(() => kdnsRates(snap2, snap1), /time order/);
  });
});

// ---------------------------------------------------------------------------------------------
// DNS over HTTPS

interface HttpsReply {
  status: number;
  type: string;
  body: Buffer;
}

function httpsDo(url: string, ca: string, init: { method: 'GET' | 'POST'; body?: Uint8Array }): Promise<HttpsReply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { accept: 'application/dns-message' };
    if (init.body) Object.assign(headers, { 'content-type': 'application/dns-message', 'content-length': String(init.body.length) });
    const req = httpsRequest(url, { method: init.method, ca: readFileSync(ca), headers, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('DoH request timed out')));
    req.end(init.body);
  });
}

/** A test certificate for 127.0.0.1, in a directory of its own unless `dir` is given. */
const localCertificates = (dir = tempDir()): Certificates => makeCertificates(dir, { ips: ['127.0.0.1'] });

/** kdns with an https:// block serving RECORDS with `certs`, and /metrics on a port of its own. */
async function startDohKdns(certs: Certificates, o: { workers: number; cache?: boolean }): Promise<{ server: RunningServer; metricsPort: number }> {
  const metricsPort = await freePort();
  const server = await startServer(`https://.:{PORT} {
    bind 127.0.0.1
    tls ${certs.server} ${certs.serverKey}
    prometheus 127.0.0.1:${metricsPort}
    ${o.cache ? 'cache 30\n    ' : ''}${RECORDS}
}
`, { workers: o.workers });
  return { server, metricsPort };
}

/** The skip reason for a kdns that would not start an https:// block. */
const noDoh = (err: unknown): string => `kdns does not serve DNS over HTTPS yet: ${(err as Error).message.split('\n')[0]}`;

describe('k6/lib over DoH against kdns (https:// block)', () => {
  let s: RunningServer | undefined;
  let certs: Certificates | undefined;
  let skip: string | undefined = opensslMissing();
  let metricsPort = 0;
  before(async () => {
    if (skip) return;
    certs = localCertificates();
    try {
      ({ server: s, metricsPort } = await startDohKdns(certs, { workers: 1 }));
    } catch (err) {
      const msg = (err as Error).message;
      if (/not supported|unknown (plugin|directive)|tls/i.test(msg)) skip = `kdns does not serve DNS over HTTPS yet: ${/[^\n]*(not supported|unknown)[^\n]*/.exec(msg)?.[0] ?? msg.split('\n')[0]}`;
      else throw err;
    }
  });
  after(async () => {
    await s?.stop();
  });

  test('GET ?dns=<base64url of k6/lib query> and POST application/dns-message, answers parsed by k6/lib', async (t) => {
    if (skip || !s || !certs) return t.skip(skip);
    const url = `https://127.0.0.1:${s.port}/dns-query`;
    // GET with ID 0, as RFC 8484 recommends (and k6/doh.ts sends)
    const q = encodeQuery('kubernetes.default.svc.cluster.local', 'A', { id: 0 });
    const get = await httpsDo(`${url}?dns=${base64url(q)}`, certs.ca, { method: 'GET' });
    assert.equal(get.status, 200);
    assert.match(get.type, /^application\/dns-message/);
    const a = parseMessage(get.body);
    assert.equal(a.header.id, 0);
    assert.deepEqual(a.answers.map((x) => x.data), ['10.96.0.1']);

    const post = await httpsDo(url, certs.ca, { method: 'POST', body: encodeQuery('_https._tcp.kubernetes.default.svc.cluster.local', 'SRV', { id: 777 }) });
    assert.equal(post.status, 200);
    assert.match(post.type, /^application\/dns-message/);
    const srv = parseMessage(post.body);
    assert.equal(srv.header.id, 777);
    assert.deepEqual(srv.answers.map((x) => x.data), ['0 100 443 kubernetes.default.svc.cluster.local.']);

    const nx = parseMessage((await httpsDo(url, certs.ca, { method: 'POST', body: encodeQuery('nope.default.svc.cluster.local', 'A', { id: 9, padTo: 128 }) })).body);
    assert.equal(nx.rcodeName, 'NXDOMAIN');

    const bad = await httpsDo(`${url}?dns=!!!`, certs.ca, { method: 'GET' });
    assert.equal(bad.status, 400, 'a query that is not base64url is a bad request');

    // The requests were counted on /metrics, as the scrape script reads them.
    const snap = kdnsSnapshot(parsePrometheus(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()).samples, Date.now());
    assert.ok(snap.requests >= 3, `requests ${snap.requests}`);
    assert.ok((snap.responses.NXDOMAIN ?? 0) >= 1);
  });
});

// ---------------------------------------------------------------------------------------------
// The scripts themselves under Node, with a stand-in for the k6 API (k6 cannot be had here): the
// modules k6, k6/http (synchronous, through curl, which speaks HTTP/2 over TLS as k6 does),
// k6/encoding, k6/execution, k6/metrics and k6/data, the globals __ENV and open(). Node strips
// the scripts' types itself. What this shows: the scripts load, build their options from the
// environment, and their iteration functions send correct DoH requests, pass their checks and
// record their metrics against a real kdns. What it cannot show: k6's own runtime and executors.

const SHIM_FILES: Record<string, string> = {
  'hooks.mjs': `
const MAP = { 'k6': 'k6.mjs', 'k6/http': 'http.mjs', 'k6/encoding': 'encoding.mjs', 'k6/execution': 'execution.mjs',
  'k6/metrics': 'metrics.mjs', 'k6/data': 'data.mjs', 'k6/options': 'options.mjs' };
export async function resolve(specifier, context, next) {
  if (Object.hasOwn(MAP, specifier)) return { url: new URL(MAP[specifier], import.meta.url).href, shortCircuit: true };
  return next(specifier, context);
}`,
  'register.mjs': `import { register } from 'node:module'; register('./hooks.mjs', import.meta.url);`,
  'state.mjs': `export const state = (globalThis.__k6shim ??= { metrics: {}, checks: {}, iteration: 0, requests: [], insecure: false });`,
  'options.mjs': `export {};`,
  'k6.mjs': `
import { state } from './state.mjs';
export function check(val, sets) {
  let all = true;
  for (const [name, fn] of Object.entries(sets)) {
    let ok = false;
    try { ok = !!fn(val); } catch {}
    const c = (state.checks[name] ??= { pass: 0, fail: 0 });
    if (ok) c.pass++; else c.fail++;
    all &&= ok;
  }
  return all;
}
export function sleep(s) { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, s * 1000); }
export default { check, sleep };`,
  'encoding.mjs': `
export function b64encode(input, enc = 'std') {
  const b = typeof input === 'string' ? Buffer.from(input) : Buffer.from(new Uint8Array(input));
  if (enc === 'rawurl') return b.toString('base64url');
  const s = b.toString('base64');
  return enc === 'rawstd' ? s.replace(/=+$/, '') : enc === 'url' ? s.replaceAll('+', '-').replaceAll('/', '_') : s;
}
export default { b64encode };`,
  'execution.mjs': `
import { state } from './state.mjs';
export default { scenario: { get iterationInTest() { return state.iteration; } } };`,
  'data.mjs': `export class SharedArray { constructor(name, fn) { return Object.freeze(fn()); } }`,
  'metrics.mjs': `
import { state } from './state.mjs';
class Metric {
  constructor(name, isTime) { this.name = name; state.metrics[name] ??= { type: this.constructor.kind, isTime: !!isTime, samples: [] }; }
  add(v, tags) { state.metrics[this.name].samples.push({ v: typeof v === 'boolean' ? Number(v) : v, tags: tags ?? {} }); }
}
export class Counter extends Metric { static kind = 'counter'; }
export class Gauge extends Metric { static kind = 'gauge'; }
export class Rate extends Metric { static kind = 'rate'; }
export class Trend extends Metric { static kind = 'trend'; }`,
  'http.mjs': `
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { state } from './state.mjs';
const canon = (k) => k.split('-').map((w) => w.charAt(0).toUpperCase() + w.slice(1).toLowerCase()).join('-');
function request(method, url, body, params = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k6shim-'));
  const args = ['-s', '-X', method, '-D', path.join(dir, 'h'), '-o', path.join(dir, 'b'), '-w', '%{http_code} %{time_total}', '--max-time', '10'];
  if (state.insecure) args.push('-k');
  for (const [k, v] of Object.entries(params.headers ?? {})) args.push('-H', k + ': ' + v);
  let input;
  if (body !== undefined && body !== null) {
    args.push('--data-binary', '@-');
    input = typeof body === 'string' ? Buffer.from(body) : Buffer.from(new Uint8Array(body));
  }
  args.push(url);
  let out = '0 0';
  try { out = execFileSync('curl', args, { input }).toString(); } catch (e) { out = String(e.stdout ?? '0 0') || '0 0'; }
  const [code, secs] = out.trim().split(' ');
  const read = (f) => (fs.existsSync(path.join(dir, f)) ? fs.readFileSync(path.join(dir, f)) : Buffer.alloc(0));
  const raw = read('b');
  const headers = {};
  const blocks = read('h').toString().split(/\\r?\\n\\r?\\n/).filter((x) => x.trim());
  for (const line of (blocks.at(-1) ?? '').split(/\\r?\\n/).slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers[canon(line.slice(0, i).trim())] = line.slice(i + 1).trim();
  }
  fs.rmSync(dir, { recursive: true, force: true });
  state.requests.push({ method, url, status: Number(code), tags: params.tags ?? {} });
  const resBody = params.responseType === 'binary' ? raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length) : raw.toString('utf8');
  return { status: Number(code), headers, body: resBody, timings: { duration: Number(secs) * 1000 } };
}
export function get(url, params) { return request('GET', url, undefined, params); }
export function post(url, body, params) { return request('POST', url, body, params); }
export default { get, post };`,
  'driver.mjs': `
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { state } from './state.mjs';
const script = path.resolve(process.argv[2]);
globalThis.__ENV = JSON.parse(process.env.K6_SHIM_ENV ?? '{}');
globalThis.open = (p, mode) => {
  const f = p.startsWith('file:') ? fileURLToPath(p) : path.resolve(path.dirname(script), p);
  return mode === 'b' ? fs.readFileSync(f).buffer : fs.readFileSync(f, 'utf8');
};
const mod = await import(pathToFileURL(script).href);
state.insecure = !!mod.options?.insecureSkipTLSVerify;
for (const [fn, n, pauseMs] of JSON.parse(process.env.K6_SHIM_PLAN ?? '[]')) {
  for (let i = 0; i < n; i++) { mod[fn](); state.iteration++; }
  if (pauseMs) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, pauseMs);
}
console.log(JSON.stringify({ options: mod.options, metrics: state.metrics, checks: state.checks, requests: state.requests }));`,
};

interface ShimResult {
  options: { scenarios: Record<string, Record<string, unknown>>; thresholds: Record<string, string[]>; insecureSkipTLSVerify?: boolean };
  metrics: Record<string, { type: string; isTime: boolean; samples: { v: number; tags: Record<string, string> }[] }>;
  checks: Record<string, { pass: number; fail: number }>;
  requests: { method: string; url: string; status: number; tags: Record<string, string> }[];
}

let shimDir: string | undefined;
/** Runs `script` under the k6 stand-in: `plan` is [exported function, iterations, pause ms after]. */
function runUnderShim(script: string, env: Record<string, string>, plan: Array<[string, number, number]>): ShimResult {
  if (!shimDir) {
    shimDir = tempDir();
    for (const [f, text] of Object.entries(SHIM_FILES)) writeFileSync(join(shimDir, f), text);
  }
  const r = spawnSync(process.execPath, ['--import', join(shimDir, 'register.mjs'), join(shimDir, 'driver.mjs'), join(ROOT, script)], {
    cwd: ROOT, encoding: 'utf8', timeout: 60_000,
    env: { ...process.env, K6_SHIM_ENV: JSON.stringify(env), K6_SHIM_PLAN: JSON.stringify(plan), NODE_NO_WARNINGS: '1' },
  });
  assert.equal(r.status, 0, `${script} under the k6 stand-in failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as ShimResult;
}

const samplesOf = (r: ShimResult, name: string): { v: number; tags: Record<string, string> }[] => r.metrics[name]?.samples ?? [];
const allChecksPass = (r: ShimResult): void => {
  for (const [name, c] of Object.entries(r.checks)) assert.equal(c.fail, 0, `check '${name}' failed ${c.fail} of ${c.pass + c.fail}`);
};

describe('k6 scripts without k6: options from the environment', () => {
  test('k6/doh.ts: scenarios constant, ramping and smoke; thresholds; TLS and hosts options', () => {
    const c = runUnderShim('k6/doh.ts', { RATE: '300', DURATION: '7s', INSECURE: '1', P99_MS: '25', MAX_ERROR_RATE: '0.05', HOSTS: 'dns.example.test=127.0.0.1' }, []);
    assert.deepEqual(c.options.scenarios.doh, { executor: 'constant-arrival-rate', exec: 'doh', rate: 300, timeUnit: '1s', duration: '7s', preAllocatedVUs: 20, maxVUs: 200 });
    assert.deepEqual(c.options.thresholds.dns_latency, ['p(99)<25']);
    assert.deepEqual(c.options.thresholds.dns_success, ['rate>=0.95']);
    assert.deepEqual(c.options.thresholds['dns_responses{rcode:SERVFAIL}'], []);
    assert.equal(c.options.insecureSkipTLSVerify, true);
    assert.deepEqual((c.options as unknown as { hosts: Record<string, string> }).hosts, { 'dns.example.test': '127.0.0.1' });
    const r = runUnderShim('k6/doh.ts', { SCENARIO: 'ramping', RATE: '1000', STAGES: '5s:100,10s:1000,5s:0', MAX_SERVFAIL: '0' }, []);
    assert.equal(r.options.scenarios.doh!.executor, 'ramping-arrival-rate');
    assert.deepEqual(r.options.scenarios.doh!.stages, [{ duration: '5s', target: 100 }, { duration: '10s', target: 1000 }, { duration: '5s', target: 0 }]);
    assert.deepEqual(r.options.thresholds['dns_responses{rcode:SERVFAIL}'], ['count<=0']);
    assert.equal(r.options.insecureSkipTLSVerify, false);
    const d = runUnderShim('k6/doh.ts', { SCENARIO: 'ramping', RATE: '500' }, []);
    assert.deepEqual((d.options.scenarios.doh!.stages as { target: number }[]).map((x) => x.target), [500, 500, 0]);
    assert.equal(runUnderShim('k6/doh.ts', { SCENARIO: 'smoke', ITERATIONS: '5' }, []).options.scenarios.doh!.iterations, 5);
  });

  test('k6/metrics-scrape.ts: scrape-only and with DoH load; thresholds from MIN_WORKERS and the MAX_ variables', () => {
    const a = runUnderShim('k6/metrics-scrape.ts', { SCRAPE_INTERVAL: '2', DURATION: '20s', MIN_WORKERS: '2', MAX_RSS_MB: '512' }, []);
    assert.deepEqual(Object.keys(a.options.scenarios), ['scrape']);
    assert.deepEqual(a.options.scenarios.scrape, { executor: 'constant-arrival-rate', exec: 'scrape', rate: 1, timeUnit: '2s', duration: '20s', preAllocatedVUs: 1, maxVUs: 1 });
    assert.deepEqual(a.options.thresholds.kdns_workers_alive, ['min>=2']);
    assert.deepEqual(a.options.thresholds.kdns_rss_mb, ['max<=512']);
    assert.deepEqual(a.options.thresholds.kdns_worker_restarts, ['count<=0']);
    assert.equal(a.options.thresholds.dns_latency, undefined, 'no DoH thresholds without DoH load');
    const b = runUnderShim('k6/metrics-scrape.ts', { LOAD: 'doh', DURATION: '10s', SCRAPE_INTERVAL: '1' }, []);
    assert.deepEqual(Object.keys(b.options.scenarios).sort(), ['doh', 'scrape']);
    assert.equal(b.options.scenarios.scrape!.duration, '12s', 'scrapes go on 2 intervals after the load');
    assert.deepEqual(b.options.thresholds['dns_latency{scenario:doh}'], ['p(99)<100']);
    assert.deepEqual(b.options.thresholds['http_req_failed{scenario:doh}'], ['rate<=0.01']);
  });
});

describe('k6 scripts without k6: iterations against kdns over DoH', () => {
  let s: RunningServer | undefined;
  let skip: string | undefined = opensslMissing();
  let metricsPort = 0;
  let dir = '';
  before(async () => {
    if (skip) return;
    dir = tempDir();
    const certs = localCertificates(dir);
    try {
      ({ server: s, metricsPort } = await startDohKdns(certs, { workers: 2, cache: true }));
    } catch (err) {
      skip = noDoh(err);
    }
    writeFileSync(join(dir, 'queries.txt'), '# for the shim runs\nkubernetes.default.svc.cluster.local A\nnope.default.svc.cluster.local A\n_https._tcp.kubernetes.default.svc.cluster.local SRV\nkubernetes.default.svc.cluster.local AAAA\n');
  });
  after(async () => {
    await s?.stop();
  });

  for (const method of ['GET', 'POST', 'both']) {
    test(`k6/doh.ts default function, METHOD=${method}: checks pass, metrics recorded per RCODE`, (t) => {
      if (skip || !s) return t.skip(skip);
      const r = runUnderShim('k6/doh.ts', { DOH_URL: `https://127.0.0.1:${s.port}/dns-query`, METHOD: method, INSECURE: '1', QUERIES: join(dir, 'queries.txt'), MIN_ANSWERS: '0' }, [['default', 12, 0]]);
      assert.equal(r.requests.length, 12);
      assert.deepEqual([...new Set(r.requests.map((x) => x.method))].sort(), method === 'both' ? ['GET', 'POST'] : [method]);
      assert.ok(r.requests.every((x) => x.status === 200 && x.tags.name === `doh-${x.method}`));
      if (method !== 'POST') assert.ok(r.requests.filter((x) => x.method === 'GET').every((x) => /\?dns=[A-Za-z0-9_-]+$/.test(x.url)), 'GET carries ?dns=base64url');
      allChecksPass(r);
      assert.equal(r.checks['HTTP 200']!.pass, 12);
      assert.ok(samplesOf(r, 'dns_success').every((x) => x.v === 1));
      assert.equal(samplesOf(r, 'dns_latency').length, 12);
      assert.equal(r.metrics.dns_latency!.isTime, true);
      const byRcode = (rc: string): number => samplesOf(r, 'dns_responses').filter((x) => x.tags.rcode === rc).length;
      assert.equal(byRcode('NXDOMAIN'), 3, 'one name in four does not exist');
      assert.equal(byRcode('NOERROR'), 9);
      assert.ok(samplesOf(r, 'dns_min_ttl').every((x) => x.v >= 1 && x.v <= 5), 'TTL 5, or less from the cache');
      assert.ok(samplesOf(r, 'dns_answers').some((x) => x.v === 1 && x.tags.qtype === 'SRV'));
    });
  }

  test('k6/doh.ts: a rejected RCODE and a missing answer fail the checks and dns_success', (t) => {
    if (skip || !s) return t.skip(skip);
    const r = runUnderShim('k6/doh.ts', { DOH_URL: `https://127.0.0.1:${s.port}/dns-query`, INSECURE: '1', NAMES: 'nope.default.svc.cluster.local,kubernetes.default.svc.cluster.local:TXT', ACCEPT_RCODES: 'NOERROR', MIN_ANSWERS: '1' }, [['default', 2, 0]]);
    assert.deepEqual(r.checks['RCODE accepted'], { pass: 1, fail: 1 });
    assert.deepEqual(r.checks['NOERROR has >= 1 answers'], { pass: 1, fail: 1 }, 'NODATA has no answer');
    assert.deepEqual(samplesOf(r, 'dns_success').map((x) => x.v), [0, 1]);
    assert.equal(r.checks['HTTP 200']!.fail, 0);
  });

  test('k6/doh.ts without INSECURE: the test certificate is refused (no DNS metrics, dns_success 0)', (t) => {
    if (skip || !s) return t.skip(skip);
    const r = runUnderShim('k6/doh.ts', { DOH_URL: `https://127.0.0.1:${s.port}/dns-query` }, [['default', 1, 0]]);
    assert.equal(r.checks['HTTP 200']!.fail, 1);
    assert.deepEqual(samplesOf(r, 'dns_success').map((x) => x.v), [0]);
    assert.equal(samplesOf(r, 'dns_latency').length, 0);
  });

  test('k6/metrics-scrape.ts with LOAD=doh: scrape, 20 DoH queries, scrape; rates, workers, RSS, cache', (t) => {
    if (skip || !s) return t.skip(skip);
    const r = runUnderShim('k6/metrics-scrape.ts', {
      LOAD: 'doh', DOH_URL: `https://127.0.0.1:${s.port}/dns-query`, INSECURE: '1', QUERIES: join(dir, 'queries.txt'),
      METRICS_URL: `http://127.0.0.1:${metricsPort}/metrics`, MIN_WORKERS: '2',
    }, [['scrape', 1, 0], ['doh', 20, 300], ['scrape', 1, 0]]);
    allChecksPass(r);
    assert.deepEqual(samplesOf(r, 'kdns_scrape_ok').map((x) => x.v), [1, 1]);
    assert.deepEqual(samplesOf(r, 'kdns_workers_alive').map((x) => x.v), [2, 2]);
    assert.ok(samplesOf(r, 'kdns_rss_bytes').every((x) => x.v > 10e6));
    const rps = samplesOf(r, 'kdns_requests_per_second');
    assert.equal(rps.length, 1, 'one interval between two scrapes');
    assert.ok(rps[0]!.v > 0);
    const nx = samplesOf(r, 'kdns_responses_per_second').find((x) => x.tags.rcode === 'NXDOMAIN');
    assert.ok(nx && nx.v > 0, 'NXDOMAIN responses counted');
    assert.deepEqual(samplesOf(r, 'kdns_servfail_ratio').map((x) => x.v), [0]);
    assert.ok(samplesOf(r, 'kdns_cache_hit_ratio')[0]!.v > 0.5, 'the 20 queries repeat 4 names');
    assert.ok(samplesOf(r, 'kdns_server_p99')[0]!.v > 0);
    assert.deepEqual(samplesOf(r, 'kdns_worker_restarts').map((x) => x.v), [0]);
    const ok200 = samplesOf(r, 'kdns_https_responses_per_second').find((x) => x.tags.status === '200');
    assert.ok(ok200 && ok200.v > 0, 'DoH 200s counted (coredns_dns_https_responses_total)');
    // The scrape requests are tagged apart from the DoH ones.
    assert.deepEqual(r.requests.filter((x) => x.tags.name === 'metrics').length, 2);
  });

  test('k6/metrics-scrape.ts: a dead endpoint fails kdns_scrape_ok', (t) => {
    if (skip || !s) return t.skip(skip);
    const r = runUnderShim('k6/metrics-scrape.ts', { METRICS_URL: `http://127.0.0.1:${s.port}/nothing-here` }, [['scrape', 1, 0]]);
    assert.deepEqual(samplesOf(r, 'kdns_scrape_ok').map((x) => x.v), [0]);
  });
});

// ---------------------------------------------------------------------------------------------
// k6 itself, where it is installed

function runK6(script: string, env: Record<string, string>, timeoutMs = 60_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const args = ['run', '--quiet', '--no-usage-report', ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]), script];
    const p = spawn(K6!, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe('k6 runs the scripts against kdns', { skip: NO_K6 }, () => {
  let s: RunningServer | undefined;
  let metricsPort = 0;
  let skipDoh: string | undefined = opensslMissing();
  before(async () => {
    if (skipDoh) return;
    const certs = localCertificates();
    try {
      ({ server: s, metricsPort } = await startDohKdns(certs, { workers: 2 }));
    } catch (err) {
      skipDoh = noDoh(err);
    }
  });
  after(async () => {
    await s?.stop();
  });

  test('k6/doh.ts: 3 s of GET and POST, thresholds pass', async (t) => {
    if (skipDoh || !s) return t.skip(skipDoh);
    const r = await runK6('k6/doh.ts', { DOH_URL: `https://127.0.0.1:${s.port}/dns-query`, INSECURE: '1', METHOD: 'both', RATE: '50', DURATION: '3s', VUS: '5' });
    assert.equal(r.code, 0, r.out);
  });

  test('k6/metrics-scrape.ts with its own DoH load: scrapes every second, workers threshold passes', async (t) => {
    if (skipDoh || !s) return t.skip(skipDoh);
    const r = await runK6('k6/metrics-scrape.ts', {
      LOAD: 'doh', DOH_URL: `https://127.0.0.1:${s.port}/dns-query`, INSECURE: '1', RATE: '50', DURATION: '3s', VUS: '5',
      METRICS_URL: `http://127.0.0.1:${metricsPort}/metrics`, SCRAPE_INTERVAL: '1', MIN_WORKERS: '2',
    });
    assert.equal(r.code, 0, r.out);
  });
});
