// What the primary hands each worker (structured-clone friendly).

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
}

export interface WorkerListenerConfig {
  /** Address to bind; '::' means every address (dual-stack, falling back to 0.0.0.0). */
  address: string;
  port: number;
  /** Indexes into servers: the blocks answering on this address and port. */
  servers: number[];
  /** From `timeouts` (shortest of the blocks); else the server default. */
  tcpIdleTimeoutMs?: number;
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
  | { type: 'table'; id: string; sab: SharedArrayBuffer };

/** Messages from a worker to the primary. */
export type FromWorker =
  | { type: 'listening' }
  | { type: 'log'; text: string }
  | { type: 'error'; message: string };
