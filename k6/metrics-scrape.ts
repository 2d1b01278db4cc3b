// Scrapes kdns's Prometheus endpoint every few seconds while load runs, and turns the counters
// into k6 metrics (rates between successive scrapes) with thresholds on them:
//
//   k6 run k6/metrics-scrape.ts                         # scrape only; dnsperf / k6 / anything else makes the load
//   k6 run -e LOAD=doh -e RATE=500 -e INSECURE=1 k6/metrics-scrape.ts   # its own DoH load beside it (k6/doh.ts)
//
// Environment (all optional; see k6/README.md):
//   METRICS_URL       http://127.0.0.1:9153/metrics (kdns's `prometheus` plugin; CoreDNS's too)
//   SCRAPE_INTERVAL   seconds between scrapes, default 5
//   DURATION          how long to scrape (and, with LOAD=doh, how long the DoH load runs), default 30s
//   LOAD              none (default) | doh: also run k6/doh.ts's scenario (all of its variables apply)
//   MIN_WORKERS       threshold: kdns_workers_alive never below this, default 1
//   MAX_RESTARTS      threshold: worker restarts seen during the test, default 0
//   MAX_RSS_MB        threshold: process_resident_memory_bytes never above this (MiB)
//   MAX_SERVFAIL_RATIO threshold: SERVFAIL share of responses in any interval
//   MAX_SERVER_P99_MS threshold: kdns's own p99 request duration in any interval (from the histogram)

import http from 'k6/http';
import { check } from 'k6';
import { Counter, Gauge, Rate, Trend } from 'k6/metrics';
import type { Options, Scenario } from 'k6/options';
import { envSettings } from './lib/env.ts';
import { kdnsRates, kdnsSnapshot, parsePrometheus, type KdnsSnapshot } from './lib/prometheus.ts';
import { dohIteration, dohScenario, dohThresholds } from './doh.ts';

const { env, envNum } = envSettings(__ENV);

const METRICS_URL = env('METRICS_URL', 'http://127.0.0.1:9153/metrics');
const INTERVAL = envNum('SCRAPE_INTERVAL', 5);
const LOAD = env('LOAD', 'none');
if (LOAD !== 'none' && LOAD !== 'doh') throw new Error('LOAD must be none or doh');

// Per scrape (gauges: the last value; trends: every scrape, so min/max are over the test).
const workersAlive = new Trend('kdns_workers_alive');
const rssBytes = new Gauge('kdns_rss_bytes');
const rssMb = new Trend('kdns_rss_mb');
const requestsTotal = new Gauge('kdns_requests_total');
const scrapeOk = new Rate('kdns_scrape_ok');
// Per interval between two scrapes.
const requestsPerSecond = new Trend('kdns_requests_per_second');
const responsesPerSecond = new Trend('kdns_responses_per_second');
const httpsPerSecond = new Trend('kdns_https_responses_per_second');
const servfailRatio = new Trend('kdns_servfail_ratio');
const cacheHitRatio = new Trend('kdns_cache_hit_ratio');
const serverP50 = new Trend('kdns_server_p50', true);
const serverP99 = new Trend('kdns_server_p99', true);
const cpuCores = new Trend('kdns_cpu_cores');
const workerRestarts = new Counter('kdns_worker_restarts');

const scrapeScenario: Scenario = {
  executor: 'constant-arrival-rate',
  exec: 'scrape',
  rate: 1,
  timeUnit: `${INTERVAL}s`,
  // With LOAD=doh the scrapes start with the load and go on a little after it, to see it wind down.
  duration: env('SCRAPE_DURATION', LOAD === 'doh' ? addSeconds(env('DURATION', '30s'), 2 * INTERVAL) : env('DURATION', '30s')),
  // One VU, so successive scrapes see each other (the previous snapshot lives in the VU).
  preAllocatedVUs: 1,
  maxVUs: 1,
};

function addSeconds(duration: string, s: number): string {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(duration);
  if (!m) return duration;
  const secs = Number(m[1]) * ({ ms: 0.001, s: 1, m: 60, h: 3600 } as Record<string, number>)[m[2]!]!;
  return `${Math.ceil(secs + s)}s`;
}

const thresholds: NonNullable<Options['thresholds']> = {
  kdns_workers_alive: [`min>=${envNum('MIN_WORKERS', 1)}`],
  kdns_worker_restarts: [`count<=${envNum('MAX_RESTARTS', 0)}`],
  kdns_scrape_ok: ['rate>=0.99'],
  'kdns_responses_per_second{rcode:NOERROR}': [],
  'kdns_responses_per_second{rcode:NXDOMAIN}': [],
  'kdns_responses_per_second{rcode:SERVFAIL}': [],
};
if (__ENV.MAX_RSS_MB) thresholds.kdns_rss_mb = [`max<=${envNum('MAX_RSS_MB', 0)}`];
if (__ENV.MAX_SERVFAIL_RATIO) thresholds.kdns_servfail_ratio = [`max<=${envNum('MAX_SERVFAIL_RATIO', 0)}`];
if (__ENV.MAX_SERVER_P99_MS) thresholds.kdns_server_p99 = [`max<=${envNum('MAX_SERVER_P99_MS', 0)}`];

export const options: Options = {
  scenarios: LOAD === 'doh' ? { doh: dohScenario('doh'), scrape: scrapeScenario } : { scrape: scrapeScenario },
  thresholds: LOAD === 'doh' ? { ...dohThresholds('doh'), ...thresholds } : thresholds,
  insecureSkipTLSVerify: __ENV.INSECURE === '1' || __ENV.INSECURE === 'true',
  systemTags: ['status', 'method', 'name', 'scenario', 'check', 'error', 'error_code', 'tls_version', 'proto', 'expected_response'],
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(99)', 'max'],
};

let prev: KdnsSnapshot | null = null;

export function scrape(): void {
  const res = http.get(METRICS_URL, { tags: { name: 'metrics' }, timeout: `${Math.max(1, INTERVAL)}s` });
  const at = Date.now();
  let snap: KdnsSnapshot | null = null;
  let isDnsServer = false;
  if (res.status === 200 && typeof res.body === 'string') {
    try {
      const samples = parsePrometheus(res.body).samples;
      isDnsServer = samples.some((x) => x.name === 'coredns_build_info');
      snap = kdnsSnapshot(samples, at);
    } catch (err) {
      console.warn(`cannot parse ${METRICS_URL}: ${String(err)}`);
    }
  }
  const ok = check(res, {
    'metrics HTTP 200': (r) => r.status === 200,
    'metrics parse': () => snap !== null,
    // Every kdns and CoreDNS exposes it, queried or not.
    'is a CoreDNS/kdns endpoint (coredns_build_info)': () => snap !== null && isDnsServer,
  });
  scrapeOk.add(ok);
  if (!snap) return;
  if (snap.workersAlive !== null) workersAlive.add(snap.workersAlive);
  if (snap.rssBytes !== null) {
    rssBytes.add(snap.rssBytes);
    rssMb.add(snap.rssBytes / 1048576);
  }
  requestsTotal.add(snap.requests);
  if (prev) {
    const r = kdnsRates(prev, snap);
    if (r.requestsPerSecond !== null) requestsPerSecond.add(r.requestsPerSecond);
    for (const [rcode, v] of Object.entries(r.responsesPerSecond)) responsesPerSecond.add(v, { rcode });
    for (const [status, v] of Object.entries(r.httpsResponsesPerSecond)) httpsPerSecond.add(v, { status });
    if (r.servfailRatio !== null) servfailRatio.add(r.servfailRatio);
    if (r.cacheHitRatio !== null) cacheHitRatio.add(r.cacheHitRatio);
    if (r.p50Seconds !== null) serverP50.add(r.p50Seconds * 1000);
    if (r.p99Seconds !== null) serverP99.add(r.p99Seconds * 1000);
    if (r.cpuCores !== null) cpuCores.add(r.cpuCores);
    if (r.workerRestarts) workerRestarts.add(r.workerRestarts);
    else workerRestarts.add(0);
  }
  prev = snap;
}

export function doh(): void {
  dohIteration();
}

export default function (): void {
  scrape();
}
