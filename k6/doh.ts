// DNS over HTTPS (RFC 8484) load against kdns's `https://` server block, with k6:
//
//   k6 run k6/doh.ts                                   # 200 q/s for 30 s, GET, bench/queries/cluster-hit.txt
//   k6 run -e DOH_URL=https://127.0.0.1:8443/dns-query -e METHOD=POST -e SCENARIO=ramping -e RATE=2000 k6/doh.ts
//
// Environment (all optional; see k6/README.md):
//   DOH_URL          https://127.0.0.1:8443/dns-query
//   METHOD           GET (?dns=base64url) | POST (application/dns-message body) | both (alternating)
//   QUERIES          query file, dnsperf format `name TYPE` (absolute, or relative to k6/)
//   NAMES            inline names instead: `name[:TYPE],name[:TYPE]...`
//   SCENARIO         constant (constant-arrival-rate) | ramping (ramping-arrival-rate) | smoke (1 VU, ITERATIONS)
//   RATE             queries per second (constant; the ramp's peak), default 200
//   DURATION         constant: how long; ramping: how long at the peak. Default 30s
//   STAGES           ramping: `10s:100,20s:1000,10s:0` (duration:target rate) instead of the default ramp
//   START_RATE       ramping: the rate at the start, default 10
//   VUS, MAX_VUS     pre-allocated and maximum VUs, default 20 and 200
//   ITERATIONS       smoke: queries, default 20
//   INSECURE         1: do not verify the server certificate (a test certificate)
//   HOSTS            `name=127.0.0.1,...`: resolve these names so (for a certificate with a DNS name)
//   EDNS             UDP size to advertise in an OPT record (e.g. 1232); PAD=128 pads (RFC 8467)
//   ACCEPT_RCODES    RCODEs that count as success, default NOERROR,NXDOMAIN
//   MIN_ANSWERS      a NOERROR response must have at least this many answers (default 0: NODATA is fine)
//   P99_MS           threshold on dns_latency p(99), default 100
//   MAX_ERROR_RATE   threshold on failures (dns_success, http_req_failed), default 0.01
//   TIMEOUT          per request, default 5s
//
// A CA instead of INSECURE: k6 is a Go program, which reads extra roots from SSL_CERT_FILE:
//   SSL_CERT_FILE=ca.crt k6 run k6/doh.ts

import http from 'k6/http';
import { check } from 'k6';
import { b64encode } from 'k6/encoding';
import exec from 'k6/execution';
import { Counter, Rate, Trend } from 'k6/metrics';
import { SharedArray } from 'k6/data';
import type { Options, Scenario } from 'k6/options';
import { encodeQuery, parseMessage, parseNameList, parseQueryList, qtypeCode, type ParsedMessage, type QuerySpec } from './lib/dns-wire.ts';
import { envSettings } from './lib/env.ts';

const { env, envNum } = envSettings(__ENV);

export const DOH_URL = env('DOH_URL', 'https://127.0.0.1:8443/dns-query');
const METHOD = env('METHOD', 'GET').toUpperCase();
if (!['GET', 'POST', 'BOTH'].includes(METHOD)) throw new Error('METHOD must be GET, POST or both');
const ACCEPT = new Set(env('ACCEPT_RCODES', 'NOERROR,NXDOMAIN').toUpperCase().split(',').map((s) => s.trim()));
const MIN_ANSWERS = envNum('MIN_ANSWERS', 0);
const EDNS = __ENV.EDNS ? envNum('EDNS', 1232) : undefined;
const PAD = __ENV.PAD ? envNum('PAD', 128) : undefined;
const TIMEOUT = env('TIMEOUT', '5s');

// The query list, read once in the init context and shared by all VUs.
const queries = new SharedArray<QuerySpec>('doh-queries', () => {
  let list: QuerySpec[];
  if (__ENV.NAMES) list = parseNameList(__ENV.NAMES);
  else if (__ENV.QUERIES) list = parseQueryList(open(__ENV.QUERIES));
  else list = parseQueryList(open(import.meta.resolve('../bench/queries/cluster-hit.txt')));
  if (list.length === 0) throw new Error('no queries (QUERIES file empty, or NAMES empty)');
  for (const q of list) qtypeCode(q.type); // unknown types fail here, not in every iteration
  return list;
});

// Custom metrics. k6's own http_req_duration is the HTTP exchange; these are about the DNS answer.
/** Time of the DoH exchange for responses that parsed as DNS (tags: rcode, method, qtype). */
export const dnsLatency = new Trend('dns_latency', true);
/** Responses by RCODE (tag rcode): thresholds can name `dns_responses{rcode:SERVFAIL}`. */
export const dnsResponses = new Counter('dns_responses');
/** 1 when HTTP 200 + application/dns-message + a DNS response to our question with an accepted RCODE. */
export const dnsSuccess = new Rate('dns_success');
/** Answer records per response. */
export const dnsAnswers = new Trend('dns_answers');
/** Smallest answer TTL (seconds), when there are answers. */
export const dnsMinTtl = new Trend('dns_min_ttl');

/** The thresholds this script's figures are judged by (also used by metrics-scrape.ts when it runs DoH load). */
export function dohThresholds(scenario?: string): Options['thresholds'] {
  const sc = scenario ? `{scenario:${scenario}}` : '';
  const maxErr = envNum('MAX_ERROR_RATE', 0.01);
  return {
    [`dns_latency${sc}`]: [`p(99)<${envNum('P99_MS', 100)}`],
    [`dns_success${sc}`]: [`rate>=${1 - maxErr}`],
    [`http_req_failed${sc}`]: [`rate<=${maxErr}`],
    [`checks${sc}`]: [`rate>=${1 - maxErr}`],
    // Empty lists: no limit, but the per-RCODE counts show in the end-of-test summary.
    'dns_responses{rcode:NOERROR}': [],
    'dns_responses{rcode:NXDOMAIN}': [],
    'dns_responses{rcode:SERVFAIL}': __ENV.MAX_SERVFAIL ? [`count<=${envNum('MAX_SERVFAIL', 0)}`] : [],
    'dns_responses{rcode:REFUSED}': [],
  };
}

function stages(peak: number): { duration: string; target: number }[] {
  if (__ENV.STAGES) {
    return __ENV.STAGES.split(',').map((s) => {
      const [duration, target] = s.trim().split(':');
      if (!duration || target === undefined || !Number.isFinite(Number(target))) throw new Error(`bad STAGES entry ${s} (want 10s:100)`);
      return { duration, target: Number(target) };
    });
  }
  return [
    { duration: '10s', target: peak },
    { duration: env('DURATION', '30s'), target: peak },
    { duration: '5s', target: 0 },
  ];
}

/** The DoH load scenario chosen by SCENARIO, running `execName`. */
export function dohScenario(execName: string): Scenario {
  const kind = env('SCENARIO', 'constant');
  const rate = envNum('RATE', 200);
  const vus = envNum('VUS', 20);
  const maxVUs = Math.max(vus, envNum('MAX_VUS', 200));
  switch (kind) {
    case 'constant':
      return { executor: 'constant-arrival-rate', exec: execName, rate, timeUnit: '1s', duration: env('DURATION', '30s'), preAllocatedVUs: vus, maxVUs };
    case 'ramping':
      return { executor: 'ramping-arrival-rate', exec: execName, startRate: envNum('START_RATE', 10), timeUnit: '1s', preAllocatedVUs: vus, maxVUs, stages: stages(rate) };
    case 'smoke':
      return { executor: 'shared-iterations', exec: execName, vus: 1, iterations: envNum('ITERATIONS', 20), maxDuration: '1m' };
    default:
      throw new Error(`SCENARIO must be constant, ramping or smoke (got ${kind})`);
  }
}

export const options: Options = {
  scenarios: { doh: dohScenario('doh') },
  thresholds: dohThresholds(),
  insecureSkipTLSVerify: __ENV.INSECURE === '1' || __ENV.INSECURE === 'true',
  hosts: Object.fromEntries(
    (__ENV.HOSTS ?? '').split(',').map((s) => s.trim()).filter(Boolean).map((s) => s.split('=') as [string, string]),
  ),
  // Every GET has its own URL: keep the per-URL tag out of the metrics.
  systemTags: ['status', 'method', 'name', 'scenario', 'check', 'error', 'error_code', 'tls_version', 'proto', 'expected_response'],
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(99)', 'max'],
};

/** One DoH query: encode, send (GET or POST), check, record. Returns the parsed answer or null. */
export function dohQuery(q: QuerySpec, method: 'GET' | 'POST'): ParsedMessage | null {
  // RFC 8484 §4.1: GET clients should use ID 0 so the same question is the same URL (cacheable).
  const id = method === 'GET' ? 0 : Math.floor(Math.random() * 0x10000);
  const wire = encodeQuery(q.name, q.type, { id, edns: EDNS, padTo: PAD });
  const body = wire.buffer.slice(wire.byteOffset, wire.byteOffset + wire.byteLength) as ArrayBuffer;
  const tags = { name: `doh-${method}`, qtype: q.type };
  const params = { headers: { accept: 'application/dns-message' }, responseType: 'binary' as const, tags, timeout: TIMEOUT };
  const res = method === 'GET'
    ? http.get(`${DOH_URL}${DOH_URL.includes('?') ? '&' : '?'}dns=${b64encode(body, 'rawurl')}`, params)
    : http.post(DOH_URL, body, { ...params, headers: { ...params.headers, 'content-type': 'application/dns-message' } });
  let msg: ParsedMessage | null = null;
  let parseError = '';
  if (res.status === 200 && res.body) {
    try {
      msg = parseMessage(res.body);
    } catch (err) {
      parseError = String(err);
    }
  }
  const contentType = String(res.headers['Content-Type'] ?? '');
  const wantType = qtypeCode(q.type);
  const echoed = msg !== null && msg.header.qr && msg.header.id === id && msg.question !== null &&
    msg.question.type === wantType && msg.question.name.toLowerCase() === `${q.name.replace(/\.$/, '')}.`.toLowerCase();
  const rcodeOk = msg !== null && ACCEPT.has(msg.rcodeName);
  check(res, {
    'HTTP 200': (r) => r.status === 200,
    'content-type application/dns-message': () => contentType.startsWith('application/dns-message'),
    'DNS response parses': () => msg !== null,
    'ID and question echoed': () => echoed,
    'RCODE accepted': () => rcodeOk,
    // Answers are records of the asked type, or the CNAMEs leading to them.
    'answers of the asked type': () => msg !== null && msg.answers.every((a) => a.type === wantType || a.typeName === 'CNAME' || wantType === 255),
    ...(MIN_ANSWERS > 0 ? { [`NOERROR has >= ${MIN_ANSWERS} answers`]: () => msg !== null && (msg.rcodeName !== 'NOERROR' || msg.answers.length >= MIN_ANSWERS) } : {}),
  }, { method });
  if (parseError) console.warn(`${q.name} ${q.type}: ${parseError}`);
  if (msg) {
    const t = { rcode: msg.rcodeName, method, qtype: q.type };
    dnsLatency.add(res.timings.duration, t);
    dnsResponses.add(1, t);
    dnsAnswers.add(msg.answers.length, t);
    if (msg.minTtl !== null) dnsMinTtl.add(msg.minTtl, t);
  }
  dnsSuccess.add(res.status === 200 && contentType.startsWith('application/dns-message') && echoed && rcodeOk, { method });
  return msg;
}

/** The next query of the shared list (round robin over the whole test) and the method to use. */
export function dohIteration(): void {
  const i = exec.scenario.iterationInTest;
  const q = queries[i % queries.length]!;
  const method = METHOD === 'BOTH' ? (i % 2 ? 'POST' : 'GET') : (METHOD as 'GET' | 'POST');
  dohQuery(q, method);
}

export function doh(): void {
  dohIteration();
}

export default function (): void {
  dohIteration();
}
