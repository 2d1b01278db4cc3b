// What the primary hands each worker (structured-clone friendly).
import type { SeriesGrid } from '../metrics/shared.ts';

/** How a server block's queries arrive: dns:// (UDP and TCP), tls:// (RFC 7858), https:// (RFC 8484). */
export type Transport = 'dns' | 'tls' | 'https';

/** `tls` client_auth values (CoreDNS's names for Go's tls.ClientAuthType). */
export type ClientAuth = 'nocert' | 'request' | 'require' | 'verify_if_given' | 'require_and_verify';

/** A listener's TLS settings; the files were read (and checked) on the primary. */
export interface WorkerTlsConfig {
  /** PEM: the certificate (chain), its private key, and the CAs for client certificates. */
  cert: string;
  key: string;
  /** Absent: Node's bundled root CAs verify client certificates (CoreDNS: the system's). */
  ca?: string;
  clientAuth: ClientAuth;
  /** File that TLS secrets are appended to in NSS key log format (debugging only). */
  keylog?: string;
}

export interface WorkerPluginConfig {
  name: string;
  module: string;
  config: unknown;
}

export interface WorkerServerConfig {
  key: string;
  zones: string[];
  port: number;
  plugins: WorkerPluginConfig[];
  /** `debug` in the block: plugin failures are logged with their stack. */
  debug?: boolean;
  /** `view` with expressions: see PluginInstance.filtered. */
  filtered?: boolean;
}

export interface WorkerListenerConfig {
  /** Address to bind; '::' means every address (dual-stack, falling back to 0.0.0.0). */
  address: string;
  port: number;
  /** Indexes into servers: the blocks answering on this address and port. */
  servers: number[];
  /** From `timeouts` (shortest of the blocks); else the server default. */
  tcpIdleTimeoutMs?: number;
  /** dns: UDP and TCP; tls: DNS over TLS (plain TCP without `tls`); https: DoH (plain HTTP without `tls`). */
  transport: Transport;
  /** From the `tls` plugin (every block on the listener has the same). */
  tls?: WorkerTlsConfig;
  /** With `tls`: TLS session ticket keys (48 bytes) all workers share, so a session resumes on any of them. */
  tlsTicketKeys?: Uint8Array;
  /** https: the slots of coredns_dns_https_responses_total{server, status}, status in DOH_STATUSES order. */
  dohResponses?: SeriesGrid;
}

export interface WorkerConfig {
  servers: WorkerServerConfig[];
  listeners: WorkerListenerConfig[];
  tables: Record<string, SharedArrayBuffer>;
  tcp: { maxConnections: number; idleTimeoutMs: number };
  /** Enables test-only queries (a query that crashes the worker); set by KDNS_TEST_HOOKS=1. */
  testHooks: boolean;
  /** This worker's own metrics block (src/metrics); null: a private one nobody reads. */
  metrics: SharedArrayBuffer | null;
}

/** Messages from the primary to a worker. */
export type ToWorker =
  | { type: 'stop' }
  /** Open the listeners now (a worker started with holdListen waits for this). */
  | { type: 'listen' }
  | { type: 'table'; id: string; sab: SharedArrayBuffer }
  /** A partial table's writer filled in these wanted names, or (null) finished the table. */
  | { type: 'built'; id: string; names: string[] | null };

/** Messages from a worker to the primary. */
export type FromWorker =
  | { type: 'listening' }
  | { type: 'log'; text: string }
  | { type: 'error'; message: string }
  /** A query needs this name of a partial table (TableReader.want). */
  | { type: 'want'; id: string; name: string };
