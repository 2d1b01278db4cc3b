// The plugin framework. A plugin has two halves, mirroring CoreDNS's setup/handler split:
// - setup (primary thread): reads its Corefile directive, validates it, creates what it owns
//   (record tables, HTTP endpoints, watches) and returns a plain, cloneable config for workers;
// - handler (worker threads): built from that config, sits in the server block's chain and
//   answers or passes each query, or observes finished responses (log, errors, metrics).
import type { Directive, Token } from '../corefile/index.ts';
import type { Query } from '../dns/query.ts';
import type { ResponseWriter } from '../dns/response.ts';
import type { TableReader } from '../table/reader.ts';
import type { TableWriter } from '../table/writer.ts';
import type { MetricsWriter } from '../metrics/worker.ts';
import type { Transport, WorkerTlsConfig } from '../worker/config.ts';

/** A handler's verdict when it does not answer: the next plugin in the chain gets the query. */
export const NEXT = -1;
/**
 * The handler took the query off the hot path with `r.defer()` and answers it later through the
 * returned Pending (forwarding, cache refreshes). Nothing is sent now.
 */
export const ASYNC = -2;
/**
 * Like NEXT, but the handler's `post()` sees the response a later plugin writes, before it is
 * finished and sent (cache stores it, loadbalance reorders it); CoreDNS wraps the
 * ResponseWriter for the same purpose.
 */
export const NEXT_POST = -3;
/**
 * The handler drops the query: no answer is sent at all (acl's `drop`), and no observer (log,
 * prometheus) sees it, as nothing was written.
 */
export const DROP = -4;

/** What setup knows about the server block the directive sits in. */
export interface ServerBlockInfo {
  /** Canonical zones of the block's keys (e.g. ['cluster.local.', 'in-addr.arpa.']). */
  zones: string[];
  port: number;
  /** `dns://.:53`-style key used in logs and metrics. */
  key: string;
  /** The key's scheme (always set on the primary; absent means dns). */
  transport?: Transport;
  /** `view NAME`: the block's view, '' (or absent) when it has none (the metrics' `view` label). */
  view?: string;
}

export interface SetupContext {
  directive: Directive;
  block: ServerBlockInfo;
  /** Plugin names of the block's directives, in chain order (for metrics labels). */
  plugins?: string[];
  /**
   * Where the block listens: its `bind` addresses, null (or absent) for every address. Final
   * for every plugin set up after `bind` in chain order (all but the first few).
   */
  addresses?: string[] | null;
  /** A new record table owned by this plugin instance, published to every worker. */
  createTable(): { id: string; writer: TableWriter };
}

/** What a primary part may ask of the running server. */
export interface ServerControl {
  /** Stops the server and exits with code 1 after printing `message` (CoreDNS's log.Fatal). */
  fatal(message: string): void;
  /** Every primary part with the server block and plugin it belongs to (for `ready`). */
  parts(): Array<{ block: string; plugin: string; part: PrimaryPart }>;
}

/** Something a plugin runs on the primary thread for the life of the server. */
export interface PrimaryPart {
  start?(): Promise<void> | void;
  /**
   * Called once every worker listens (e.g. `loop` sends its probe then). `addresses`: where the
   * part's server block listens (its `bind` addresses; null: every address).
   */
  listening?(ctl: ServerControl, addresses: string[] | null): void;
  stop?(): Promise<void> | void;
  /** For `ready`: false until this plugin can answer correctly. */
  ready?(): boolean;
  /**
   * Shutdown has begun (SIGTERM); workers still answer until every part's promise settles
   * (`health`'s lameduck waits here).
   */
  shutdown?(): Promise<void> | void;
}

export interface PluginInstance {
  /** Worker-side handler module (URL string) and its cloneable config. */
  worker?: { module: string; config: unknown };
  primary?: PrimaryPart;
  /** `bind`: addresses this server block listens on. */
  bindAddresses?: string[];
  /** `debug`: log this block's plugin failures with their stack and the query. */
  debug?: boolean;
  /** `timeouts`: idle timeout for this block's TCP connections. */
  tcpIdleTimeoutMs?: number;
  /** `tls`: certificate and client authentication of this block's tls:// or https:// listener. */
  tls?: WorkerTlsConfig;
  /**
   * `view` with expressions: queries reach this block only when its handler's filter() passes,
   * so other blocks may serve the same zones on the same listener after it.
   */
  filtered?: boolean;
}

export interface PluginDefinition {
  name: string;
  /** One line for `-plugins` and the README. */
  summary: string;
  /** May the directive appear more than once in a server block? (CoreDNS: mostly no.) */
  repeatable?: boolean;
  setup(ctx: SetupContext): PluginInstance;
}

/** Per-request state shared along one chain run; one reusable instance per worker. */
export interface RequestState {
  /** performance.now() when the query was received. */
  start: number;
  /** Error text from the plugin that failed the query (shown by `errors`). */
  error: string | null;
  /** Length of the response message sent (0 when nothing was sent). */
  responseLen: number;
  /**
   * For observers: the plugin that wrote the response, '' when the server did (a plugin failed
   * with an error, or none answered), as CoreDNS's `coredns_dns_responses_total{plugin}`.
   * Always set by the runtime; optional only for hand-made states in tests.
   */
  plugin?: string;
  /**
   * Only inside serve(): takes this query off the hot path (a copy of it, the client's address
   * and socket, the post hooks of earlier plugins). The handler then returns ASYNC and later
   * calls send(), fail() or next() on the Pending exactly once.
   */
  defer(): Pending;
  /**
   * Only inside serve(): runs the plugins after this one on a copy of the query in the
   * background (prefetch, stale refresh); `done` gets the response before it is finished
   * (rcode in `w.rcode`; `r.error` set when it is a failure rather than an answer). Nothing is
   * sent to the client.
   */
  spawn(done: (q: Query, w: ResponseWriter, r: RequestState) => void): void;
  /**
   * Only inside serve(): the plugins after this one, to run on questions of the plugin's own
   * making (autopath's search path), now or later, as often as it likes (see SubChain).
   */
  subChain(): SubChain;
}

/**
 * The rest of a chain, from the plugin after the one that asked for it, for sub-queries: each
 * run parses `msg` (a query message: the client's header and OPT with another question) into a
 * Query of its own, with the client's addresses and transport, and runs the plugins on it.
 * `done` gets the response before it is finished (rcode in `w.rcode`, `r.error` set for a
 * failure): synchronously when no plugin deferred it, else when the deferred answer is ready.
 * Nothing is sent to the client; no observer sees it.
 */
export interface SubChain {
  run(msg: Uint8Array, done: (q: Query, w: ResponseWriter, r: RequestState) => void): void;
}

/** A query answered off the hot path. Its `q` and `r` are its own (not the worker's). */
export interface Pending {
  readonly q: Query;
  readonly r: RequestState;
  /** A writer big enough for a response whose sections take `bodyBytes`. */
  writer(bodyBytes: number): ResponseWriter;
  /** Runs earlier plugins' post hooks, finishes and sends `w` (started with `w.start(q, ...)`). */
  send(w: ResponseWriter): void;
  /** Answers with an empty response carrying `rcode`; `error` is shown by `errors`. */
  fail(rcode: number, error: string | null): void;
  /** Hands the query to the plugins after the one that deferred it (forward's `next`). */
  next(): void;
  /** True once send/fail/next was called. */
  readonly done: boolean;
}

export interface Handler {
  /**
   * Answers (writes into `w` and returns the rcode), or returns NEXT / NEXT_POST, or ASYNC after
   * `r.defer()`. Must not throw for bad input.
   */
  serve?(q: Query, w: ResponseWriter, r: RequestState): number;
  /** For NEXT_POST: sees, and may rewrite in place, the response a later plugin wrote. */
  post?(q: Query, w: ResponseWriter, r: RequestState): void;
  /** Called after the response to a query of this server block is sent (or dropped). */
  observe?(q: Query, w: ResponseWriter, r: RequestState): void;
  /**
   * A query on this block's listener that no block's zone matched, answered REFUSED by the
   * server (CoreDNS counts it under zone "dropped"). Called for the first block of the listener
   * that has this hook.
   */
  unmatched?(q: Query, w: ResponseWriter, r: RequestState): void;
  /**
   * `view`: does this query belong to this server block? Asked while routing, before the chain
   * runs; when it says no, the next block for the zone (or a shorter zone) is asked.
   */
  filter?(q: Query): boolean;
  close?(): void;
}

/** What a worker gives handler factories. */
export interface WorkerEnv {
  /** Writes a log line (batched to the primary's stdout). */
  log(line: string): void;
  /** The reader for a table created by setup (kept current when the primary swaps buffers). */
  table(id: string): TableReader;
  /** The server block this handler belongs to. */
  server: ServerBlockInfo;
  /** This worker's metrics block: slots declared in setup (src/metrics/README.md). */
  metrics: MetricsWriter;
  /** The block's query metadata (src/plugin/metadata.ts); absent in hand-made environments. */
  metadata?: ServerMetadata;
}

/** Default export of every handler module. */
export type HandlerFactory = (config: never, env: WorkerEnv) => Handler | Promise<Handler>;

export type { Token };
import type { ServerMetadata } from './metadata.ts';
