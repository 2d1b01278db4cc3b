// k8s_external end to end: the real CLI watching the fake API server (its own process), queried
// over UDP on loopback. The expected answers are CoreDNS 1.12.2's on the same cluster (run side
// by side from ../shared/peers while this was written), except where the plugin's README lists a
// deliberate difference.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { endpointSlice, namespace, service, startFakeApiServer, type RunningFakeApiServer } from './fake-apiserver/index.ts';
import { udpQuery } from './helpers/dns-client.ts';
import type { Reply } from './helpers/decode.ts';
import { type RunningServer, configError, startServer } from './helpers/server-process.ts';
import { eventually } from './helpers/eventually.ts';

let api: RunningFakeApiServer;
let kdns: RunningServer;

const lb = (ingress: Array<{ ip?: string; hostname?: string }>, externalIPs = ['198.51.100.7']) =>
  service({ name: 'lb', ns: 'demo', type: 'LoadBalancer', clusterIP: '10.96.0.20', ports: [{ name: 'http', port: 80 }, { name: 'dns', port: 53, protocol: 'UDP' }], externalIPs, loadBalancerIngress: ingress });

const CLUSTER = [
  namespace('default'), namespace('demo'),
  lb([{ ip: '203.0.113.10' }, { ip: '2001:db8::10' }]),
  service({ name: 'ext', ns: 'demo', clusterIP: '10.96.0.21', ports: [{ name: 'https', port: 443 }, 8443], externalIPs: ['198.51.100.8'] }),
  service({ name: 'byname', ns: 'demo', type: 'LoadBalancer', clusterIP: '10.96.0.22', ports: [{ name: 'http', port: 80 }], loadBalancerIngress: [{ hostname: 'lb.example.net' }] }),
  service({ name: 'plain', ns: 'demo', clusterIP: '10.96.0.23', ports: [{ name: 'http', port: 80 }] }),
  endpointSlice({ name: 'plain-1', ns: 'demo', service: 'plain', ports: [{ name: 'http', port: 80 }], endpoints: [{ addresses: ['10.244.2.5'], hostname: 'p-0' }] }),
  service({ name: 'hl', ns: 'demo', clusterIP: 'None', ports: [{ name: 'http', port: 8080 }] }),
  endpointSlice({ name: 'hl-1', ns: 'demo', service: 'hl', ports: [{ name: 'http', port: 8080 }], endpoints: [
    { addresses: ['10.244.1.5'], hostname: 'web-0' }, { addresses: ['10.244.1.6'] }, { addresses: ['10.244.1.7'], ready: false },
  ] }),
];

function corefile(url: string): string {
  const kube = `    kubernetes cluster.local {\n        endpoint ${url}\n    }\n`;
  return [
    `.:{PORT} {\n    bind 127.0.0.1\n    k8s_external example.org 113.0.203.in-addr.arpa {\n        headless\n        ttl 7\n    }\n${kube}}`,
    `plain.test:{PORT} {\n    bind 127.0.0.1\n    k8s_external {\n        apex ns\n        fallthrough\n    }\n${kube}    whoami\n}`,
  ].join('\n') + '\n';
}

before(async () => {
  api = await startFakeApiServer({});
  await api.client.bulk(CLUSTER);
  kdns = await startServer(corefile(api.url), { workers: 2 });
});

after(async () => {
  await kdns?.stop();
  await api?.stop();
});

const q = (name: string, type = 'A'): Promise<Reply> => udpQuery(kdns.port, name, { type });
const data = (rrs: Reply['answers']): string[] => rrs.filter((r) => r.type !== 'OPT').map((r) => `${r.type} ${typeof r.data === 'string' ? r.data : JSON.stringify(r.data)}`).sort();
const soaOf = (r: Reply) => r.authorities.find((a) => a.type === 'SOA');

test('external IPs and load balancer IPs: A and AAAA with the ttl option, authoritative', async () => {
  const a = await q('lb.demo.example.org');
  assert.equal(a.rcode, 'NOERROR');
  assert.ok(a.flag_aa);
  assert.deepEqual(data(a.answers), ['A 198.51.100.7', 'A 203.0.113.10']);
  assert.ok(a.answers.every((r) => r.ttl === 7));
  assert.deepEqual(data((await q('lb.demo.example.org', 'AAAA')).answers), ['AAAA 2001:db8::10']);
  assert.deepEqual(data((await q('ext.demo.example.org')).answers), ['A 198.51.100.8']);
  // The cluster zone is the kubernetes plugin's as before.
  assert.deepEqual(data((await q('lb.demo.svc.cluster.local')).answers), ['A 10.96.0.20']);
});

test('SRV: every port at the name, named ports under _port._proto, CoreDNS weights, addresses in additional', async () => {
  const own = await q('lb.demo.example.org', 'SRV');
  // 3 addresses x 2 ports = 6 candidates at the name: 100 / 6 = 16 each (CoreDNS), folded to 2.
  assert.deepEqual(data(own.answers), [
    'SRV {"priority":0,"weight":16,"port":53,"target":"lb.demo.example.org"}',
    'SRV {"priority":0,"weight":16,"port":80,"target":"lb.demo.example.org"}',
  ]);
  assert.ok(own.answers.every((r) => r.ttl === 5), 'SRV keeps the kubernetes plugin ttl (5), as CoreDNS');
  assert.deepEqual(data(own.additionals), ['A 198.51.100.7', 'A 203.0.113.10', 'AAAA 2001:db8::10']);
  const http = await q('_http._tcp.lb.demo.example.org', 'SRV');
  assert.deepEqual(data(http.answers), ['SRV {"priority":0,"weight":33,"port":80,"target":"lb.demo.example.org"}']);
  assert.deepEqual(data(http.additionals), ['A 198.51.100.7', 'A 203.0.113.10', 'AAAA 2001:db8::10']);
  assert.deepEqual(data((await q('_dns._udp.lb.demo.example.org', 'SRV')).answers), ['SRV {"priority":0,"weight":33,"port":53,"target":"lb.demo.example.org"}']);
  // An unnamed port is in the SRV at the name only.
  assert.deepEqual(data((await q('ext.demo.example.org', 'SRV')).answers), [
    'SRV {"priority":0,"weight":50,"port":443,"target":"ext.demo.example.org"}',
    'SRV {"priority":0,"weight":50,"port":8443,"target":"ext.demo.example.org"}',
  ]);
});

test('NODATA, NXDOMAIN and the SOA of the zone: other types, namespaces, Services without external addresses', async () => {
  const txt = await q('lb.demo.example.org', 'TXT');
  assert.equal(txt.rcode, 'NOERROR');
  assert.equal(txt.answers.length, 0);
  const soa = soaOf(txt)!;
  assert.equal(soa.name, 'example.org');
  const s = soa.data as { mname: string; rname: string; refresh: number; retry: number; expire: number; minimum: number };
  assert.deepEqual([s.mname, s.rname, s.refresh, s.retry, s.expire, s.minimum], ['ns1.dns.example.org', 'hostmaster.dns.example.org', 7200, 1800, 86400, 7]);
  const ns = await q('demo.example.org');
  assert.equal(ns.rcode, 'NOERROR', 'an existing namespace is NODATA');
  assert.equal(ns.answers.length, 0);
  for (const name of ['nope.example.org', 'x.nope.example.org', 'plain.demo.example.org', 'missing.demo.example.org', 'ns2.dns.example.org']) {
    const r = await q(name);
    assert.equal(r.rcode, 'NXDOMAIN', name);
    assert.equal(soaOf(r)?.name, 'example.org', name);
  }
});

test('the apex: SOA, NS to ns1.<apex>.<zone>, the dns subdomain', async () => {
  const soa = await q('example.org', 'SOA');
  assert.equal(soa.answers[0]?.type, 'SOA');
  assert.equal(soa.answers[0]?.ttl, 7);
  assert.deepEqual(data((await q('example.org', 'NS')).answers), ['NS ns1.dns.example.org']);
  for (const name of ['example.org', 'dns.example.org', 'ns1.dns.example.org']) {
    const r = await q(name, 'A');
    assert.equal(r.rcode, 'NOERROR', name);
    assert.equal(r.answers.length, 0, name);
  }
});

test('headless: a headless Service answers with its ready endpoints, by name and SRV', async () => {
  assert.deepEqual(data((await q('hl.demo.example.org')).answers), ['A 10.244.1.5', 'A 10.244.1.6']);
  assert.deepEqual(data((await q('web-0.hl.demo.example.org')).answers), ['A 10.244.1.5']);
  assert.deepEqual(data((await q('10-244-1-6.hl.demo.example.org')).answers), ['A 10.244.1.6']);
  assert.equal((await q('10-244-1-7.hl.demo.example.org')).rcode, 'NXDOMAIN', 'not ready');
  const srv = await q('_http._tcp.hl.demo.example.org', 'SRV');
  assert.deepEqual(data(srv.answers), [
    'SRV {"priority":0,"weight":50,"port":8080,"target":"10-244-1-6.hl.demo.example.org"}',
    'SRV {"priority":0,"weight":50,"port":8080,"target":"web-0.hl.demo.example.org"}',
  ]);
  assert.deepEqual(data(srv.additionals), ['A 10.244.1.5', 'A 10.244.1.6']);
  // Without `headless` (the second block) the same Service has no name in the zone: it falls
  // through to whoami there.
  assert.deepEqual(data((await q('hl.demo.plain.test')).answers), []);
  assert.deepEqual(data((await q('web-0.hl.demo.plain.test')).answers), []);
});

test('PTR for external addresses inside the listed reverse zone', async () => {
  const r = await q('10.113.0.203.in-addr.arpa', 'PTR');
  assert.deepEqual(data(r.answers), ['PTR lb.demo.example.org']);
  assert.equal(r.answers[0]!.ttl, 7);
  const nx = await q('11.113.0.203.in-addr.arpa', 'PTR');
  assert.equal(nx.rcode, 'NXDOMAIN');
  assert.equal(soaOf(nx)?.name, '113.0.203.in-addr.arpa');
  assert.equal((soaOf(nx)!.data as { mname: string }).mname, 'ns1.dns.113.0.203.in-addr.arpa');
});

test('a load balancer known by a hostname: a CNAME to it, SRV under _port._proto', async () => {
  const a = await q('byname.demo.example.org');
  assert.deepEqual(data(a.answers), ['CNAME lb.example.net']);
  assert.deepEqual(data((await q('_http._tcp.byname.demo.example.org', 'SRV')).answers), ['SRV {"priority":0,"weight":100,"port":80,"target":"lb.example.net"}']);
});

test('apex and fallthrough options: another apex label; a name the zone lacks goes to the next plugin', async () => {
  assert.deepEqual(data((await q('plain.test', 'NS')).answers), ['NS ns1.ns.plain.test']);
  assert.deepEqual(data((await q('lb.demo.plain.test')).answers), ['A 198.51.100.7', 'A 203.0.113.10']);
  assert.equal((await q('lb.demo.plain.test')).answers[0]!.ttl, 5, 'default ttl');
  // whoami answers what k8s_external does not have.
  const next = await q('nope.plain.test');
  assert.equal(next.rcode, 'NOERROR');
  assert.ok(next.additionals.some((r) => r.type === 'A' && r.data === '127.0.0.1'), 'whoami answered');
});

test('changes follow the API: a new external IP, a load balancer losing its ingress, a deleted Service', async () => {
  await api.client.apply(lb([{ ip: '203.0.113.11' }], ['198.51.100.7', '198.51.100.9']));
  await eventually(async () => assert.deepEqual(data((await q('lb.demo.example.org')).answers), ['A 198.51.100.7', 'A 198.51.100.9', 'A 203.0.113.11']));
  assert.deepEqual(data((await q('11.113.0.203.in-addr.arpa', 'PTR')).answers), ['PTR lb.demo.example.org']);
  assert.equal((await q('10.113.0.203.in-addr.arpa', 'PTR')).rcode, 'NXDOMAIN');
  assert.equal((await q('lb.demo.example.org', 'AAAA')).answers.length, 0);
  await api.client.apply(lb([], []));
  await eventually(async () => assert.equal((await q('lb.demo.example.org')).rcode, 'NXDOMAIN'));
  await api.client.delete({ kind: 'Service', namespace: 'demo', name: 'ext' });
  await eventually(async () => assert.equal((await q('ext.demo.example.org')).rcode, 'NXDOMAIN'));
  // The cluster zone changed with it.
  assert.equal((await q('ext.demo.svc.cluster.local')).rcode, 'NXDOMAIN');
});

test('configuration errors: no kubernetes in the block, bad ttl, bad apex, unknown option', async () => {
  assert.match(await configError('.:1053 {\n    k8s_external example.org\n    whoami\n}\n'), /Corefile:2:5: k8s_external serves the kubernetes plugin's Services and there is none in this server block/);
  const kube = '    kubernetes cluster.local {\n        endpoint http://127.0.0.1:1\n    }\n';
  assert.match(await configError(`.:1053 {\n    k8s_external example.org {\n        ttl 4000\n    }\n${kube}}\n`), /Corefile:3:13: 4000 is out of range/);
  assert.match(await configError(`.:1053 {\n    k8s_external example.org {\n        apex a.b\n    }\n${kube}}\n`), /Corefile:3:14: 'a.b' is not a DNS label/);
  assert.match(await configError(`.:1053 {\n    k8s_external example.org {\n        upstream\n    }\n${kube}}\n`), /Corefile:3:9: unknown option 'upstream' for k8s_external/);
});
