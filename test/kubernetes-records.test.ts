// Kubernetes DNS spec 1.1.0 record rules, from trimmed API objects to records and then through
// the record store and the worker's answer path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endpointsOf, packEndpoints, trimEndpointSlice, trimService } from '../src/plugins/kubernetes/model.ts';
import { dashedAddress, serviceRecords, type RecordOptions } from '../src/plugins/kubernetes/records.ts';
import { reverseName } from '../src/dns/ip.ts';

const opts: RecordOptions = { zone: 'cluster.local.', ttl: 5, endpointPodNames: false, inReverseZone: () => true };

const svc = (spec: Record<string, unknown>, name = 'web', ns = 'demo') => trimService({ metadata: { name, namespace: ns }, spec });
const slice = (endpoints: unknown[], ports: unknown[] = [{ name: 'http', port: 8080, protocol: 'TCP' }], service = 'web') =>
  trimEndpointSlice({ metadata: { name: `${service}-abc`, namespace: 'demo', labels: { 'kubernetes.io/service-name': service } }, addressType: 'IPv4', endpoints, ports });
const show = (rrs: ReturnType<typeof serviceRecords>) => rrs.map((r) => `${r.name} ${r.type} ${typeof r.data === 'string' ? r.data : JSON.stringify(r.data)}`).sort();

test('addresses as hostnames and reverse names', () => {
  assert.equal(dashedAddress('10.244.1.5'), '10-244-1-5');
  assert.equal(dashedAddress('fd00::1'), 'fd00--1');
  assert.equal(reverseName('10.96.0.10'), '10.0.96.10.in-addr.arpa.');
  assert.equal(reverseName('fd00::1'), `1.${'0.'.repeat(29)}d.f.ip6.arpa.`);
});

test('ClusterIP, dual-stack: A and AAAA, SRV for named ports only, PTR for each ClusterIP', () => {
  const s = svc({ type: 'ClusterIP', clusterIP: '10.96.1.20', clusterIPs: ['10.96.1.20', 'fd00:10:96::1:20'], ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { port: 9090 }] });
  assert.deepEqual(show(serviceRecords(s, [], opts)), [
    '0.2.0.0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa. PTR web.demo.svc.cluster.local.',
    '20.1.96.10.in-addr.arpa. PTR web.demo.svc.cluster.local.',
    // One candidate per ClusterIP and port, folded afterwards: two ClusterIPs give 50, not 100
    // (CoreDNS 1.12.2 answers the same, checked side by side against the fake API server).
    '_http._tcp.web.demo.svc.cluster.local. SRV {"priority":0,"weight":50,"port":80,"target":"web.demo.svc.cluster.local."}',
    'web.demo.svc.cluster.local. A 10.96.1.20',
    'web.demo.svc.cluster.local. AAAA fd00:10:96::1:20',
    // CoreDNS answers SRV at the bare service name with every port, unnamed ones too.
    'web.demo.svc.cluster.local. SRV {"priority":0,"weight":25,"port":80,"target":"web.demo.svc.cluster.local."}',
    'web.demo.svc.cluster.local. SRV {"priority":0,"weight":25,"port":9090,"target":"web.demo.svc.cluster.local."}',
  ]);
});

test('headless: ready endpoints only, hostnames, SRV per endpoint x port with shared weight, PTR to the hostname', () => {
  const s = svc({ clusterIP: 'None', ports: [{ name: 'http', port: 80 }] });
  const sl = slice([
    { addresses: ['10.244.1.5'], conditions: { ready: true }, hostname: 'db-0' },
    { addresses: ['10.244.2.7'] }, // no conditions: ready
    { addresses: ['10.244.3.9'], conditions: { ready: false } },
  ]);
  assert.deepEqual(show(serviceRecords(s, [sl], opts)), [
    '10-244-2-7.web.demo.svc.cluster.local. A 10.244.2.7',
    '5.1.244.10.in-addr.arpa. PTR db-0.web.demo.svc.cluster.local.',
    '7.2.244.10.in-addr.arpa. PTR 10-244-2-7.web.demo.svc.cluster.local.',
    '_http._tcp.web.demo.svc.cluster.local. SRV {"priority":0,"weight":50,"port":8080,"target":"10-244-2-7.web.demo.svc.cluster.local."}',
    '_http._tcp.web.demo.svc.cluster.local. SRV {"priority":0,"weight":50,"port":8080,"target":"db-0.web.demo.svc.cluster.local."}',
    'db-0.web.demo.svc.cluster.local. A 10.244.1.5',
    'web.demo.svc.cluster.local. A 10.244.1.5',
    'web.demo.svc.cluster.local. A 10.244.2.7',
    'web.demo.svc.cluster.local. SRV {"priority":0,"weight":50,"port":8080,"target":"10-244-2-7.web.demo.svc.cluster.local."}',
    'web.demo.svc.cluster.local. SRV {"priority":0,"weight":50,"port":8080,"target":"db-0.web.demo.svc.cluster.local."}',
  ]);
  const all = serviceRecords(trimService({ metadata: { name: 'web', namespace: 'demo' }, spec: { clusterIP: 'None', publishNotReadyAddresses: true } }), [sl], opts);
  assert.ok(all.some((r) => r.data === '10.244.3.9'), 'publishNotReadyAddresses keeps not-ready endpoints');
});

test('endpoint_pod_names uses the pod name when the endpoint has no hostname', () => {
  const s = svc({ clusterIP: 'None' });
  const sl = slice([{ addresses: ['10.244.1.5'], targetRef: { kind: 'Pod', name: 'web-7d9f' } }]);
  assert.ok(show(serviceRecords(s, [sl], { ...opts, endpointPodNames: true })).includes('web-7d9f.web.demo.svc.cluster.local. A 10.244.1.5'));
  assert.ok(show(serviceRecords(s, [sl], opts)).includes('10-244-1-5.web.demo.svc.cluster.local. A 10.244.1.5'));
});

test('ExternalName: a CNAME and nothing else', () => {
  const s = svc({ type: 'ExternalName', externalName: 'db.example.org' });
  assert.deepEqual(show(serviceRecords(s, [], opts)), ['web.demo.svc.cluster.local. CNAME db.example.org.']);
});

test('reverse zones not served get no PTR', () => {
  const s = svc({ clusterIP: '10.96.1.20' });
  assert.equal(serviceRecords(s, [], { ...opts, inReverseZone: () => false }).filter((r) => r.type === 'PTR').length, 0);
});

test('ClusterIP services also name their ready endpoints, with PTRs to those names', () => {
  const s = svc({ clusterIP: '10.96.1.20', ports: [{ name: 'http', port: 80 }] });
  const sl = slice([{ addresses: ['10.244.1.5'], hostname: 'a' }, { addresses: ['10.244.2.7'], conditions: { ready: false } }]);
  const rrs = show(serviceRecords(s, [sl], opts));
  assert.ok(rrs.includes('a.web.demo.svc.cluster.local. A 10.244.1.5'));
  assert.ok(rrs.includes('5.1.244.10.in-addr.arpa. PTR a.web.demo.svc.cluster.local.'));
  assert.ok(!rrs.some((r) => r.includes('10.244.2.7') || r.includes('10-244-2-7')), 'not-ready endpoints get nothing');
  assert.deepEqual(rrs.filter((r) => r.startsWith('web.demo.svc.cluster.local. A')), ['web.demo.svc.cluster.local. A 10.96.1.20'], 'the service name stays the ClusterIP');
});

test('SRV weights: floor(100 / n), never below 1; the same target and port once', () => {
  const s = svc({ clusterIP: 'None' });
  const eps = Array.from({ length: 150 }, (_, i) => ({ addresses: [`10.244.${i >> 8}.${i & 255}`] }));
  const rrs = serviceRecords(s, [slice(eps), slice(eps.slice(0, 3))], opts).filter((r) => r.name.startsWith('_http'));
  assert.equal(rrs.length, 150, 'an address in two slices is one SRV record');
  assert.ok(rrs.every((r) => (r.data as { weight: number }).weight === 1));
  const three = serviceRecords(s, [slice(eps.slice(0, 3))], opts).filter((r) => r.name.startsWith('_http'));
  assert.deepEqual(three.map((r) => (r.data as { weight: number }).weight), [33, 33, 33]);
  // The weight counts candidates before they fold, as CoreDNS: 5 targets holding 6 addresses
  // (a StatefulSet pod with an IPv4 and an IPv6 slice, both under its hostname) get 16 each.
  const v6 = trimEndpointSlice({
    metadata: { name: 'web-v6', namespace: 'demo', labels: { 'kubernetes.io/service-name': 'web' } }, addressType: 'IPv6',
    endpoints: [{ addresses: ['fd00::1'], hostname: 'h0' }], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  });
  const v4 = slice([{ addresses: ['10.244.0.1'], hostname: 'h0' }, ...eps.slice(2, 6)]);
  const folded = serviceRecords(s, [v4, v6], opts).filter((r) => r.name.startsWith('_http'));
  assert.equal(folded.length, 5);
  assert.deepEqual(folded.map((r) => (r.data as { weight: number }).weight), [16, 16, 16, 16, 16]);
});

test('endpoint names: hostname first, pod names only when they fit in a label, IPv6 never ends in a dash', () => {
  const s = svc({ clusterIP: 'None' });
  const long = 'p'.repeat(64);
  const sl = slice([
    { addresses: ['10.244.1.5'], hostname: 'h', targetRef: { kind: 'Pod', name: 'pod-a' } },
    { addresses: ['10.244.1.6'], targetRef: { kind: 'Pod', name: long } },
  ]);
  const rrs = show(serviceRecords(s, [sl], { ...opts, endpointPodNames: true }));
  assert.ok(rrs.includes('h.web.demo.svc.cluster.local. A 10.244.1.5'));
  assert.ok(rrs.includes('10-244-1-6.web.demo.svc.cluster.local. A 10.244.1.6'));
  assert.equal(dashedAddress('fd00::'), 'fd00--0');
});

test('ExternalName pointing at an IP address makes no record', () => {
  assert.deepEqual(serviceRecords(svc({ type: 'ExternalName', externalName: '10.1.2.3' }), [], opts), []);
});

test('endpoints packed into one string read back as they were; separators in a value leave that value out', () => {
  const eps = [
    { addresses: ['10.244.1.5', '10.244.1.6'], ready: true, hostname: 'db-0', podName: 'db-0' },
    { addresses: [], ready: false, hostname: '', podName: '' },
    { addresses: ['fd00::1'], ready: false, hostname: '', podName: 'web-7d9f' },
  ];
  assert.deepEqual(endpointsOf({ ...slice([]), packedEndpoints: packEndpoints(eps) }), eps);
  assert.deepEqual(endpointsOf(slice([])), []);
  const odd = packEndpoints([{ addresses: ['10.0.0.1', 'a,b', 'c\td'], ready: true, hostname: 'x\ny', podName: 'p\tq' }]);
  assert.deepEqual(endpointsOf({ ...slice([]), packedEndpoints: odd }), [{ addresses: ['10.0.0.1'], ready: true, hostname: '', podName: '' }]);
  // From the API object: conditions.ready unset counts as ready, targetRef only when a Pod.
  const sl = slice([{ addresses: ['10.1.0.1'], hostname: 'h', targetRef: { kind: 'Pod', name: 'p-1' } }, { addresses: ['10.1.0.2'], conditions: { ready: false }, targetRef: { kind: 'Node', name: 'n' } }]);
  assert.deepEqual(endpointsOf(sl), [
    { addresses: ['10.1.0.1'], ready: true, hostname: 'h', podName: 'p-1' },
    { addresses: ['10.1.0.2'], ready: false, hostname: '', podName: '' },
  ]);
});
