// What forward's setup hands every worker, and the layout of the shared health buffer.
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
}

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
