// Parsers for the output of DNS-OARC's dnsperf and resperf (Debian's `dnsperf` package, 2.x),
// and for resperf's plot data file. Pure functions on text, so they can be tested on saved output.
//
// dnsperf prints (src/dnsperf.c print_statistics):
//
//   Statistics:
//
//     Queries sent:         68304
//     Queries completed:    68304 (100.00%)
//     Queries lost:         0 (0.00%)
//     Queries interrupted:  100 (0.15%)          <- only when > 0 (in flight at the time limit)
//
//     Response codes:       NOERROR 16835 (66.67%), NXDOMAIN 8417 (33.33%)
//     Average packet size:  request 54, response 70
//     Run time (s):         1.500174
//     Queries per second:   45530.718437
//
//     Average Latency (s):  0.000194 (min 0.000018, max 0.008223)
//     Latency StdDev (s):   0.000237               <- only when completed > 1
//
//   Connection Statistics:                        <- TCP, DoT, DoH only
//
//     Reconnections:        0
//
//     Average Latency (s):  0.000813 (min 0.000292, max 0.001334)
//     Latency StdDev (s):   0.000737
//
// and, with -S N, a line `SECONDS.MICROS: QPS` every N seconds while it runs.
//
// resperf prints the same kind of block without percentages on sent/completed/lost, then
// `Reconnection(s):`, `Run time (s):`, `Maximum throughput: X qps` and `Lost at that point: Y%`;
// its plot file (-P) has a `# time target_qps actual_qps responses_per_sec failures_per_sec
// avg_latency connections conn_avg_latency` header and one row per interval (-i, 0.5 s) of the
// traffic phase, each row about the queries SENT in that interval.

export interface LatencyStats {
  avgS: number;
  minS: number;
  maxS: number;
  /** Absent when only one query completed. */
  stddevS: number | null;
}

export interface DnsperfStats {
  sent: number;
  completed: number;
  /** Timed out (`Queries lost`). */
  lost: number;
  /** Still in flight when the time limit stopped the run (`Queries interrupted`, 0 when not printed). */
  interrupted: number;
  /** RCODE name -> responses; sums to `completed`. */
  rcodes: Record<string, number>;
  avgRequestBytes: number | null;
  avgResponseBytes: number | null;
  runTimeS: number;
  /** As dnsperf computes it: completed / run time. */
  qps: number;
  latency: LatencyStats | null;
  /** TCP, DoT and DoH modes only. */
  connections: { reconnections: number; latency: LatencyStats | null } | null;
  /** `-S` lines: unix time (s) and the QPS of the interval that ended then. */
  intervals: { t: number; qps: number }[];
  /** `time limit`, `end of file` or `interruption`. */
  stopReason: string | null;
  /** `Warning:`/`Error:` lines dnsperf wrote (e.g. invalid query-file lines). */
  warnings: string[];
}

export interface ResperfPoint {
  /** Seconds from the start, the middle of the interval. */
  t: number;
  targetQps: number;
  /** Queries actually sent per second in this interval. */
  actualQps: number;
  /** Responses per second to the queries sent in this interval (whenever they came back). */
  responsesPerSec: number;
  /** Responses other than NOERROR and NXDOMAIN, per second. */
  failuresPerSec: number;
  avgLatencyS: number;
  connectionsPerSec: number;
  connAvgLatencyS: number;
}

export interface ResperfStats {
  sent: number;
  completed: number;
  lost: number;
  rcodes: Record<string, number>;
  reconnections: number;
  runTimeS: number;
  /** resperf's figure: the highest per-interval response rate (up to the -L loss limit). */
  maxThroughputQps: number;
  /** Loss in the interval where `maxThroughputQps` was reached, percent. */
  lossAtMaxPct: number;
  /** Why the traffic phase ended early, when it did: `fell behind` (resperf could not send fast enough) or `max outstanding`. */
  cutShort: { reason: 'fell behind' | 'max outstanding'; detail: string } | null;
  warnings: string[];
}

const num = (s: string | undefined): number => (s === undefined ? NaN : Number(s));

function latencyFrom(block: string): LatencyStats | null {
  const m = /Average Latency \(s\):\s+([\d.]+) \(min ([\d.]+), max ([\d.]+)\)/.exec(block);
  if (!m) return null;
  const sd = /Latency StdDev \(s\):\s+([\d.]+)/.exec(block);
  return { avgS: num(m[1]), minS: num(m[2]), maxS: num(m[3]), stddevS: sd ? num(sd[1]) : null };
}

/** `NOERROR 16835 (66.67%), NXDOMAIN 8417 (33.33%)` -> { NOERROR: 16835, NXDOMAIN: 8417 }. */
export function parseRcodes(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/([A-Za-z0-9]+) (\d+) \([\d.]+%\)/g)) out[m[1]!] = (out[m[1]!] ?? 0) + Number(m[2]);
  return out;
}

function field(text: string, label: string): string | undefined {
  return new RegExp(`^\\s*${label.replace(/[()]/g, '\\$&')}:\\s+(.*)$`, 'm').exec(text)?.[1];
}

function warningsOf(text: string): string[] {
  return text.split('\n').filter((l) => /^(Warning|Error):/.test(l)).map((l) => l.trim());
}

/** Parses dnsperf's stdout (+ stderr, when -W is not used, may be appended). Throws when there is no statistics block. */
export function parseDnsperf(output: string): DnsperfStats {
  const at = output.indexOf('\nStatistics:');
  if (at < 0) throw new Error(`no statistics in dnsperf output: ${output.trim().split('\n').slice(-3).join(' | ')}`);
  const tail = output.slice(at);
  const connAt = tail.indexOf('\nConnection Statistics:');
  const main = connAt < 0 ? tail : tail.slice(0, connAt);
  const conn = connAt < 0 ? null : tail.slice(connAt);
  const first = (s: string | undefined): number => num(s?.split(/\s/)[0]);
  const sizes = /request (\d+), response (\d+)/.exec(field(main, 'Average packet size') ?? '');
  const intervals: { t: number; qps: number }[] = [];
  for (const m of output.slice(0, at).matchAll(/^(\d+\.\d+): ([\d.]+)$/gm)) intervals.push({ t: Number(m[1]), qps: Number(m[2]) });
  const stats: DnsperfStats = {
    sent: first(field(main, 'Queries sent')),
    completed: first(field(main, 'Queries completed')),
    lost: first(field(main, 'Queries lost')),
    interrupted: field(main, 'Queries interrupted') === undefined ? 0 : first(field(main, 'Queries interrupted')),
    rcodes: parseRcodes(field(main, 'Response codes') ?? ''),
    avgRequestBytes: sizes ? Number(sizes[1]) : null,
    avgResponseBytes: sizes ? Number(sizes[2]) : null,
    runTimeS: first(field(main, 'Run time (s)')),
    qps: first(field(main, 'Queries per second')),
    latency: latencyFrom(main),
    connections: conn ? { reconnections: first(field(conn, 'Reconnections')), latency: latencyFrom(conn) } : null,
    intervals,
    stopReason: /\[Status\] Testing complete \(([^)]+)\)/.exec(output)?.[1] ?? null,
    warnings: warningsOf(output),
  };
  for (const k of ['sent', 'completed', 'lost', 'runTimeS', 'qps'] as const) {
    if (!Number.isFinite(stats[k])) throw new Error(`dnsperf output has no '${k}' figure`);
  }
  return stats;
}

/** Parses resperf's stdout. Throws when there is no statistics block. */
export function parseResperf(output: string): ResperfStats {
  const at = output.indexOf('\nStatistics:');
  if (at < 0) throw new Error(`no statistics in resperf output: ${output.trim().split('\n').slice(-3).join(' | ')}`);
  const main = output.slice(at);
  const first = (s: string | undefined): number => num(s?.split(/\s/)[0]);
  const fell = /\[Status\] (Fell behind by \d+ queries, ending test at [\d.]+ qps)/.exec(output);
  const outstanding = /\[Status\] (Reached \d+ outstanding queries)/.exec(output);
  const stats: ResperfStats = {
    sent: first(field(main, 'Queries sent')),
    completed: first(field(main, 'Queries completed')),
    lost: first(field(main, 'Queries lost')),
    rcodes: parseRcodes(field(main, 'Response codes') ?? ''),
    reconnections: first(field(main, 'Reconnection(s)')) || 0,
    runTimeS: first(field(main, 'Run time (s)')),
    maxThroughputQps: first(field(main, 'Maximum throughput')),
    lossAtMaxPct: num(field(main, 'Lost at that point')?.replace('%', '')),
    cutShort: fell ? { reason: 'fell behind', detail: fell[1]! } : outstanding ? { reason: 'max outstanding', detail: outstanding[1]! } : null,
    warnings: warningsOf(output),
  };
  for (const k of ['sent', 'completed', 'lost', 'runTimeS', 'maxThroughputQps'] as const) {
    if (!Number.isFinite(stats[k])) throw new Error(`resperf output has no '${k}' figure`);
  }
  return stats;
}

/** Parses resperf's plot data file (-P). */
export function parseResperfPlot(text: string): ResperfPoint[] {
  const out: ResperfPoint[] = [];
  for (const line of text.split('\n')) {
    const l = line.trim();
    if (!l || l.startsWith('#')) continue;
    const f = l.split(/\s+/).map(Number);
    if (f.length < 6 || f.some((x) => !Number.isFinite(x))) throw new Error(`bad resperf plot line: ${line}`);
    out.push({
      t: f[0]!, targetQps: f[1]!, actualQps: f[2]!, responsesPerSec: f[3]!, failuresPerSec: f[4]!, avgLatencyS: f[5]!,
      connectionsPerSec: f[6] ?? 0, connAvgLatencyS: f[7] ?? 0,
    });
  }
  return out;
}

export interface ResperfCurve {
  /** Highest responses/s of any interval, and where (same rule as resperf without -L). */
  peak: { t: number; responsesPerSec: number; actualQps: number; lossPct: number } | null;
  /**
   * The first interval whose loss ((sent - answered) / sent) is above `lossThresholdPct`: the
   * offered rate at which the server started to drop. null when it never did.
   */
  lossOnset: { t: number; targetQps: number; actualQps: number; responsesPerSec: number; lossPct: number } | null;
  /** The highest sent rate with loss at or under the threshold before the onset (the usable capacity). */
  lastCleanQps: number | null;
  /** Intervals where resperf did not manage to send at its target rate (actual < 90 % of target). */
  generatorShortfall: number;
}

/** Figures from the per-interval curve. */
export function resperfCurve(points: ResperfPoint[], lossThresholdPct = 1): ResperfCurve {
  let peak: ResperfCurve['peak'] = null;
  let lossOnset: ResperfCurve['lossOnset'] = null;
  let lastCleanQps: number | null = null;
  let generatorShortfall = 0;
  for (const p of points) {
    const lossPct = p.actualQps > 0 ? (100 * Math.max(0, p.actualQps - p.responsesPerSec)) / p.actualQps : 0;
    if (!peak || p.responsesPerSec > peak.responsesPerSec) peak = { t: p.t, responsesPerSec: p.responsesPerSec, actualQps: p.actualQps, lossPct };
    if (p.targetQps > 0 && p.actualQps < 0.9 * p.targetQps) generatorShortfall++;
    if (lossOnset) continue;
    if (p.actualQps > 0 && lossPct > lossThresholdPct) lossOnset = { t: p.t, targetQps: p.targetQps, actualQps: p.actualQps, responsesPerSec: p.responsesPerSec, lossPct };
    else if (p.actualQps > 0) lastCleanQps = Math.max(lastCleanQps ?? 0, p.actualQps);
  }
  return { peak, lossOnset, lastCleanQps, generatorShortfall };
}
