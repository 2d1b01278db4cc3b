// The cluster-scale bench tooling: the synthetic cluster generator (deterministic, unique
// addresses, controller-shaped slices, loadable manifests, the query mix) and a tiny k8s-scale
// run against the fake API server whose report must hold sane numbers.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { isIP } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseQueryFile } from '../bench/dnsutil.ts';
import { k8sScale, parseSizes } from '../bench/k8s-scale.ts';
import { QUERY_MIX, clusterQueries, spareClusterIP, sparePodIP, syntheticCluster, writeManifests, type K8sJson } from '../bench/synthetic-cluster.ts';
import { startServer } from './helpers/server-process.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function v4num(ip: string): number {
  return ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
}
function inV4(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  const mask = 2 ** (32 - Number(bits));
  return Math.floor(v4num(ip) / mask) === Math.floor(v4num(base!) / mask);
}
type Endpoint = { addresses: string[]; conditions: { ready: boolean }; hostname?: string };
const slicesOf = (objs: K8sJson[]): K8sJson[] => objs.filter((o) => o.kind === 'EndpointSlice');
const endpointsOf = (slice: K8sJson): Endpoint[] => (slice.endpoints as Endpoint[] | null) ?? [];

test('synthetic cluster: deterministic, seed-dependent, exact counts', () => {
  const a = syntheticCluster({ services: 300, endpoints: 3000, seed: 7 });
  const b = syntheticCluster({ services: 300, endpoints: 3000, seed: 7 });
  const c = syntheticCluster({ services: 300, endpoints: 3000, seed: 8 });
  assert.equal(JSON.stringify(a.objects), JSON.stringify(b.objects));
  assert.deepEqual(clusterQueries(a, { count: 500 }), clusterQueries(b, { count: 500 }));
  assert.notEqual(JSON.stringify(a.objects), JSON.stringify(c.objects));

  assert.equal(a.counts.services, 300);
  assert.equal(a.objects.filter((o) => o.kind === 'Service').length, 300);
  assert.equal(a.counts.namespaces, Math.ceil(300 / 40));
  assert.equal(a.counts.headless, 30);
  assert.equal(a.counts.endpoints, 3000);
  assert.equal(a.services.reduce((n, f) => n + f.endpoints, 0), 3000);
  assert.ok(a.counts.notReady > 0 && a.counts.notReady < 300, `some not-ready endpoints: ${a.counts.notReady}`);
  assert.ok(a.counts.dualStack > 0, 'some dual-stack services');
  // IPv4 slices carry every endpoint once (IPv6 slices repeat the dual-stack ones).
  const v4Endpoints = slicesOf(a.objects).filter((s) => s.addressType === 'IPv4').reduce((n, s) => n + endpointsOf(s).length, 0);
  assert.equal(v4Endpoints, 3000);
  assert.ok(a.services.some((f) => f.headless && f.hostnames.length > 0), 'StatefulSet-style hostnames');
  assert.ok(a.services.some((f) => f.headless && f.readyAddresses.length > 0 && f.hostnames.length === 0), 'headless without hostnames');
});

test('synthetic cluster: unique addresses in the cluster ranges, spare ranges unused', () => {
  const cl = syntheticCluster({ services: 500, endpoints: 5000, dualStackShare: 0.2, seed: 3 });
  const clusterIPs: string[] = [];
  for (const o of cl.objects.filter((x) => x.kind === 'Service')) {
    const spec = o.spec as { clusterIP: string; clusterIPs: string[] };
    assert.equal(spec.clusterIP, spec.clusterIPs[0]);
    if (spec.clusterIP !== 'None') clusterIPs.push(...spec.clusterIPs);
  }
  assert.equal(new Set(clusterIPs).size, clusterIPs.length, 'ClusterIPs unique');
  const spareSvc = new Set(Array.from({ length: 4096 }, (_, i) => spareClusterIP(i)));
  for (const ip of clusterIPs) {
    if (isIP(ip) === 4) {
      assert.ok(inV4(ip, '10.96.0.0/12'), `${ip} in 10.96.0.0/12`);
      assert.ok(!spareSvc.has(ip), `${ip} not in the spare range`);
    } else {
      assert.match(ip, /^fd00:10:96::[0-9a-f]{1,4}$/, `${ip} in fd00:10:96::/112`);
    }
  }
  const pods4: string[] = [];
  const pods6: string[] = [];
  for (const s of slicesOf(cl.objects)) for (const e of endpointsOf(s)) (s.addressType === 'IPv4' ? pods4 : pods6).push(...e.addresses);
  assert.equal(pods4.length, 5000);
  assert.equal(new Set(pods4).size, pods4.length, 'pod IPv4 addresses unique');
  assert.equal(new Set(pods6).size, pods6.length, 'pod IPv6 addresses unique');
  const sparePod = new Set(Array.from({ length: 4096 }, (_, i) => sparePodIP(i)));
  for (const ip of pods4) {
    assert.ok(inV4(ip, '10.244.0.0/14'), `${ip} in 10.244.0.0/14`);
    assert.ok(!sparePod.has(ip), `${ip} not in the spare range`);
  }
  for (const i of [0, 4095]) {
    assert.ok(inV4(spareClusterIP(i), '10.96.0.0/12'));
    assert.ok(inV4(sparePodIP(i), '10.244.0.0/14'));
  }
});

test('synthetic cluster: slices as the controller writes them', () => {
  // 450 endpoints over two Services with endpoints: one has at least 225, so several slices.
  const cl = syntheticCluster({ services: 3, endpoints: 450, headlessShare: 0, seed: 1 });
  const services = new Set(cl.objects.filter((o) => o.kind === 'Service').map((o) => `${o.metadata.namespace}/${o.metadata.name}`));
  const perService = new Map<string, number>();
  const names = new Set<string>();
  for (const s of slicesOf(cl.objects)) {
    const eps = endpointsOf(s);
    assert.ok(eps.length <= 100, `slice ${s.metadata.name} has ${eps.length} endpoints`);
    const owner = `${s.metadata.namespace}/${s.metadata.labels!['kubernetes.io/service-name']}`;
    assert.ok(services.has(owner), `slice ${s.metadata.name} belongs to an existing service`);
    assert.equal(s.metadata.labels!['endpointslice.kubernetes.io/managed-by'], 'endpointslice-controller.k8s.io');
    assert.ok(!names.has(`${s.metadata.namespace}/${s.metadata.name}`), 'slice names unique');
    names.add(`${s.metadata.namespace}/${s.metadata.name}`);
    perService.set(owner, (perService.get(owner) ?? 0) + 1);
  }
  assert.ok(Math.max(...perService.values()) >= 3, `a big service is split over slices: ${JSON.stringify([...perService])}`);
  // DNS labels: every service and namespace name is a valid label.
  for (const o of cl.objects) assert.match(o.metadata.name, /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
});

test('synthetic cluster: manifests load in kdns, query list has the mix', { timeout: 30_000 }, async () => {
  const cl = syntheticCluster({ services: 200, endpoints: 1500, seed: 5 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdns-synth-'));
  try {
    const files = writeManifests(cl, dir, 100);
    assert.ok(files.length > 3, 'slices split over files');
    // Through the CLI (`manifests DIR`): every object is read and counted.
    const server = await startServer(`.:{PORT} {\n  bind 127.0.0.1\n  kubernetes cluster.local {\n    manifests ${dir}\n  }\n}\n`, { workers: 1 });
    try {
      // Over 100 Services the table is served before its Services are all in: the line comes then.
      await server.waitFor(new RegExp(`serving 200 services, ${cl.counts.slices} endpointslices, ${cl.counts.namespaces} namespaces`), 20_000);
    } finally {
      await server.stop();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const qs = clusterQueries(cl, { count: 1000 });
  assert.equal(qs.length, 1000);
  const share = (pred: (q: { name: string; type: string }) => boolean): number => qs.filter(pred).length / qs.length;
  assert.equal(share((q) => q.type === 'SRV'), QUERY_MIX.srv);
  assert.equal(share((q) => q.type === 'AAAA'), QUERY_MIX.svcAAAA);
  for (const q of qs) assert.ok(q.name.endsWith('.cluster.local'), q.name);
  const svcNames = new Set(cl.services.map((f) => `${f.name}.${f.namespace}.svc.cluster.local`));
  const hits = share((q) => q.type !== 'SRV' && svcNames.has(q.name));
  assert.ok(Math.abs(hits - (QUERY_MIX.svcA + QUERY_MIX.svcAAAA + QUERY_MIX.headlessA)) < 0.01, `service-name share ${hits}`);
  // The list is shuffled: the first tenth already holds several kinds.
  assert.ok(new Set(qs.slice(0, 100).map((q) => q.type)).size >= 3);
});

test('synthetic-cluster CLI writes manifests and a dnsperf query file', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'kdns-synth-cli-'));
  try {
    const r = spawnSync(process.execPath, ['bench/synthetic-cluster.ts', '--services', '20', '--endpoints', '100', '--queries', '300', '--out', out], { cwd: ROOT, encoding: 'utf8', timeout: 10_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(fs.readdirSync(path.join(out, 'manifests')).some((f) => f.endsWith('.json')));
    const lines = fs.readFileSync(path.join(out, 'queries.txt'), 'utf8').trimEnd().split('\n');
    assert.equal(lines.length, 300);
    for (const l of lines) assert.match(l, /^[a-z0-9_.-]+\.cluster\.local (A|AAAA|SRV)$/);
    assert.equal(parseQueryFile(lines.join('\n')).length, 300);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test('k8s-scale sizes parse', () => {
  assert.deepEqual(parseSizes('10x100,10000x100000x250'), [{ services: 10, endpoints: 100 }, { services: 10000, endpoints: 100000, namespaces: 250 }]);
  assert.throws(() => parseSizes('10k'), /bad size/);
});

test('k8s-scale at a tiny size: sync, memory, events, load', { timeout: 60_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdns-k8s-scale-test-'));
  const out = path.join(dir, 'report.json');
  try {
    const r = await k8sScale({
      sizes: [{ services: 20, endpoints: 100 }],
      events: 10,
      sliceEvents: 3,
      duration: 1,
      warmup: 0.2,
      rounds: 1,
      queries: 500,
      settleMs: 200,
      out,
      log: () => {},
    });
    assert.equal(r.sizes.length, 1);
    const s = r.sizes[0]!;
    const cluster = syntheticCluster({ services: 20, endpoints: 100 });
    for (const workers of [1, 2]) {
      const st = s.startup.find((x) => x.workers === workers);
      assert.ok(st, `-workers ${workers} measured`);
      assert.ok(st.listedMs > 0 && st.listedMs <= st.servingMs, `lists before serving: ${st.listedMs} ${st.servingMs}`);
      assert.ok(st.servingMs > 0 && st.servingMs < 30_000, `serving after ${st.servingMs} ms`);
      assert.ok(st.bannerMs > 0 && st.bannerMs < 30_000, `listening after ${st.bannerMs} ms`);
      assert.deepEqual(st.counted, { services: 20, slices: cluster.counts.slices, namespaces: cluster.counts.namespaces, pods: 0 });
      assert.ok(st.table.names > 20 && st.table.bytes > 0, JSON.stringify(st.table));
      assert.ok(st.rssKiB > 20 * 1024 && st.rssKiB < 2 * 1024 * 1024, `RSS ${st.rssKiB} KiB`);
      assert.ok(st.hwmKiB >= st.rssKiB);
      assert.ok(st.afterGc && st.afterGc.heapUsedKiB > 1024 && st.afterGc.rssKiB > 20 * 1024, JSON.stringify(st.afterGc));
    }
    assert.equal(s.rss.perWorkerKiB, s.rss.workers2KiB - s.rss.workers1KiB);
    assert.ok(s.rss.afterGc && s.rss.afterGc.perWorkerKiB > 0, `a worker costs memory: ${JSON.stringify(s.rss.afterGc)}`);
    for (const [what, e, n] of [['clusterIP', s.events.clusterIP, 10], ['slice', s.events.slice, 3], ['sliceRemove', s.events.sliceRemove, 3]] as const) {
      assert.equal(e.failed, 0, `${what}: no event timed out`);
      assert.equal(e.count, n, `${what}: every event measured`);
      assert.ok(e.p50 > 0 && e.p50 <= e.p90 && e.p90 <= e.p99 && e.p99 <= e.max, `${what}: ${JSON.stringify(e)}`);
      assert.ok(e.max < 2000, `${what}: max ${e.max} ms`);
      assert.ok(e.applyP50 > 0 && e.applyP50 <= e.max, `${what}: apply ${e.applyP50} ms`);
    }
    const l = s.load;
    assert.ok(l, 'load measured');
    assert.equal(l.rounds, 1);
    assert.ok(l.qpsMedian > 100 && l.answered > 100, `qps ${l.qpsMedian}`);
    assert.ok(l.timeouts <= l.sent * 0.01, `timeouts ${l.timeouts} of ${l.sent}`);
    assert.equal(l.rcodes.SERVFAIL ?? 0, 0);
    // The slice events are undone before the load: no headless answer outgrew 512 bytes.
    assert.equal(l.truncated, 0);
    const nx = (l.rcodes.NXDOMAIN ?? 0) / l.answered;
    assert.ok(Math.abs(nx - QUERY_MIX.nxdomain) < 0.05, `NXDOMAIN share ${nx}`);
    assert.equal(r.ratio, null, 'no ratio with one size');
    const saved = JSON.parse(fs.readFileSync(out, 'utf8')) as typeof r;
    assert.equal(saved.sizes[0]!.events.clusterIP.count, 10);
    assert.match(r.markdown, /\| 20 svc \/ 100 ep \|/);
    assert.match(r.markdown, /Event → answer latency/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
