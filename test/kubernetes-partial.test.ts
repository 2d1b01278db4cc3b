// A big cluster's first sync is written in steps while the table is already served (issue 13):
// /ready says 200 once the lists are in, queries for Services not written yet are answered from
// the table as soon as the primary has written them (ahead of the rest), and nothing gets an
// NXDOMAIN it should not. The real CLI against the fake API server; KDNS_TEST_HOOKS's
// KDNS_TEST_BUILD_PAUSE_MS stretches the pause between steps so the test sees the table partial.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { endpointSlice, namespace, service, startFakeApiServer, type RunningFakeApiServer } from './fake-apiserver/index.ts';
import type { K8sObject } from './fake-apiserver/resources.ts';
import { udpQuery } from './helpers/dns-client.ts';
import type { Reply } from './helpers/decode.ts';
import { httpGet } from './helpers/netns.ts';
import { freePort, type RunningServer, startServer } from './helpers/server-process.ts';
import { eventually } from './helpers/eventually.ts';

/** More than the plugin builds in one pass (BUILD_IN_STEPS_ABOVE). */
const SERVICES = 1500;
const SERVING = /plugin\/kubernetes: serving \d+ services/;

const clusterIP = (i: number): string => `10.96.${1 + (i >> 8)}.${i & 255}`;
const podIP = (i: number): string => `10.244.${i >> 8}.${i & 255}`;

let api: RunningFakeApiServer;
let kdns: RunningServer;
let readyPort: number;

before(async () => {
  api = await startFakeApiServer();
  const objects: K8sObject[] = [namespace('a'), namespace('b')];
  for (let i = 0; i < SERVICES; i++) {
    objects.push(service({ name: `s${i}`, ns: 'a', clusterIP: clusterIP(i), ports: [{ name: 'http', port: 80 }] }));
    objects.push(endpointSlice({ service: `s${i}`, ns: 'a', name: `s${i}-x`, endpoints: [{ addresses: [podIP(i)] }], ports: [{ name: 'http', port: 8080 }] }));
  }
  objects.push(service({ name: 'hl', ns: 'b', clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }] }));
  objects.push(endpointSlice({ service: 'hl', ns: 'b', name: 'hl-x', endpoints: [{ addresses: ['10.245.0.1'], hostname: 'hl-0' }, { addresses: ['10.245.0.2'], hostname: 'hl-1' }], ports: [{ name: 'pg', port: 5432 }] }));
  await api.client.bulk(objects, { batch: 500 });
  readyPort = await freePort();
  const corefile = `.:{PORT} {\n    bind 127.0.0.1\n    ready 127.0.0.1:${readyPort}\n    kubernetes cluster.local in-addr.arpa ip6.arpa {\n        endpoint ${api.url}\n    }\n}\n`;
  kdns = await startServer(corefile, { workers: 2, env: { KDNS_TEST_HOOKS: '1', KDNS_TEST_BUILD_PAUSE_MS: '100' } });
});

after(async () => {
  await kdns?.stop();
  await api?.stop();
});

const q = (name: string, type = 'A'): Promise<Reply> => udpQuery(kdns.port, name, { type, timeoutMs: 5000 });
const data = (r: Reply): string[] => r.answers.map((a) => (typeof a.data === 'string' ? a.data : JSON.stringify(a.data))).sort();

test('served while partial: /ready, Services written ahead when asked for, right negatives; reverse names wait for the whole table', async () => {
  // Listening (startServer waited for the banner) and ready, but the table is not complete.
  assert.equal((await httpGet(`http://127.0.0.1:${readyPort}/ready`)).status, 200);
  assert.doesNotMatch(kdns.stdout(), SERVING, 'the build finished before the test could see it partial: raise the pause');

  const last = SERVICES - 1;
  const ptr = q(`${clusterIP(last).split('.').reverse().join('.')}.in-addr.arpa`, 'PTR').then((r) => ({ r, complete: SERVING.test(kdns.stdout()) }));
  const [a1, a2, srv, missing, nsName, ep, hl] = await Promise.all([
    q(`s${last}.a.svc.cluster.local`),
    q(`s${last - 300}.a.svc.cluster.local`),
    q(`_http._tcp.s${last - 600}.a.svc.cluster.local`, 'SRV'),
    q('nosuch.a.svc.cluster.local'),
    q('a.svc.cluster.local'),
    q(`${podIP(last - 1).replaceAll('.', '-')}.s${last - 1}.a.svc.cluster.local`),
    q('hl-1.hl.b.svc.cluster.local'),
  ]);
  // All of them answered before the build was through: from the Services written on demand.
  assert.doesNotMatch(kdns.stdout(), SERVING, 'answers came only once the table was complete');
  assert.deepEqual(data(a1), [clusterIP(last)]);
  assert.ok(a1.flag_aa);
  assert.deepEqual(data(a2), [clusterIP(last - 300)]);
  assert.deepEqual(srv.answers.map((r) => r.data), [{ priority: 0, weight: 100, port: 80, target: `s${last - 600}.a.svc.cluster.local` }]);
  assert.deepEqual(srv.additionals.filter((r) => r.type === 'A').map((r) => r.data), [clusterIP(last - 600)]);
  assert.equal(missing.rcode, 'NXDOMAIN');
  assert.equal(missing.authorities[0]?.type, 'SOA');
  assert.equal(nsName.rcode, 'NOERROR');
  assert.deepEqual(nsName.answers, []);
  assert.deepEqual(data(ep), [podIP(last - 1)]);
  assert.deepEqual(data(hl), ['10.245.0.2']);

  // A PTR can have several owners: it waits for the whole table, then gets the right answer.
  const p = await ptr;
  assert.deepEqual(data(p.r), [`s${last}.a.svc.cluster.local`]);
  await eventually(async () => assert.match(kdns.stdout(), SERVING), 2000);
  assert.match(kdns.stdout(), new RegExp(`serving ${SERVICES + 1} services`));
});

test('after the build in steps, every Service answers from the complete table', async () => {
  await kdns.waitFor(SERVING, 60_000);
  for (const i of [0, 1, 777, SERVICES - 2]) assert.deepEqual(data(await q(`s${i}.a.svc.cluster.local`)), [clusterIP(i)]);
  assert.equal((await q('nosuch.b.svc.cluster.local')).rcode, 'NXDOMAIN');
});
