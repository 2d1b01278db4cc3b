// The first sync of a cluster bigger than one pass (over 1,000 Services, the kubernetes plugin
// serves the table while it writes the Services in steps, then one batch per change): every
// Service answers right, asked for from the moment kdns listens (so mostly while the table is
// still partial, through the workers' wants), and changes after the first sync still reach the
// answers. Through the real CLI against the fake API server, queried over UDP on loopback.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { service, startFakeApiServer, type RunningFakeApiServer } from './fake-apiserver/index.ts';
import { syntheticCluster } from '../bench/synthetic-cluster.ts';
import { udpQuery } from './helpers/dns-client.ts';
import { type RunningServer, startServer } from './helpers/server-process.ts';
import { eventually } from './helpers/eventually.ts';

const cluster = syntheticCluster({ services: 2600, endpoints: 9000, seed: 11 });
let api: RunningFakeApiServer;
let kdns: RunningServer;

before(async () => {
  api = await startFakeApiServer();
  await api.client.bulk(cluster.objects as never[], { batch: 2000 });
  kdns = await startServer(`cluster.local:{PORT} {\n    bind 127.0.0.1\n    kubernetes cluster.local {\n        endpoint ${api.url}\n    }\n}\n`, { workers: 1 });
});

after(async () => {
  await kdns?.stop();
  await api?.stop();
});

test('every Service of a first sync in steps answers with its addresses, during the build and after it', { timeout: 60_000 }, async () => {
  const wrong: string[] = [];
  for (const s of cluster.services) {
    const name = `${s.name}.${s.namespace}.svc.cluster.local`;
    const r = await udpQuery(kdns.port, name);
    const got = r.answers.filter((a) => a.type === 'A').map((a) => String(a.data)).sort();
    const want = (s.headless ? s.readyAddresses : s.clusterIPs).filter((ip) => !ip.includes(':')).sort();
    // A headless Service with no ready endpoint has no records: its name is NXDOMAIN.
    if (want.length === 0 ? r.rcode !== 'NXDOMAIN' : got.join() !== want.join()) wrong.push(`${name}: ${r.rcode} ${got.join()}`);
  }
  assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} of ${cluster.services.length} Services answer wrongly`);
  await kdns.waitFor(new RegExp(`serving ${cluster.counts.services} services`), 30_000);
  // A namespace's empty non-terminal is there even though its Services went into different chunks.
  const ns = cluster.namespaces.at(-1)!;
  assert.equal((await udpQuery(kdns.port, `${ns}.svc.cluster.local`)).rcode, 'NOERROR');
  assert.equal((await udpQuery(kdns.port, `nothing-here.${ns}.svc.cluster.local`)).rcode, 'NXDOMAIN');
});

test('after the first sync in steps, additions and removals reach the answers', { timeout: 30_000 }, async () => {
  const ns = cluster.namespaces[0]!;
  await api.client.create(service({ name: 'late', ns, clusterIP: '10.111.250.1', ports: [{ name: 'http', port: 80 }] }));
  await eventually(async () => {
    const r = await udpQuery(kdns.port, `late.${ns}.svc.cluster.local`);
    assert.deepEqual(r.answers.map((a) => a.data), ['10.111.250.1']);
  });
  const first = cluster.services[0]!;
  await api.client.delete({ kind: 'Service', namespace: first.namespace, name: first.name });
  await eventually(async () => assert.equal((await udpQuery(kdns.port, `${first.name}.${first.namespace}.svc.cluster.local`)).rcode, 'NXDOMAIN'));
});
