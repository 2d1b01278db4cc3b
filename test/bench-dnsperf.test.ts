// bench/dnsperf.ts: the dnsperf/resperf output parsers on saved and on live output (short runs
// of Debian's dnsperf and resperf against a started kdns), the runner end to end, and the query
// files it ships. Skips the live parts when dnsperf is not installed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningServer, ROOT, startServer } from './helpers/server-process.ts';
import {
  CLUSTER_MIX, dnsperfArgs, dnsperfMissing, parseDnsperf, parseRcodes, parseResperf, parseResperfPlot, prepareQueryFile, resperfArgs,
  resperfCurve, runDnsperf, runResperf, type DnsperfBenchReport, type DnsperfStats,
} from '../bench/dnsperf.ts';
import { parseQueryFile } from '../bench/dnsutil.ts';
import { clusterQueries, formatQueries, syntheticCluster } from '../bench/synthetic-cluster.ts';

const MISSING = dnsperfMissing();

/** Output of `dnsperf -m tcp ... -l 1` on the reference box (dnsperf 2.10.0, kdns). */
const SAVED_TCP = `DNS Performance Testing Tool
Version 2.10.0

[Status] Command line: dnsperf -m tcp -s 127.0.0.1 -p 15353 -d /tmp/q2.txt -l 1 -c 2 -q 10 -O suppress=timeouts,unexpected
[Status] Sending queries (to 127.0.0.1:15353)
[Status] Started at: Sun Nov 22 04:22:40 2026
[Status] Stopping after 1.000000 seconds
[Status] Testing complete (time limit)

Statistics:

  Queries sent:         25252
  Queries completed:    25252 (100.00%)
  Queries lost:         0 (0.00%)

  Response codes:       NOERROR 16835 (66.67%), NXDOMAIN 8417 (33.33%)
  Average packet size:  request 52, response 110
  Run time (s):         1.000212
  Queries per second:   25246.647711

  Average Latency (s):  0.000155 (min 0.000014, max 0.007208)
  Latency StdDev (s):   0.000219

Connection Statistics:

  Reconnections:        0

  Average Latency (s):  0.000813 (min 0.000292, max 0.001334)
  Latency StdDev (s):   0.000737

`;

/** dnsperf's statistics block with interrupted queries and four RCODEs (as printed by dnsperf 2.x). */
const SAVED_LOSSY = `[Status] Testing complete (time limit)

Statistics:

  Queries sent:         59065
  Queries completed:    58942 (99.79%)
  Queries lost:         23 (0.04%)
  Queries interrupted:  100 (0.17%)

  Response codes:       NOERROR 36944 (62.68%), SERVFAIL 712 (1.21%), NXDOMAIN 12740 (21.61%), REFUSED 8546 (14.50%)
  Average packet size:  request 38, response 88
  Run time (s):         33.632398
  Queries per second:   1752.536349

  Average Latency (s):  0.053591 (min 0.000106, max 4.906449)
  Latency StdDev (s):   0.244927
`;

/** resperf -m 5000 -r 2 -t 1 against kdns on the reference box, and its plot file. */
const SAVED_RESPERF = `DNS Resolution Performance Testing Tool
Version 2.10.0

[Status] Command line: resperf -s 127.0.0.1 -p 15353 -d /tmp/q1.txt -R -m 5000 -r 2 -t 1 -P /tmp/rp.gnuplot
[Status] Sending
[Status] Waiting for more responses
[Status] Testing complete

Statistics:

  Queries sent:         5000
  Queries completed:    5000
  Queries lost:         0
  Response codes:       NOERROR 5000 (100.00%)
  Reconnection(s):      0
  Run time (s):         2.000817
  Maximum throughput:   3126.000000 qps
  Lost at that point:   0.00%
`;
const SAVED_PLOT = `# time target_qps actual_qps responses_per_sec failures_per_sec avg_latency connections conn_avg_latency
  0.250   625.00   624.00   624.00     0.00 0.000053     0.00 0.000000
  0.750  1875.00  1874.00  1874.00     0.00 0.000041     0.00 0.000000
  1.250  3125.00  3126.00  3126.00     0.00 0.000018     0.00 0.000000
`;

function assertConsistent(s: DnsperfStats, label: string): void {
  assert.ok(s.sent > 0, `${label}: sent ${s.sent}`);
  assert.ok(s.completed <= s.sent, `${label}: completed ${s.completed} > sent ${s.sent}`);
  assert.equal(s.completed + s.lost + s.interrupted, s.sent, `${label}: completed + lost + interrupted = sent`);
  assert.equal(Object.values(s.rcodes).reduce((a, b) => a + b, 0), s.completed, `${label}: rcodes sum to completed`);
  assert.ok(Math.abs(s.qps - s.completed / s.runTimeS) <= 0.001 * s.qps + 1, `${label}: qps ${s.qps} vs ${s.completed}/${s.runTimeS}`);
  if (s.completed > 0) {
    const l = s.latency!;
    assert.ok(l.minS <= l.avgS && l.avgS <= l.maxS, `${label}: latency min ${l.minS} avg ${l.avgS} max ${l.maxS}`);
  }
}

describe('dnsperf/resperf output parsers (saved output)', () => {
  test('dnsperf over TCP: every figure, connection statistics', () => {
    const s = parseDnsperf(SAVED_TCP);
    assert.deepEqual(
      [s.sent, s.completed, s.lost, s.interrupted, s.avgRequestBytes, s.avgResponseBytes, s.runTimeS, s.qps, s.stopReason],
      [25252, 25252, 0, 0, 52, 110, 1.000212, 25246.647711, 'time limit'],
    );
    assert.deepEqual(s.rcodes, { NOERROR: 16835, NXDOMAIN: 8417 });
    assert.deepEqual(s.latency, { avgS: 0.000155, minS: 0.000014, maxS: 0.007208, stddevS: 0.000219 });
    assert.deepEqual(s.connections, { reconnections: 0, latency: { avgS: 0.000813, minS: 0.000292, maxS: 0.001334, stddevS: 0.000737 } });
    assertConsistent(s, 'saved tcp');
  });

  test('dnsperf with lost and interrupted queries and four RCODEs', () => {
    const s = parseDnsperf(SAVED_LOSSY);
    assert.deepEqual([s.sent, s.completed, s.lost, s.interrupted], [59065, 58942, 23, 100]);
    assert.deepEqual(s.rcodes, { NOERROR: 36944, SERVFAIL: 712, NXDOMAIN: 12740, REFUSED: 8546 });
    assert.equal(s.connections, null);
    assertConsistent(s, 'saved lossy');
    assert.deepEqual(parseRcodes('NOERROR 1 (50.00%), RCODE12 1 (50.00%)'), { NOERROR: 1, RCODE12: 1 });
    assert.throws(() => parseDnsperf('Error: unable to open file: x\n'), /no statistics/);
  });

  test('resperf statistics, plot file and the curve figures', () => {
    const s = parseResperf(SAVED_RESPERF);
    assert.deepEqual([s.sent, s.completed, s.lost, s.reconnections, s.runTimeS, s.maxThroughputQps, s.lossAtMaxPct], [5000, 5000, 0, 0, 2.000817, 3126, 0]);
    assert.deepEqual(s.rcodes, { NOERROR: 5000 });
    assert.equal(s.cutShort, null);
    const plot = parseResperfPlot(SAVED_PLOT);
    assert.equal(plot.length, 3);
    assert.deepEqual(plot[2], { t: 1.25, targetQps: 3125, actualQps: 3126, responsesPerSec: 3126, failuresPerSec: 0, avgLatencyS: 0.000018, connectionsPerSec: 0, connAvgLatencyS: 0 });
    const c = resperfCurve(plot);
    assert.equal(c.peak!.responsesPerSec, s.maxThroughputQps, 'our peak is resperf\'s maximum throughput');
    assert.equal(c.lossOnset, null);
    assert.equal(c.lastCleanQps, 3126);
    // A curve where the server starts dropping at the third interval.
    const lossy = resperfCurve([
      { t: 0.25, targetQps: 1000, actualQps: 1000, responsesPerSec: 1000, failuresPerSec: 0, avgLatencyS: 0, connectionsPerSec: 0, connAvgLatencyS: 0 },
      { t: 0.75, targetQps: 3000, actualQps: 3000, responsesPerSec: 2990, failuresPerSec: 0, avgLatencyS: 0, connectionsPerSec: 0, connAvgLatencyS: 0 },
      { t: 1.25, targetQps: 5000, actualQps: 5000, responsesPerSec: 4000, failuresPerSec: 0, avgLatencyS: 0, connectionsPerSec: 0, connAvgLatencyS: 0 },
      { t: 1.75, targetQps: 7000, actualQps: 5000, responsesPerSec: 3000, failuresPerSec: 0, avgLatencyS: 0, connectionsPerSec: 0, connAvgLatencyS: 0 },
    ]);
    assert.equal(lossy.lossOnset!.actualQps, 5000);
    assert.equal(lossy.lossOnset!.lossPct, 20);
    assert.equal(lossy.lastCleanQps, 3000, '0.33 % loss is under the 1 % threshold');
    assert.equal(lossy.peak!.responsesPerSec, 4000);
    assert.equal(lossy.generatorShortfall, 1);
    assert.match(parseResperf(`[Status] Fell behind by 1000 queries, ending test at 81234 qps\n${SAVED_RESPERF}`).cutShort!.reason, /fell behind/);
  });

  test('command lines: the flags man dnsperf / resperf -h document', () => {
    assert.deepEqual(dnsperfArgs({ server: '127.0.0.1:1053', queriesFile: 'q.txt', duration: 2, clients: 1, threads: 2, outstanding: 50, rate: 1000, statsInterval: 1, edns: true }), [
      '-s', '127.0.0.1', '-p', '1053', '-d', 'q.txt', '-l', '2', '-c', '2', '-T', '2', '-q', '50', '-t', '2', '-m', 'udp', '-O', 'suppress=timeouts,unexpected', '-Q', '1000', '-S', '1', '-e',
    ]);
    assert.deepEqual(dnsperfArgs({ server: '[::1]:8443', queriesFile: 'q', mode: 'doh', dohMethod: 'POST' }).slice(-4), ['-O', 'doh-uri=https://[::1]:8443/dns-query', '-O', 'doh-method=POST']);
    assert.deepEqual(resperfArgs({ server: '127.0.0.1:1053', queriesFile: 'q.txt', maxRate: 1000, ramp: 3, maxLoss: 5 }, 'p.gnuplot'), [
      '-s', '127.0.0.1', '-p', '1053', '-d', 'q.txt', '-R', '-m', '1000', '-r', '3', '-c', '0', '-C', '1', '-t', '2', '-i', '0.5', '-P', 'p.gnuplot', '-M', 'udp', '-L', '5',
    ]);
    assert.throws(() => dnsperfArgs({ server: '10.0.0.1:53', queriesFile: 'q' }), /non-loopback/);
  });
});

describe('query files', () => {
  test('cluster-mix.txt is the synthetic cluster\'s mix (200 services, 2000 endpoints, seed 1), regenerated byte for byte', () => {
    const c = syntheticCluster({ services: CLUSTER_MIX.services, endpoints: CLUSTER_MIX.endpoints });
    const want = formatQueries(clusterQueries(c, { count: CLUSTER_MIX.queries }));
    assert.equal(readFileSync(join(ROOT, 'bench', 'queries', 'cluster-mix.txt'), 'utf8'), want);
  });

  test('outside-names.txt: A and AAAA of names outside the cluster, each once; no comments (dnsperf reads it as is)', () => {
    const text = readFileSync(join(ROOT, 'bench', 'queries', 'outside-names.txt'), 'utf8');
    assert.ok(!/[#;]/.test(text));
    const q = parseQueryFile(text);
    assert.ok(q.length >= 100);
    assert.equal(new Set(q.map((x) => `${x.name} ${x.type}`)).size, q.length);
    assert.ok(q.every((x) => (x.type === 'A' || x.type === 'AAAA') && !x.name.endsWith('cluster.local')));
  });

  test('prepareQueryFile writes plain `name TYPE` lines (dnsperf reads `# comment` as a query)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdns-dnsperf-test-'));
    try {
      const src = join(dir, 'q.txt');
      writeFileSync(src, '# comment\n; dnsperf comment\n\na.test\nb.test AAAA  # why\n');
      const { file, queries } = prepareQueryFile(src, dir);
      assert.equal(readFileSync(file, 'utf8'), 'a.test A\nb.test AAAA\n');
      assert.equal(queries.length, 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('dnsperf and resperf against kdns (live)', { skip: MISSING }, () => {
  let s: RunningServer;
  let dir: string;
  let qfile: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kdns-dnsperf-test-'));
    s = await startServer(`.:{PORT} {
    bind 127.0.0.1
    records cluster.local {
        kubernetes.default.svc.cluster.local. 5 IN A 10.96.0.1
    }
}
`, { workers: 1 });
    const src = join(dir, 'mixed.txt');
    // A with answers, NXDOMAIN, NODATA: two RCODEs in the statistics.
    writeFileSync(src, '# a comment dnsperf would misread\nkubernetes.default.svc.cluster.local A\nnope.default.svc.cluster.local A\nkubernetes.default.svc.cluster.local AAAA\n');
    qfile = prepareQueryFile(src, dir).file;
  });
  after(async () => {
    await s?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('dnsperf UDP, 1.5 s with -S: parsed figures are consistent', async () => {
    const r = await runDnsperf({ server: `127.0.0.1:${s.port}`, queriesFile: qfile, duration: 1.5, clients: 2, outstanding: 20, statsInterval: 0.5 });
    const st = r.stats;
    assertConsistent(st, 'udp');
    assert.equal(r.run.code, 0);
    assert.equal(st.stopReason, 'time limit');
    assert.ok(Math.abs(st.runTimeS - 1.5) < 0.2, `run time ${st.runTimeS}`);
    assert.deepEqual(Object.keys(st.rcodes).sort(), ['NOERROR', 'NXDOMAIN']);
    // One query in three is the NXDOMAIN name.
    const nx = st.rcodes.NXDOMAIN! / st.completed;
    assert.ok(nx > 0.3 && nx < 0.37, `NXDOMAIN share ${nx}`);
    assert.equal(st.lost, 0, 'nothing lost on loopback at -q 20');
    assert.equal(st.connections, null);
    assert.deepEqual(st.warnings, [], 'no invalid query-file lines');
    assert.ok(st.intervals.length >= 2, `intervals ${JSON.stringify(st.intervals)}`);
    assert.ok(st.avgRequestBytes! > 40 && st.avgResponseBytes! > st.avgRequestBytes!);
    assert.ok(r.run.cpuUs! > 0, 'dnsperf CPU time read from the wrapper shell');
  });

  test('dnsperf TCP, open loop at 2000 q/s (-Q): connection statistics, the rate is held', async () => {
    const r = await runDnsperf({ server: `127.0.0.1:${s.port}`, queriesFile: qfile, mode: 'tcp', duration: 1, clients: 1, rate: 2000 });
    assertConsistent(r.stats, 'tcp');
    assert.ok(r.stats.connections !== null, 'TCP prints connection statistics');
    assert.ok(Math.abs(r.stats.qps - 2000) < 200, `qps ${r.stats.qps} at -Q 2000`);
  });

  test('resperf: a 2 s ramp to 5000 q/s; the statistics, the plot and our curve agree', async () => {
    const r = await runResperf({ server: `127.0.0.1:${s.port}`, queriesFile: qfile, maxRate: 5000, ramp: 2, timeout: 1 });
    const st = r.stats;
    // The ramp sends ½ · max rate · ramp time queries.
    assert.ok(Math.abs(st.sent - 5000) <= 50, `sent ${st.sent}`);
    assert.ok(st.completed <= st.sent);
    assert.equal(st.completed + st.lost, st.sent);
    assert.equal(Object.values(st.rcodes).reduce((a, b) => a + b, 0), st.completed);
    assert.ok(r.plot.length >= 2, `plot rows ${r.plot.length}`);
    for (let i = 1; i < r.plot.length; i++) assert.ok(r.plot[i]!.targetQps > r.plot[i - 1]!.targetQps, 'the target rate ramps up');
    assert.ok(Math.abs(r.curve.peak!.responsesPerSec - st.maxThroughputQps) < 1, `peak ${r.curve.peak!.responsesPerSec} vs resperf ${st.maxThroughputQps}`);
    assert.ok(r.run.wallMs < 10_000, `resperf took ${r.run.wallMs} ms`);
  });
});

describe('bench/dnsperf.ts CLI (live)', { skip: MISSING }, () => {
  test('minimal vs kdns1, dnsperf + resperf: JSON report, ratios to the baseline, Markdown tables', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdns-dnsperf-cli-'));
    try {
      const out = join(dir, 'r.json');
      const r = spawnSync(process.execPath, ['bench/dnsperf.ts', '--targets', 'minimal,kdns1', '--tool', 'both', '--duration', '1', '--ramp', '1', '--max-rate', '4000', '--out', out], {
        cwd: ROOT, encoding: 'utf8', timeout: 90_000,
      });
      assert.equal(r.status, 0, r.stderr);
      const rep = JSON.parse(readFileSync(out, 'utf8')) as DnsperfBenchReport;
      assert.equal(rep.baseline, 'minimal');
      assert.equal(rep.runs.length, 4);
      assert.ok(rep.runs.every((x) => x.ok), JSON.stringify(rep.runs.filter((x) => !x.ok).map((x) => x.error)));
      const k = rep.summary.find((x) => x.target === 'kdns1' && x.tool === 'dnsperf')!;
      assert.ok(k.qps!.median > 0);
      assert.ok(k.vsBaseline!.qps! > 0);
      assert.ok(k.serverCpuUsPerQuery! > 0);
      assert.deepEqual(Object.keys(k.rcodes!), ['NOERROR']);
      const kr = rep.summary.find((x) => x.target === 'kdns1' && x.tool === 'resperf')!;
      assert.ok(kr.maxThroughput!.median > 0 && kr.vsBaseline!.maxThroughput! > 0);
      assert.ok(rep.runs.find((x) => x.tool === 'resperf')!.resperf!.plot.length > 0);
      assert.match(r.stdout, /\| kdns1 \| \d+/);
      assert.match(r.stdout, /QPS vs minimal/);
      assert.match(r.stdout, /max throughput vs minimal/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
