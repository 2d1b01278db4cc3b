// Prometheus text exposition format (0.0.4) parser and the kdns/CoreDNS figures the k6 scrape
// script derives from two successive scrapes. No k6 import, no Node API: unit tested under Node.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
  /** Milliseconds, when the line has a timestamp. */
  timestamp?: number;
}

export interface Exposition {
  samples: Sample[];
  /** `# TYPE` by metric family name. */
  types: Record<string, string>;
  /** `# HELP` by metric family name (unescaped). */
  help: Record<string, string>;
}

function parseValue(s: string): number {
  switch (s) {
    case '+Inf':
    case 'Inf':
      return Infinity;
    case '-Inf':
      return -Infinity;
    case 'NaN':
      return NaN;
    default: {
      const n = Number(s);
      if (s === '' || Number.isNaN(n)) throw new Error(`bad sample value ${JSON.stringify(s)}`);
      return n;
    }
  }
}

/** Parses `{a="x",b="y\"z"}` starting at `i` (the `{`); returns the labels and the index after `}`. */
function parseLabels(line: string, i: number): { labels: Record<string, string>; next: number } {
  const labels: Record<string, string> = {};
  i++; // {
  for (;;) {
    while (line[i] === ' ' || line[i] === ',') i++;
    if (line[i] === '}') return { labels, next: i + 1 };
    const m = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(i));
    if (!m) throw new Error(`bad label name in: ${line}`);
    const key = m[0];
    i += key.length;
    while (line[i] === ' ') i++;
    if (line[i] !== '=' || line[i + 1] !== '"') throw new Error(`bad label ${key} in: ${line}`);
    i += 2;
    let val = '';
    for (;;) {
      const c = line[i];
      if (c === undefined) throw new Error(`unterminated label value in: ${line}`);
      if (c === '"') {
        i++;
        break;
      }
      if (c === '\\') {
        const n = line[i + 1];
        val += n === 'n' ? '\n' : n ?? '';
        i += 2;
        continue;
      }
      val += c;
      i++;
    }
    labels[key] = val;
  }
}

/** Parses a whole scrape. Throws on a malformed sample line. */
export function parsePrometheus(text: string): Exposition {
  const samples: Sample[] = [];
  const types: Record<string, string> = {};
  const help: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)\s?(.*)$/.exec(line);
      if (m && m[1] === 'TYPE') types[m[2]!] = m[3]!.trim();
      else if (m) help[m[2]!] = m[3]!.replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
      continue;
    }
    const nm = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
    if (!nm) throw new Error(`bad sample line: ${line}`);
    let i = nm[0].length;
    let labels: Record<string, string> = {};
    if (line[i] === '{') ({ labels, next: i } = parseLabels(line, i));
    const rest = line.slice(i).trim().split(/\s+/);
    if (rest.length < 1 || rest.length > 2 || rest[0] === '') throw new Error(`bad sample line: ${line}`);
    const s: Sample = { name: nm[0], labels, value: parseValue(rest[0]!) };
    if (rest[1] !== undefined) s.timestamp = Number(rest[1]);
    samples.push(s);
  }
  return { samples, types, help };
}

const matches = (s: Sample, match: Record<string, string> | undefined): boolean =>
  !match || Object.entries(match).every(([k, v]) => s.labels[k] === v);

/** Samples of `name` whose labels include all of `match`. */
export function select(samples: Sample[], name: string, match?: Record<string, string>): Sample[] {
  return samples.filter((s) => s.name === name && matches(s, match));
}

/** Sum of the values of `name` (over every label set that includes `match`); null when there is no such series. */
export function sumOf(samples: Sample[], name: string, match?: Record<string, string>): number | null {
  const xs = select(samples, name, match);
  return xs.length ? xs.reduce((a, s) => a + s.value, 0) : null;
}

/** `name` summed by the values of one label, e.g. responses by `rcode`. */
export function byLabel(samples: Sample[], name: string, label: string, match?: Record<string, string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of select(samples, name, match)) {
    const k = s.labels[label] ?? '';
    out[k] = (out[k] ?? 0) + s.value;
  }
  return out;
}

export interface Histogram {
  /** Cumulative counts, by upper bound, ascending; the last one is +Inf. */
  buckets: { le: number; count: number }[];
  sum: number;
  count: number;
}

/** A histogram family (`NAME_bucket`, `NAME_sum`, `NAME_count`) added up over its label sets; null when absent. */
export function histogram(samples: Sample[], name: string, match?: Record<string, string>): Histogram | null {
  const byLe = new Map<number, number>();
  for (const s of select(samples, `${name}_bucket`, match)) {
    const le = parseValue(s.labels.le ?? '');
    byLe.set(le, (byLe.get(le) ?? 0) + s.value);
  }
  if (byLe.size === 0) return null;
  const buckets = [...byLe.entries()].sort((a, b) => a[0] - b[0]).map(([le, count]) => ({ le, count }));
  return { buckets, sum: sumOf(samples, `${name}_sum`, match) ?? 0, count: sumOf(samples, `${name}_count`, match) ?? buckets[buckets.length - 1]!.count };
}

/** cur - prev, bucket by bucket (the observations made between two scrapes). */
export function histogramDelta(prev: Histogram | null, cur: Histogram): Histogram {
  if (!prev) return cur;
  const before = new Map(prev.buckets.map((b) => [b.le, b.count]));
  return {
    buckets: cur.buckets.map((b) => ({ le: b.le, count: b.count - (before.get(b.le) ?? 0) })),
    sum: cur.sum - prev.sum,
    count: cur.count - prev.count,
  };
}

/**
 * The q-quantile (0..1) of a histogram, interpolated linearly inside the bucket it falls in, as
 * PromQL's histogram_quantile does (the +Inf bucket answers with the highest finite bound).
 * null when the histogram is empty.
 */
export function histogramQuantile(q: number, h: Histogram): number | null {
  const b = h.buckets;
  if (!b.length) return null;
  const total = b[b.length - 1]!.count;
  if (total <= 0) return null;
  const rank = q * total;
  for (let i = 0; i < b.length; i++) {
    if (b[i]!.count >= rank) {
      if (b[i]!.le === Infinity) return i > 0 ? b[i - 1]!.le : null;
      const lower = i > 0 ? b[i - 1]!.le : 0;
      const below = i > 0 ? b[i - 1]!.count : 0;
      const inBucket = b[i]!.count - below;
      return inBucket > 0 ? lower + ((b[i]!.le - lower) * (rank - below)) / inBucket : b[i]!.le;
    }
  }
  return b[b.length - 1]!.le;
}

/** What the k6 scrape script reads from one kdns (or CoreDNS) scrape. */
export interface KdnsSnapshot {
  /** Milliseconds (the caller's clock) when the scrape was taken. */
  at: number;
  /** Counters: 0 when the series is absent (nothing counted yet). */
  requests: number;
  /** `coredns_dns_responses_total` by rcode. */
  responses: Record<string, number>;
  cacheHits: number;
  cacheMisses: number;
  duration: Histogram | null;
  /** `coredns_dns_https_responses_total` by HTTP status (DoH). */
  httpsResponses: Record<string, number>;
  workersAlive: number | null;
  workerRestarts: number;
  panics: number;
  /** Gauges: null when absent. */
  rssBytes: number | null;
  cpuSeconds: number | null;
}

export function kdnsSnapshot(samples: Sample[], at: number): KdnsSnapshot {
  return {
    at,
    // A labelled counter has no series until it first counts: absent is 0.
    requests: sumOf(samples, 'coredns_dns_requests_total') ?? 0,
    responses: byLabel(samples, 'coredns_dns_responses_total', 'rcode'),
    cacheHits: sumOf(samples, 'coredns_cache_hits_total') ?? 0,
    cacheMisses: sumOf(samples, 'coredns_cache_misses_total') ?? 0,
    duration: histogram(samples, 'coredns_dns_request_duration_seconds'),
    httpsResponses: byLabel(samples, 'coredns_dns_https_responses_total', 'status'),
    workersAlive: sumOf(samples, 'kdns_workers_alive'),
    workerRestarts: sumOf(samples, 'kdns_worker_restarts_total') ?? 0,
    panics: sumOf(samples, 'coredns_panics_total') ?? 0,
    rssBytes: sumOf(samples, 'process_resident_memory_bytes'),
    cpuSeconds: sumOf(samples, 'process_cpu_seconds_total'),
  };
}

/** Figures over the interval between two scrapes. Counters that went down (a restart) count from 0. */
export interface KdnsRates {
  seconds: number;
  requestsPerSecond: number | null;
  responsesPerSecond: Record<string, number>;
  /** DoH answers per second by HTTP status (`coredns_dns_https_responses_total`). */
  httpsResponsesPerSecond: Record<string, number>;
  /** SERVFAIL responses / all responses in the interval; null without responses. */
  servfailRatio: number | null;
  /** hits / (hits + misses) in the interval; null without cache lookups. */
  cacheHitRatio: number | null;
  /** Request duration quantiles over the interval (seconds), from the histogram buckets. */
  p50Seconds: number | null;
  p99Seconds: number | null;
  /** Mean request duration over the interval. */
  meanSeconds: number | null;
  /** CPU cores the process used over the interval (process_cpu_seconds_total rate). */
  cpuCores: number | null;
  /** Worker restarts in the interval. */
  workerRestarts: number | null;
}

const delta = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : b >= a ? b - a : b);

export function kdnsRates(prev: KdnsSnapshot, cur: KdnsSnapshot): KdnsRates {
  const seconds = (cur.at - prev.at) / 1000;
  if (!(seconds > 0)) throw new Error('scrapes must be in time order');
  const per = (d: number | null): number | null => (d === null ? null : d / seconds);
  const responsesPerSecond: Record<string, number> = {};
  let all = 0;
  for (const [rc, n] of Object.entries(cur.responses)) {
    const d = delta(prev.responses[rc] ?? 0, n)!;
    all += d;
    responsesPerSecond[rc] = d / seconds;
  }
  const httpsResponsesPerSecond: Record<string, number> = {};
  for (const [status, n] of Object.entries(cur.httpsResponses)) httpsResponsesPerSecond[status] = delta(prev.httpsResponses[status] ?? 0, n)! / seconds;
  const hits = delta(prev.cacheHits, cur.cacheHits);
  const misses = delta(prev.cacheMisses, cur.cacheMisses);
  const lookups = hits! + misses!;
  let dur: Histogram | null = null;
  if (cur.duration) dur = prev.duration && cur.duration.count >= prev.duration.count ? histogramDelta(prev.duration, cur.duration) : cur.duration;
  return {
    seconds,
    requestsPerSecond: per(delta(prev.requests, cur.requests)),
    responsesPerSecond,
    httpsResponsesPerSecond,
    servfailRatio: all > 0 ? (responsesPerSecond.SERVFAIL ?? 0) * seconds / all : null,
    cacheHitRatio: lookups > 0 ? hits! / lookups : null,
    p50Seconds: dur ? histogramQuantile(0.5, dur) : null,
    p99Seconds: dur ? histogramQuantile(0.99, dur) : null,
    meanSeconds: dur && dur.count > 0 ? dur.sum / dur.count : null,
    cpuCores: per(delta(prev.cpuSeconds, cur.cpuSeconds)),
    workerRestarts: delta(prev.workerRestarts, cur.workerRestarts),
  };
}
