// The capacity-run tooling: query mixes, the max-rate search, the kube-dns stand-in, the HTML
// report and a tiny end-to-end run of bench/capacity.ts. Everything on loopback, bounded.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { allowedCpus, expandCpuList } from '../bench/cpu-affinity.ts';
import { capacity, parseWorkerQueries, percentileCurve, startUpstream, type CapacityReport } from '../bench/capacity.ts';
import { encodeQuery as encodeBenchQuery } from '../bench/dnsutil.ts';
import { findMaxRate, mergeHistograms } from '../bench/loadgen.ts';
import { searchMaxRate, type TrialMeasure } from '../bench/maxrate.ts';
import { DEFAULT_MIX, MIX_CATEGORIES, NAMED_MIXES, mixQueries, parseMix, parseMixFile, type MixQuery } from '../bench/mix.ts';
import { dnsmasqTarget, kdnsTarget, kdnsVariantTarget, kubeDnsTarget, reverseName, standinRecords, unboundLocalData, type RunningTarget, type TargetContext } from '../bench/peers.ts';
import { renderHtml } from '../bench/report-html.ts';
import { apportion, syntheticCluster, writeManifests } from '../bench/synthetic-cluster.ts';
import { udpQuery, type Reply } from './helpers/dns-client.ts';
import { missingTool } from './helpers/unbound.ts';

const cluster = syntheticCluster({ services: 60, endpoints: 400, seed: 7 });

test('mix: shares as asked, valid names, search sequences in order', () => {
  const count = 2000;
  const { queries, counts, expectedRcodes } = mixQueries(cluster, DEFAULT_MIX, { count });
  assert.equal(queries.length, count);
  const want = apportion(count, MIX_CATEGORIES.map((c) => DEFAULT_MIX[c] ?? 0));
  for (const [i, c] of MIX_CATEGORIES.entries()) assert.equal(counts[c], want[i], `${c}: ${counts[c]} vs ${want[i]}`);
  for (const q of queries) {
    const name = q.name.replace('{unique}', 'u0000000000');
    assert.ok(name.length <= 253 && name.split('.').every((l) => l.length >= 1 && l.length <= 63), `bad name ${q.name}`);
    encodeBenchQuery(q); // throws on a name dns-packet cannot encode
  }
  // Every search sequence: <n>.<ns>.svc, <n>.svc, <n>.<zone> (NXDOMAIN), then <n>, each A then
  // AAAA, consecutive in the list; only one sequence may be cut short (so the shares are exact).
  const idx = queries.flatMap((q, i) => (q.category === 'search' ? [i] : []));
  let short = 0;
  for (let i = 0; i < idx.length; ) {
    const first = queries[idx[i]!]!;
    assert.ok(first.type === 'A' && first.name.split('.').length === 7, `not a sequence start: ${first.name} ${first.type}`);
    const outside = first.name.split('.').slice(0, 3).join('.');
    const ns = first.name.split('.')[3];
    const want = [`${outside}.${ns}.svc.cluster.local`, `${outside}.svc.cluster.local`, `${outside}.cluster.local`, outside].flatMap((n, k) =>
      ['A', 'AAAA'].map((t) => `${n} ${t} ${k < 3 ? 'NXDOMAIN' : 'NOERROR'}`),
    );
    let n = 0;
    while (n < 8 && i + n < idx.length && `${queries[idx[i + n]!]!.name} ${queries[idx[i + n]!]!.type} ${queries[idx[i + n]!]!.expect}` === want[n]) {
      if (n > 0) assert.equal(idx[i + n], idx[i + n - 1]! + 1, 'a sequence is consecutive');
      n++;
    }
    assert.ok(n > 0);
    if (n < 8) short++;
    i += n;
  }
  assert.ok(short <= 1, `${short} sequences cut short`);
  const nx = queries.filter((q) => q.expect === 'NXDOMAIN').length / count;
  assert.ok(Math.abs(expectedRcodes.NXDOMAIN! - nx) < 1e-9);
  assert.ok(queries.filter((q) => q.category === 'outside-miss').every((q) => q.name.startsWith('{unique}.')));

  // Named mixes, overrides, files.
  assert.deepEqual(parseMix('default'), DEFAULT_MIX);
  assert.deepEqual(parseMix('default,search=30,outside-miss=0'), { ...DEFAULT_MIX, search: 30, 'outside-miss': 0 });
  assert.deepEqual(parseMix('service=1,ptr=1'), { service: 1, ptr: 1 });
  assert.throws(() => parseMix('service=1,bogus=2'), /unknown mix category bogus/);
  assert.throws(() => parseMix('nosuchmix'), /unknown mix/);
  assert.throws(() => parseMix('service=0'), /add up to 0/);
  const f = parseMixFile('# comment\nmix cluster-only\nptr 20\nsearch=10\nrate 5000\ncount 300\n');
  assert.deepEqual(f, { mix: { ...NAMED_MIXES['cluster-only'], ptr: 20, search: 10 }, rate: 5000, count: 300 });
  const two = mixQueries(cluster, parseMix('service=1,ptr=1'), { count: 101 });
  assert.deepEqual([two.counts.service, two.counts.ptr], [51, 50]);
  // Deterministic: same cluster, mix and seed -> the same list.
  assert.deepEqual(mixQueries(cluster, DEFAULT_MIX, { count: 300 }).queries, mixQueries(cluster, DEFAULT_MIX, { count: 300 }).queries);
});

/** The fields that must agree between two servers: RCODE, and the answer's data (TTLs and order aside). */
function answerKey(r: Reply): string {
  const data = r.answers
    .map((a) => {
      const d = a.type === 'SRV' ? `${a.data.priority} ${a.data.weight} ${a.data.port} ${String(a.data.target).toLowerCase()}` : String(a.data).toLowerCase();
      return `${a.name.toLowerCase()} ${a.type} ${d}`;
    })
    .sort();
  return `${r.rcode} ${data.join(' | ')}`;
}

async function ask(t: RunningTarget, q: MixQuery): Promise<Reply> {
  const port = Number(t.address.split(':')[1]);
  const name = q.name.replace('{unique}', `u${Math.random().toString(36).slice(2, 12)}`);
  return udpQuery(port, name, { type: q.type, timeoutMs: 2000 });
}

test('kdns from the generated manifests, the kube-dns stand-in and dnsmasq answer every query of the mix as expected, and alike', { timeout: 60_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-capacity-'));
  const manifestsDir = path.join(dir, 'manifests');
  writeManifests(cluster, manifestsDir);
  const upstream = await startUpstream();
  const started: RunningTarget[] = [];
  t.after(async () => {
    for (const s of started) await s.stop();
    await upstream.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const ctx: TargetContext = { cluster, zone: 'cluster.local', manifestsDir, upstream: upstream.address, dir, apiUrl: null, source: 'manifests', startTimeoutMs: 30_000 };
  const kdns = await kdnsTarget('kdns1', 1).start(ctx);
  started.push(kdns);
  const noDnsmasq = missingTool('dnsmasq') ?? missingTool('unbound');
  const peers = noDnsmasq ? [] : [await kubeDnsTarget().start(ctx), await dnsmasqTarget().start(ctx)];
  started.push(...peers);

  const mix = parseMix('service=20,service-aaaa=5,headless=10,headless-host=5,srv=10,ptr=15,search=16,outside-hit=5,outside-miss=4,nxdomain=10');
  const { queries } = mixQueries(cluster, mix, { count: 600 });
  const unique = [...new Map(queries.map((q) => [`${q.name} ${q.type}`, q])).values()];
  let compared = 0;
  const diffs: string[] = [];
  for (const q of unique) {
    const a = await ask(kdns, q);
    assert.equal(a.rcode, q.expect, `kdns: ${q.name} ${q.type} (${q.category}): ${a.rcode}, want ${q.expect}`);
    if (q.expect === 'NOERROR' && q.type !== 'AAAA') assert.ok(a.answers.length > 0, `kdns: no answer for ${q.name} ${q.type}`);
    if (q.category === 'outside-miss') continue;
    for (const peer of peers) {
      const b = await ask(peer, q);
      compared++;
      if (answerKey(a) !== answerKey(b)) diffs.push(`${q.name} ${q.type}:\n  kdns ${answerKey(a)}\n  ${peer.name} ${answerKey(b)}`);
    }
  }
  assert.ok(unique.length > 150, `only ${unique.length} distinct queries`);
  assert.deepEqual(diffs, [], `kdns and the stand-in differ on ${diffs.length} of ${compared} queries`);
  if (noDnsmasq) t.diagnostic(`stand-in not compared: ${noDnsmasq}`);
});

test('stand-in records mirror the kubernetes plugin: SRV weights, headless names, not-ready endpoints left out', () => {
  const { hosts, srv } = standinRecords(cluster.objects, 'cluster.local');
  const headless = cluster.services.find((s) => s.headless && s.hostnames.length >= 2)!;
  const base = `${headless.name}.${headless.namespace}.svc.cluster.local`;
  const lines = hosts.filter((h) => h.endsWith(` ${base}`));
  assert.equal(lines.length, headless.readyAddresses.length);
  const port = headless.ports.find((p) => p.name)!;
  const srvLines = srv.filter((l) => l.startsWith(`srv-host=_${port.name}._${port.protocol.toLowerCase()}.${base},`));
  assert.equal(srvLines.length, headless.readyAddresses.length);
  const w = Math.max(1, Math.floor(100 / srvLines.length));
  assert.ok(srvLines.every((l) => l.endsWith(`,${port.port},0,${w}`)), srvLines[0]);
  const data = unboundLocalData(cluster.objects, 'cluster.local');
  assert.deepEqual(data[0], { zone: 'cluster.local.', type: 'static' });
  assert.ok(data.includes(`${base}. 30 IN A ${headless.readyAddresses[0]}`));
  assert.equal(reverseName('10.96.0.1'), '1.0.96.10.in-addr.arpa');
  assert.equal(reverseName('fd00:10:96::a'), `a.${'0.'.repeat(19)}6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa`);
  const ready = cluster.services.reduce((a, s) => a + s.readyAddresses.length, 0);
  const clusterIPs = cluster.services.reduce((a, s) => a + s.clusterIPs.length, 0);
  assert.equal(hosts.length, ready + clusterIPs);
});

test('max-rate search: converges on a known capacity and keeps to its bounds', async () => {
  const fake = (capacity: number, genLimit = Infinity) => async (rate: number): Promise<TrialMeasure> => ({
    rate,
    qps: Math.min(rate, capacity),
    sentQps: Math.min(rate, genLimit),
    loss: rate > capacity ? 1 - capacity / rate : 0,
    latencyMs: { p50: 0.2, p90: 0.4, p99: rate > capacity * 0.9 ? 3 : 1, p999: 2, max: 5 },
    generatorLag: rate > genLimit,
  });
  const base = { maxLoss: 0.001, maxP99Ms: 2, minRate: 1000, maxRate: 200_000, tolerance: 0.05, maxTrials: 12 };
  // The p99 ceiling binds at 90 % of 50k.
  const a = await searchMaxRate(fake(50_000), { ...base, startRate: 5000 });
  assert.equal(a.limitedBy, 'converged');
  assert.ok(a.rate <= 45_000 && a.rate >= 45_000 / 1.05, `found ${a.rate}`);
  assert.ok(a.failedAt! > 45_000 && a.failedAt! / a.rate <= 1.05);
  assert.ok(a.trials.every((t) => t.rate >= 1000 && t.rate <= 200_000));
  assert.ok(a.trials.length <= 12);
  assert.equal(a.trials.filter((t) => t.ok).every((t) => t.rate <= 45_000), true);
  // Capacity above the upper bound: the bound is reported.
  const b = await searchMaxRate(fake(10_000_000), { ...base, startRate: 100_000 });
  assert.deepEqual([b.rate, b.limitedBy, b.failedAt], [200_000, 'max-rate', null]);
  assert.ok(b.trials.every((t) => t.rate <= 200_000));
  // Below the lower bound: nothing passes.
  const c = await searchMaxRate(fake(500), { ...base, startRate: 8000 });
  assert.deepEqual([c.rate, c.limitedBy], [0, 'min-rate']);
  assert.ok(c.trials.every((t) => t.rate >= 1000));
  // The generator fails first: said so.
  const d = await searchMaxRate(fake(1_000_000, 30_000), { ...base, startRate: 20_000 });
  assert.equal(d.limitedBy, 'generator');
  assert.ok(d.rate <= 30_000 && d.rate >= 30_000 / 1.05);
  // Out of trials.
  const e = await searchMaxRate(fake(50_000), { ...base, startRate: 1000, maxTrials: 3 });
  assert.equal(e.trials.length, 3);
  assert.equal(e.limitedBy, 'trials');
});

/** A DNS server that answers at most `perSecond` queries a second (a token bucket) and drops the rest. */
async function cappedServer(perSecond: number): Promise<{ port: number; close(): void }> {
  const sock = dgram.createSocket('udp4');
  let tokens = perSecond / 50;
  let last = performance.now();
  sock.on('message', (msg, rinfo) => {
    const now = performance.now();
    tokens = Math.min(perSecond / 50, tokens + ((now - last) * perSecond) / 1000);
    last = now;
    if (tokens < 1) return;
    tokens--;
    const out = Buffer.from(msg);
    out[2] = out[2]! | 0x80;
    out[3] = 0;
    sock.send(out, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  return { port: sock.address().port, close: () => sock.close() };
}

test('max-rate search against a server that drops above 3000 q/s', { timeout: 40_000 }, async (t) => {
  const srv = await cappedServer(3000);
  t.after(() => srv.close());
  const m = await findMaxRate({
    server: `127.0.0.1:${srv.port}`,
    qname: 'capped.example',
    qtype: 'A',
    timeoutMs: 300,
    maxLoss: 0.01,
    maxP99Ms: 50,
    minRate: 500,
    maxRate: 12_000,
    trialDuration: 0.6,
    trialWarmup: 0.2,
    pauseMs: 100,
    probeDuration: 0,
    startRate: 1000,
    maxTrials: 8,
    tolerance: 0.08,
  });
  t.diagnostic(m.trials.map((x) => `${x.rate}:${x.verdict}`).join(' '));
  assert.ok(m.trials.every((x) => x.rate >= 500 && x.rate <= 12_000));
  assert.ok(m.rate >= 2400 && m.rate <= 3300, `found ${m.rate} (${m.limitedBy})`);
  assert.ok(m.failedAt !== null && m.failedAt > m.rate);
});

test('worker counters and percentile curve', () => {
  const page = '# TYPE kdns_worker_queries_total counter\nkdns_worker_queries_total{worker="0"} 12\nkdns_worker_queries_total{worker="1"} 30\nkdns_workers_alive 2\n';
  assert.deepEqual(parseWorkerQueries(page), { 0: 12, 1: 30 });
  assert.equal(parseWorkerQueries('kdns_workers_alive 2\n'), null);
  const h = mergeHistograms([]);
  for (let i = 1; i <= 1000; i++) h.recordValue(i * 10);
  const curve = percentileCurve(h);
  h.destroy();
  assert.equal(curve[0]![0], 0);
  assert.ok(curve.every((p, i) => i === 0 || (p[0] >= curve[i - 1]![0] && p[1] >= curve[i - 1]![1])), 'monotonic');
  assert.equal(curve.at(-1)![1], 10);
});

function assertSelfContained(html: string): void {
  assert.doesNotMatch(html, /https?:\/\//, 'no URLs');
  assert.doesNotMatch(html, /<script|<link|<img|<iframe|@import|url\(/i, 'nothing loaded from elsewhere');
  assert.doesNotMatch(html, /\bsrc=|\bhref=/i);
}

test('capacity.ts end to end: a tiny run writes JSON and a self-contained HTML report with the plots', { timeout: 60_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-capacity-run-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const out = path.join(dir, 'report.json');
  const lines: string[] = [];
  const targets = ['kdns1', 'kdns2', ...(missingTool('dnsmasq') ?? missingTool('unbound') ? ['minimal'] : ['kube-dns'])];
  const r = await capacity({
    services: 30,
    endpoints: 200,
    count: 500,
    targets,
    rounds: 1,
    rate: 2000,
    duration: 1,
    warmup: 0.2,
    trialDuration: 0.3,
    maxTrials: 3,
    probeDuration: 0.3,
    minRate: 500,
    maxRate: 8000,
    maxP99Ms: 20,
    maxLoss: 0.01,
    out,
    log: (l) => lines.push(l),
  });
  const errors = r.summary.filter((s) => !s.ok).map((s) => `${s.name}: ${s.error}`);
  assert.deepEqual(errors, [], lines.join('\n'));
  const onDisk = JSON.parse(fs.readFileSync(out, 'utf8')) as CapacityReport;
  assert.equal(onDisk.kind, 'kdns-capacity');
  assert.deepEqual(onDisk.summary.map((s) => s.name), targets);
  for (const s of onDisk.summary) {
    assert.ok(s.maxRate && s.maxRate.perRound.length === 1, `${s.name} max rate`);
    assert.ok(s.fixed && s.fixed.answered > 0 && s.fixed.curve.length > 3, `${s.name} fixed-rate run`);
    if (s.clusterDns) assert.equal(s.fixed.rcodeMatch, true, `${s.name} RCODEs ${JSON.stringify(s.fixed.rcodeShares)} vs ${JSON.stringify(onDisk.mix.expectedRcodes)}`);
  }
  const peer = targets[2]!;
  assert.ok(onDisk.ratios.some((x) => x.kdns === 'kdns1' && x.peer === peer && x.maxRate !== null), JSON.stringify(onDisk.ratios));
  for (const s of onDisk.summary.filter((x) => x.isKdns)) assert.ok(s.fixed!.cpuUsPerQuery! > 0, `${s.name} CPU per query`);
  const kdns2 = onDisk.summary.find((s) => s.name === 'kdns2')!;
  if (kdns2.workers) {
    assert.equal(Object.keys(kdns2.workers.perWorker).length, 2);
    assert.ok(kdns2.workers.total >= kdns2.fixed!.answered * 0.9, 'the workers counted the queries');
  } else t.diagnostic('kdns_worker_queries_total not on /metrics: per-worker share n/a');
  assert.ok(onDisk.markdown.includes('| kdns1 |'));

  const html = fs.readFileSync(r.htmlFile!, 'utf8');
  assertSelfContained(html);
  for (const id of ['plot-maxrate', 'plot-percentiles', 'plot-rate', 'plot-workers']) assert.match(html, new RegExp(`<svg id="${id}"`), id);
  for (const name of targets) assert.match(html, new RegExp(`<polyline [^>]*data-target="${name}"`), `percentile curve for ${name}`);
  assert.equal(renderHtml(onDisk), html, 're-rendering the JSON gives the same page');
});

test('capacity.ts --server-cpus/--generator-cpus: the servers run on their cores, the generator on its own; --rate-of-max runs at a share of each max rate', { timeout: 90_000 }, async (t) => {
  // The cores this process may use (a container's cpuset can narrow them): the first for the server, the rest for the generator.
  const cores = allowedCpus();
  if (cores.length < 2) return t.skip('needs 2 cores');
  const serverCpu = String(cores[0]);
  const generatorCpus = cores.slice(1).join(',');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-capacity-pin-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const seen = path.join(dir, 'affinity.txt');
  const out = path.join(dir, 'report.json');
  // A peer that writes its own cores and those of its parent (the capacity process) before serving.
  const probe = `probe=sh -c 'taskset -c -p $$ > ${seen}; taskset -c -p $PPID >> ${seen}; exec node bench/minimal-responder.ts --port {port}'`;
  const args = ['bench/capacity.ts', '--targets', 'probe', '--peer-cmd', probe, '--server-cpus', serverCpu, '--generator-cpus', generatorCpus,
    '--services', '10', '--endpoints', '40', '--count', '100', '--rounds', '1', '--rate-of-max', '0.5', '--duration', '0.5', '--warmup', '0.2',
    '--trial-duration', '0.3', '--max-trials', '3', '--probe-duration', '0.3', '--min-rate', '500', '--max-rate', '4000', '--max-p99', '20', '--max-loss', '0.01',
    '--out', out, '--no-html'];
  const { spawnSync } = await import('node:child_process');
  const run = spawnSync(process.execPath, args, { cwd: path.resolve(import.meta.dirname, '..'), encoding: 'utf8', timeout: 80_000 });
  assert.equal(run.status, 0, run.stderr);
  const lists = fs.readFileSync(seen, 'utf8').trim().split('\n').map((l) => expandCpuList(l.slice(l.lastIndexOf(':') + 1).trim()).join(','));
  assert.deepEqual(lists, [serverCpu, generatorCpus], 'the server on its core, the generator on the rest');
  const r = JSON.parse(fs.readFileSync(out, 'utf8')) as CapacityReport;
  assert.deepEqual(r.config.cpus, { server: serverCpu, generator: generatorCpus });
  assert.equal(r.config.pacing, 'even', 'a generator with its own cores spreads its sends');
  assert.equal(r.config.rateOfMax, 0.5);
  const s = r.summary[0]!;
  assert.ok(s.ok && s.maxRate && s.fixed, JSON.stringify(s));
  assert.equal(s.fixed.offered, Math.round(s.maxRate.median / 2), 'the fixed-rate run at half the max rate');
  assert.match(r.markdown, /at 0\.5 × max rate: q\/s/);
  // Bad core lists are refused before anything starts.
  const bad = spawnSync(process.execPath, ['bench/capacity.ts', '--server-cpus', serverCpu, '--generator-cpus', serverCpu, '--rounds', '1'], { cwd: path.resolve(import.meta.dirname, '..'), encoding: 'utf8', timeout: 20_000 });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, new RegExp(`--server-cpus and --generator-cpus share core\\(s\\) ${serverCpu}`));
  const far = spawnSync(process.execPath, ['bench/capacity.ts', '--server-cpus', '0-999'], { cwd: path.resolve(import.meta.dirname, '..'), encoding: 'utf8', timeout: 20_000 });
  assert.equal(far.status, 1);
  assert.match(far.stderr, /--server-cpus 0-999: this process may run on cores [\d,]+ only \(not /);
  const pacing = spawnSync(process.execPath, ['bench/capacity.ts', '--pacing', 'bursty'], { cwd: path.resolve(import.meta.dirname, '..'), encoding: 'utf8', timeout: 20_000 });
  assert.equal(pacing.status, 1);
  assert.match(pacing.stderr, /--pacing is one of tick, even, poisson/);
});

test('--kdns-variant NAME=FLAGS: a kdns target with more flags (1 worker unless they say otherwise); bad specs are refused', () => {
  const v = kdnsVariantTarget('kdns1-young0=-worker.young-mb 0');
  assert.equal(v.name, 'kdns1-young0');
  assert.equal(v.isKdns, true);
  assert.match(v.description, /^kdns -workers 1 -worker\.young-mb 0: /);
  for (const bad of ['kdns1-young0', '=-workers 2', 'a b=-workers 2', 'x=']) assert.throws(() => kdnsVariantTarget(bad), /expected NAME=FLAGS/, bad);
});

test('--coredns PATH: the binary runs as `PATH -conf Corefile` with kubeadm\'s Corefile, reading the cluster from the fake API server, and is compared like any peer', { timeout: 60_000 }, async (t) => {
  // No CoreDNS binary can be had here (not in Debian or on npm; Go modules are out of reach), so
  // the binary is a stand-in that takes CoreDNS's command line: kdns itself, which reads the same
  // Corefile. What this checks is the target's plumbing; a real CoreDNS takes its place unchanged.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-capacity-coredns-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const argvFile = path.join(dir, 'argv.txt');
  const seenCorefile = path.join(dir, 'Corefile.seen');
  const bin = path.join(dir, 'coredns');
  const root = path.resolve(import.meta.dirname, '..');
  fs.writeFileSync(bin, `#!/bin/sh\nprintf '%s\\n' "$@" > '${argvFile}'\ncp "$2" '${seenCorefile}'\nexec '${process.execPath}' '${root}/bin/kdns.js' "$@"\n`, { mode: 0o755 });
  const lines: string[] = [];
  const r = await capacity({
    services: 20, endpoints: 100, count: 300, targets: ['kdns1', 'coredns'], coredns: bin,
    rounds: 1, rate: 1500, duration: 0.6, warmup: 0.2, trialDuration: 0.3, maxTrials: 3, probeDuration: 0.3,
    minRate: 500, maxRate: 4000, maxP99Ms: 20, maxLoss: 0.01, out: path.join(dir, 'report.json'), html: false, log: (l) => lines.push(l),
  });
  assert.deepEqual(r.summary.filter((s) => !s.ok).map((s) => `${s.name}: ${s.error}`), [], lines.join('\n'));
  const argv = fs.readFileSync(argvFile, 'utf8').trim().split('\n');
  assert.equal(argv[0], '-conf');
  assert.equal(argv.length, 2, `CoreDNS's command line, nothing of kdns's: ${argv.join(' ')}`);
  const corefile = fs.readFileSync(seenCorefile, 'utf8');
  assert.match(corefile, /kubernetes cluster\.local in-addr\.arpa ip6\.arpa \{\s+endpoint http:\/\/127\.0\.0\.1:\d+\s/, 'the cluster from the fake API server');
  for (const d of ['errors', 'prometheus 127.0.0.1:', 'forward . 127.0.0.1:', 'cache 30', 'loadbalance']) assert.ok(corefile.includes(d), d);
  const c = r.summary.find((s) => s.name === 'coredns')!;
  assert.ok(c.maxRate && c.fixed && c.fixed.answered > 0, JSON.stringify(c));
  assert.equal(c.fixed.rcodeMatch, true, `RCODEs from the API server's cluster: ${JSON.stringify(c.fixed.rcodeShares)}`);
  assert.ok(r.ratios.some((x) => x.kdns === 'kdns1' && x.peer === 'coredns' && x.maxRate !== null), JSON.stringify(r.ratios));
  assert.ok(!r.notes.some((n) => n.includes('CoreDNS was not measured')), r.notes.join('\n'));
  assert.match(r.markdown, /\| coredns \|/);
});
