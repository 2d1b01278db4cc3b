// autopath end to end: the real CLI watching the fake API server (its own process), an upstream
// in this process, queries over UDP from loopback addresses that the cluster gives to pods of
// different namespaces (127.0.0.N as endpoint addresses). Expected answers as CoreDNS 1.12.2's
// autopath gives them (README: the differences).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { endpointSlice, namespace, pod, service, startFakeApiServer, type RunningFakeApiServer } from './fake-apiserver/index.ts';
import { udpQuery } from './helpers/dns-client.ts';
import type { Reply } from './helpers/decode.ts';
import { type RunningServer, configError, freePort, startServer, tempDir } from './helpers/server-process.ts';
import { scrapeMetrics } from './helpers/scrape.ts';
import { startFaultServer, type FaultServer } from './upstream/fault-server.ts';

const DEMO = '127.0.0.1'; // an endpoint of demo/web
const OTHER = '127.0.0.2'; // an endpoint of other/db
const STRANGER = '127.0.0.3'; // no Service's endpoint, no pod
const POD_ONLY = '127.0.0.4'; // a demo pod behind no Service (known with `pods verified` only)

const CLUSTER = [
  namespace('default'), namespace('demo'), namespace('other'),
  service({ name: 'web', ns: 'demo', clusterIP: '10.96.1.1', ports: [{ name: 'http', port: 80 }] }),
  endpointSlice({ name: 'web-1', ns: 'demo', service: 'web', ports: [{ name: 'http', port: 80 }], endpoints: [{ addresses: [DEMO] }, { addresses: ['::1'] }] }),
  service({ name: 'db', ns: 'other', clusterIP: '10.96.1.2', ports: [{ name: 'pg', port: 5432 }] }),
  endpointSlice({ name: 'db-1', ns: 'other', service: 'db', ports: [{ name: 'pg', port: 5432 }], endpoints: [{ addresses: [OTHER] }] }),
  service({ name: 'api', ns: 'default', clusterIP: '10.96.1.3', ports: [{ port: 443 }] }),
  pod({ name: 'job-1', ns: 'demo', ip: POD_ONLY }),
];

let api: RunningFakeApiServer;
let upstream: FaultServer;
let kdns: RunningServer;
let verified: RunningServer;
let metricsPort: number;

function corefile(pods: string, prom: string): string {
  return `.:{PORT} {
    ${prom}
    autopath @kubernetes
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        endpoint ${api.url}
        pods ${pods}
    }
    forward . ${upstream.address}
}
`;
}

before(async () => {
  api = await startFakeApiServer({});
  await api.client.bulk(CLUSTER);
  upstream = await startFaultServer({ zone: 'test' });
  upstream.setRecords('www.example.test', [{ type: 'A', ttl: 60, data: '192.0.2.80' }]);
  upstream.setRecords('intranet.corp.test', [{ type: 'A', ttl: 30, data: '192.0.2.81' }]);
  const dir = tempDir();
  const hostResolv = join(dir, 'resolv.conf');
  writeFileSync(hostResolv, 'nameserver 192.0.2.53\nsearch corp.test\n');
  const env = { KDNS_TEST_HOOKS: '1', KDNS_TEST_HOST_RESOLV_CONF: hostResolv };
  metricsPort = await freePort();
  kdns = await startServer(corefile('insecure', `prometheus 127.0.0.1:${metricsPort}`), { workers: 2, env });
  verified = await startServer(corefile('verified', ''), { workers: 1, env });
  await kdns.waitFor(/plugin\/kubernetes: serving/);
  await verified.waitFor(/plugin\/kubernetes: serving/);
});

after(async () => {
  await kdns?.stop();
  await verified?.stop();
  await upstream?.stop();
  await api?.stop();
});

const q = (name: string, from: string, type = 'A', server = kdns): Promise<Reply> => udpQuery(server.port, name, { type, from });
const data = (r: Reply): string[] => r.answers.map((a) => `${a.name} ${a.type} ${typeof a.data === 'string' ? a.data : JSON.stringify(a.data)}`);

describe('autopath @kubernetes', () => {
  test('an outside name from a pod: one query, CNAME from the first search element to the answer', async () => {
    upstream.reset();
    const r = await q('www.example.test.demo.svc.cluster.local', DEMO);
    assert.equal(r.rcode, 'NOERROR');
    assert.deepEqual(data(r), [
      'www.example.test.demo.svc.cluster.local CNAME www.example.test',
      'www.example.test A 192.0.2.80',
    ]);
    assert.equal(r.answers[0]!.ttl, 60, 'the CNAME takes the TTL of the record it points at, as CoreDNS');
    assert.equal(r.questions[0]!.name, 'www.example.test.demo.svc.cluster.local');
    // The host's search domain was tried upstream, then the name itself.
    assert.deepEqual(upstream.queries().map((x) => x.name), ['www.example.test.corp.test', 'www.example.test']);
  });

  test('the host\'s search domain answers: CNAME to the name under it', async () => {
    const r = await q('intranet.demo.svc.cluster.local', DEMO);
    assert.deepEqual(data(r), ['intranet.demo.svc.cluster.local CNAME intranet.corp.test', 'intranet.corp.test A 192.0.2.81']);
  });

  test('a Service of another namespace by its short form (`db.other` from demo)', async () => {
    const r = await q('db.other.demo.svc.cluster.local', DEMO);
    assert.equal(r.rcode, 'NOERROR');
    assert.ok(r.flag_aa, 'authoritative, as the kubernetes plugin\'s answer');
    assert.deepEqual(data(r), ['db.other.demo.svc.cluster.local CNAME db.other.svc.cluster.local', 'db.other.svc.cluster.local A 10.96.1.2']);
    assert.equal(r.answers[0]!.ttl, 5);
  });

  test('an IPv6 client: its namespace from its ip6.arpa PTR', async () => {
    const r = await q('db.other.demo.svc.cluster.local', '::1');
    assert.deepEqual(data(r), ['db.other.demo.svc.cluster.local CNAME db.other.svc.cluster.local', 'db.other.svc.cluster.local A 10.96.1.2']);
  });

  test('a namespace name under svc answers NODATA (not NXDOMAIN): returned, with the SOA', async () => {
    const r = await q('other.demo.svc.cluster.local', DEMO);
    assert.equal(r.rcode, 'NOERROR');
    assert.deepEqual(r.answers, []);
    assert.equal(r.authorities[0]?.type, 'SOA');
  });

  test('nothing anywhere: the first element\'s NXDOMAIN, and the client walks on itself', async () => {
    upstream.reset();
    const r = await q('nothing-here.demo.svc.cluster.local', DEMO);
    assert.equal(r.rcode, 'NXDOMAIN');
    assert.equal(r.questions[0]!.name, 'nothing-here.demo.svc.cluster.local');
    assert.equal(r.authorities[0]?.type, 'SOA');
    assert.deepEqual(upstream.queries().map((x) => x.name), ['nothing-here.corp.test', 'nothing-here']);
  });

  test('a name the cluster has: answered as without autopath', async () => {
    const r = await q('web.demo.svc.cluster.local', DEMO);
    assert.deepEqual(data(r), ['web.demo.svc.cluster.local A 10.96.1.1']);
  });

  test('only the client\'s own first element: other namespaces, unknown clients and other names are not completed', async () => {
    upstream.reset();
    // A pod of `other` asking under demo: a later element of its path, or a full name.
    assert.equal((await q('www.example.test.demo.svc.cluster.local', OTHER)).rcode, 'NXDOMAIN');
    // Not an endpoint of any Service, and no pod watch here (pods insecure).
    assert.equal((await q('www.example.test.demo.svc.cluster.local', STRANGER)).rcode, 'NXDOMAIN');
    assert.equal((await q('www.example.test.demo.svc.cluster.local', POD_ONLY)).rcode, 'NXDOMAIN');
    // Later elements of demo's own path are not the first.
    assert.equal((await q('www.example.test.svc.cluster.local', DEMO)).rcode, 'NXDOMAIN');
    assert.equal((await q('www.example.test.cluster.local', DEMO)).rcode, 'NXDOMAIN');
    assert.equal(upstream.count(), 0, 'no walk was made');
    const other = await q('www.example.test.other.svc.cluster.local', OTHER);
    assert.deepEqual(data(other)[0], 'www.example.test.other.svc.cluster.local CNAME www.example.test');
  });

  test('coredns_autopath_success_total counts each completed query, a first element that answers included', async () => {
    const before = (await scrapeMetrics(metricsPort)).sum('coredns_autopath_success_total');
    await q('db.other.demo.svc.cluster.local', DEMO);
    await q('web.demo.svc.cluster.local', DEMO);
    await q('nothing-here.demo.svc.cluster.local', DEMO);
    await q('db.other.demo.svc.cluster.local', STRANGER);
    const s = await scrapeMetrics(metricsPort);
    assert.equal(s.sum('coredns_autopath_success_total') - before, 2);
    assert.equal(s.series('coredns_autopath_success_total')[0]?.labels.server, 'dns://:' + kdns.port);
  });

  test('pods verified: a pod behind no Service is known by its pod record', async () => {
    const r = await q('db.other.demo.svc.cluster.local', POD_ONLY, 'A', verified);
    assert.deepEqual(data(r), ['db.other.demo.svc.cluster.local CNAME db.other.svc.cluster.local', 'db.other.svc.cluster.local A 10.96.1.2']);
    assert.equal((await q('db.other.demo.svc.cluster.local', STRANGER, 'A', verified)).rcode, 'NXDOMAIN');
  });

  test('AAAA: the first element with an answer of that type or NODATA, as the client would take it', async () => {
    const r = await q('db.other.demo.svc.cluster.local', DEMO, 'AAAA');
    assert.equal(r.rcode, 'NOERROR');
    assert.deepEqual(r.answers, [], 'db.other.svc.cluster.local has no AAAA: NODATA under the client\'s name');
    assert.equal(r.questions[0]!.name, 'db.other.demo.svc.cluster.local');
  });
});

test('autopath RESOLV-CONF: one search list for every client', async () => {
  const dir = tempDir();
  const resolv = join(dir, 'search.conf');
  writeFileSync(resolv, '# search path\nsearch a.test b.test\n');
  const s = await startServer(`.:{PORT} {\n    autopath ${resolv}\n    hosts {\n        10.1.0.7 www.b.test\n    }\n}\n`, { workers: 1 });
  try {
    const r = await udpQuery(s.port, 'www.a.test', {});
    assert.deepEqual(data(r), ['www.a.test CNAME www.b.test', 'www.b.test A 10.1.0.7']);
    // Not under the first domain: not completed (hosts answers a name it lacks with SERVFAIL, as CoreDNS's).
    const other = await udpQuery(s.port, 'www.c.test', {});
    assert.equal(other.rcode, 'SERVFAIL');
    assert.deepEqual(other.answers, []);
  } finally {
    await s.stop();
  }
});

test('autopath config errors name the file and line', async () => {
  const dir = tempDir();
  const empty = join(dir, 'empty.conf');
  writeFileSync(empty, 'nameserver 10.0.0.1\n');
  const cases: Array<[string, RegExp]> = [
    ['autopath', /Corefile:2:\d+: autopath needs a RESOLV-CONF/],
    ['autopath @etcd', /Corefile:2:\d+: autopath cannot take a search path from 'etcd'.*@kubernetes/s],
    ['autopath /nonexistent/resolv.conf', /Corefile:2:\d+: cannot read \/nonexistent\/resolv.conf/],
    [`autopath ${empty}`, /Corefile:2:\d+: no search domains in/],
    ['autopath @kubernetes {\n        x\n    }', /Corefile:2:\d+: .*block/],
  ];
  for (const [line, re] of cases) {
    const out = await configError(`.:1053 {\n    ${line}\n    whoami\n}\n`);
    assert.match(out, re, line);
  }
});
