// What forward's setup hands every worker, and the layout of the shared health buffer.
import type { SeriesGrid } from '../../metrics/shared.ts';
import type { Upstream } from './upstream.ts';

export type Policy = 'random' | 'round_robin' | 'sequential';

export interface TlsFiles {
  /** PEM contents read at setup (so a worker never touches the files). */
  cert: string | null;
  key: string | null;
  ca: string | null;
  /** `tls_servername`: SNI and the name the certificate must carry; null: the upstream's IP. */
  servername: string | null;
}

export interface ForwardConfig {
  /** Canonical FROM zone. */
  from: string;
  /** Canonical `except` zones. */
  except: string[];
  upstreams: Upstream[];
  forceTcp: boolean;
  preferUdp: boolean;
  expireMs: number;
  maxFails: number;
  policy: Policy;
  /** 0: no limit. */
  maxConcurrent: number;
  /** `next` rcodes. */
  next: number[];
  failfast: boolean;
  tls: TlsFiles;
  /** Int32 words: see H_* below. Shared by every worker and the primary's health checker. */
  health: SharedArrayBuffer;
  metrics: ForwardMetricSlots;
}

/** Where a worker counts (src/metrics; the grids' labels are set up in setup.ts). */
export interface ForwardMetricSlots {
  /** coredns_proxy_request_duration_seconds over [proxy_name, to (upstream index), rcode (PROXY_RCODES index)]. */
  duration: SeriesGrid;
  /** coredns_proxy_conn_cache_hits_total / misses_total over [proxy_name, to, proto (CONN_PROTOS index)]. */
  connHits: SeriesGrid;
  connMisses: SeriesGrid;
  /** coredns_forward_healthcheck_broken_total. */
  broken: number;
  /** coredns_forward_max_concurrent_rejects_total. */
  rejects: number;
}

/**
 * The rcode label of coredns_proxy_request_duration_seconds, index = rcode: miekg/dns's
 * RcodeToString, the decimal number for the unnamed ones (CoreDNS's strconv.Itoa); rcodes from
 * 24 up (extended rcodes no upstream sends here) share `other`.
 */
export const PROXY_RCODES: readonly string[] = [
  'NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET',
  'NOTAUTH', 'NOTZONE', 'DSOTYPENI', '12', '13', '14', '15', 'BADSIG', 'BADKEY', 'BADTIME', 'BADMODE',
  'BADNAME', 'BADALG', 'BADTRUNC', 'BADCOOKIE', 'other',
];
export const PROXY_OTHER_RCODE = PROXY_RCODES.length - 1;

/** The proto label of the connection cache counters (CoreDNS: udp, tcp, tcp-tls). */
export const CONN_PROTOS: readonly string[] = ['udp', 'tcp', 'tcp-tls'];

/** Queries being answered by this forward instance, in all workers (max_concurrent). */
export const H_CONCURRENT = 0;
/** round_robin's counter, shared so the rotation is the same whichever worker a query lands on. */
export const H_ROBIN = 1;
/** Upstream i's fail count is word H_FAILS + i: workers add on a failed exchange; a health probe that gets an answer sets it to 0. */
export const H_FAILS = 2;

export function healthBuffer(upstreams: number): SharedArrayBuffer {
  return new SharedArrayBuffer((H_FAILS + upstreams) * 4);
}

/** CoreDNS's defaults (plugin/forward/forward.go, plugin/pkg/proxy). */
export const DEFAULTS = {
  maxFails: 2,
  healthCheckMs: 500,
  expireMs: 10_000,
  /** Overall time for one query, all attempts included (forward.go defaultTimeout). */
  deadlineMs: 5000,
  /** One attempt at one upstream (proxy.go readTimeout). */
  readTimeoutMs: 2000,
  /** A health probe's timeout (health.go: the dns.Client's 1 s read timeout). */
  probeTimeoutMs: 1000,
  maxUpstreams: 15,
} as const;
