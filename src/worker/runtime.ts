// One worker's query engine: parse, route to the server block with the longest matching zone,
// run the block's plugin chain, finish the response. Synchronous and allocation-free for
// answers that come from plugins' precomputed data; a plugin that must wait (forward) defers
// the query to a PendingQuery and the packet's turn ends there.
import { ServerMetadata } from '../plugin/metadata.ts';
import type dgram from 'node:dgram';
import { QCLASS, QTYPE, RCODE, typeName } from '../dns/constants.ts';
import { PARSE_DROP, PARSE_OK, Query, parseQuery } from '../dns/query.ts';
import { ResponseWriter } from '../dns/response.ts';
import {
  ASYNC, DROP, NEXT, NEXT_POST, type Handler, type HandlerFactory, type Pending, type RequestState, type SubChain, type WorkerEnv,
} from '../plugin/types.ts';
import type { TableReader } from '../table/reader.ts';
import { ZoneMatcher } from '../table/zone-match.ts';
import { PANICS_SLOT, QUERIES_SLOT, type MetricsWriter } from '../metrics/worker.ts';
import type { WorkerConfig, WorkerListenerConfig, WorkerServerConfig } from './config.ts';
import { PendingQuery, cloneQuery, deliver, type PendingHost, type Sink } from './pending.ts';

interface ChainLink {
  name: string;
  serve: NonNullable<Handler['serve']>;
  post: Handler['post'] | undefined;
}

/** Chains are at most this long, so a link's NEXT_POST fits in one bit of a 32-bit mask. */
const MAX_LINKS = 31;

export class ServerRuntime {
  readonly index: number;
  readonly chain: ChainLink[] = [];
  readonly observers: Array<NonNullable<Handler['observe']>> = [];
  readonly handlers: Handler[] = [];
  /** `debug`: a plugin's failure is logged with its stack and the query. */
  debug = false;
  /** `view`: the block takes a query only when this passes; null: every query. */
  filter: ((q: Query) => boolean) | null = null;
  constructor(index: number) {
    this.index = index;
  }
}

/**
 * Routing for one listening address: every zone of its server blocks, longest first. With
 * views, a zone has several blocks, asked in Corefile order; when none takes the query, the
 * next shorter zone's blocks are asked (CoreDNS's server does the same).
 */
export class ListenerRoute {
  readonly config: WorkerListenerConfig;
  private readonly zones: ZoneMatcher;
  private readonly serverOfZone: ServerRuntime[];
  /** Per zone, the blocks in Corefile order, when some block on this listener has a view. */
  private readonly serversOfZone: ServerRuntime[][] | null;
  constructor(config: WorkerListenerConfig, servers: ServerRuntime[], serverConfigs: WorkerServerConfig[]) {
    this.config = config;
    const owner = new Map<string, ServerRuntime[]>();
    for (const i of config.servers) {
      for (const z of serverConfigs[i]!.zones) {
        const list = owner.get(z) ?? [];
        if (!list.includes(servers[i]!)) list.push(servers[i]!);
        owner.set(z, list);
      }
    }
    for (const i of config.servers) {
      const h = servers[i]!.handlers.find((x) => x.unmatched);
      if (h && !this.unmatched) this.unmatched = h.unmatched!.bind(h);
    }
    this.zones = new ZoneMatcher([...owner.keys()]);
    this.serverOfZone = this.zones.names.map((z) => owner.get(z)!.at(-1)!);
    const filtered = config.servers.some((i) => servers[i]!.filter !== null);
    this.serversOfZone = filtered ? this.zones.names.map((z) => owner.get(z)!) : null;
  }
  route(q: Query): ServerRuntime | null {
    let z = this.zones.match(q);
    const lists = this.serversOfZone;
    if (lists === null) return z < 0 ? null : this.serverOfZone[z]!;
    while (z >= 0) {
      const list = lists[z]!;
      for (let i = 0; i < list.length; i++) {
        const s = list[i]!;
        if (s.filter === null || s.filter(q)) return s;
      }
      z = this.zones.match(q, z + 1);
    }
    return null;
  }
  /** Counts a query no zone matched: the first block on this address that counts them. */
  unmatched: NonNullable<Handler['unmatched']> | null = null;
}

const CRASH_NAME = 'crash.kdns.test.';
/** With testHooks: CH TXT for this name fails the first plugin of the chain as if it threw. */
const PANIC_NAME = 'panic.kdns.test.';

/** The name of a test-hook query (CH TXT), else null. */
function testHookOf(q: Query): string | null {
  return q.qclass === QCLASS.CH && q.qtype === QTYPE.TXT ? q.nameText() : null;
}

/**
 * The plugin that wrote the response (chain link `link` answered): as in CoreDNS, none when the
 * query failed with an error (there the server writes the SERVFAIL, not a plugin).
 */
function answeredBy(server: ServerRuntime, link: number, r: RequestState): string {
  return r.error === null ? (server.chain[link]?.name ?? '') : '';
}

/** The RequestState handlers see; defer() and spawn() act on the chain run in progress. */
class Request implements RequestState {
  start = 0;
  error: string | null = null;
  responseLen = 0;
  plugin = '';
  private readonly rt: WorkerRuntime;
  constructor(rt: WorkerRuntime) {
    this.rt = rt;
  }
  defer(): Pending {
    return this.rt.deferCurrent(this);
  }
  spawn(done: (q: Query, w: ResponseWriter, r: RequestState) => void): void {
    this.rt.spawnCurrent(done);
  }
  subChain(): SubChain {
    return this.rt.subChainCurrent();
  }
}

/** The chain run in progress (runs never interleave: they are synchronous). */
interface Run {
  server: ServerRuntime;
  link: number;
  mask: number;
  q: Query;
  deferred: PendingQuery | null;
}

export class WorkerRuntime implements PendingHost {
  readonly q = new Query();
  /** Replaced (never reused) when a UDP send had to be queued and still holds the old buffer. */
  w = new ResponseWriter();
  readonly r: Request;
  readonly servers: ServerRuntime[] = [];
  /** Set by the UDP listener before handle(): the socket the packet came in on. */
  udpSocket: dgram.Socket | null = null;
  /**
   * Set by TCP, DoT and DoH listeners before handle(): where a deferred answer goes. A deferral
   * takes it (leaves null), which tells the listener that the answer is still to come.
   */
  replyTo: Sink | null = null;
  /**
   * UDP queries deferred and not answered yet: a stopping worker keeps its UDP sockets until
   * they are, so a reload or shutdown does not drop answers still on their way from upstream.
   */
  udpInflight = 0;
  private readonly testHooks: boolean;
  /** Counts plugin exceptions as coredns_panics_total (CoreDNS recovers and counts panics). */
  private panics: MetricsWriter | null = null;
  /** The worker's log (batched to the primary's stdout). */
  private log: ((line: string) => void) | null = null;
  /** This worker's metrics slots (kdns_worker_queries_total is counted here). */
  private counts: Float64Array = new Float64Array(QUERIES_SLOT + 1);
  private lastServer: ServerRuntime | null = null;
  /** Set when the last query matched no zone: who counts it (ListenerRoute.unmatched). */
  private lastUnmatched: ListenerRoute['unmatched'] = null;
  private readonly run: Run;

  private constructor(testHooks: boolean) {
    this.testHooks = testHooks;
    this.r = new Request(this);
    this.run = { server: new ServerRuntime(-1), link: 0, mask: 0, q: this.q, deferred: null };
  }

  static async create(config: WorkerConfig, envBase: Omit<WorkerEnv, 'server' | 'table'>, tables: (id: string) => TableReader): Promise<WorkerRuntime> {
    const rt = new WorkerRuntime(config.testHooks);
    rt.panics = envBase.metrics;
    rt.log = envBase.log;
    if (envBase.metrics) rt.counts = envBase.metrics.slots;
    for (const s of config.servers) {
      const server = new ServerRuntime(rt.servers.length);
      server.debug = s.debug === true;
      const env: WorkerEnv = { ...envBase, table: tables, server: { zones: s.zones, port: s.port, key: s.key }, metadata: new ServerMetadata() };
      for (const p of s.plugins) {
        const mod = (await import(p.module)) as { default: HandlerFactory };
        const h = await mod.default(p.config as never, env);
        server.handlers.push(h);
        if (h.serve) server.chain.push({ name: p.name, serve: h.serve.bind(h), post: h.post?.bind(h) });
        if (h.observe) server.observers.push(h.observe.bind(h));
        if (h.filter) {
          const mine = h.filter.bind(h);
          const before = server.filter;
          server.filter = before === null ? mine : (q) => before(q) && mine(q);
        }
      }
      if (server.chain.length > MAX_LINKS) throw new Error(`server block ${s.key} has more than ${MAX_LINKS} plugins that answer queries`);
      rt.servers.push(server);
    }
    return rt;
  }

  route(config: WorkerListenerConfig, serverConfigs: WorkerServerConfig[]): ListenerRoute {
    return new ListenerRoute(config, this.servers, serverConfigs);
  }

  /**
   * Handles one received message; returns the response length in `this.w` (from offset 2), or
   * 0 when nothing is to be sent now (dropped, or deferred). Call `observe()` after sending.
   */
  handle(route: ListenerRoute, msg: Uint8Array, len: number): number {
    const q = this.q;
    const w = this.w;
    const r = this.r;
    r.start = performance.now();
    r.error = null;
    r.responseLen = 0;
    this.lastServer = null;
    this.lastUnmatched = null;
    this.counts[QUERIES_SLOT] += 1;
    q.localAddress = route.config.address;
    const parsed = parseQuery(msg, len, q);
    if (parsed === PARSE_DROP) return 0;
    if (parsed !== PARSE_OK) {
      w.start(q, parsed, 0);
      return w.finish(q);
    }
    const server = route.route(q);
    if (server === null) {
      // No server block serves this zone on this address (CoreDNS answers REFUSED).
      w.start(q, RCODE.REFUSED, 0);
      this.lastUnmatched = route.unmatched;
      return w.finish(q);
    }
    const hook = this.testHooks ? testHookOf(q) : null;
    if (hook === CRASH_NAME) {
      setImmediate(() => {
        throw new Error('test hook: worker crash requested');
      });
    }
    const run = this.run;
    run.server = server;
    run.mask = 0;
    run.q = q;
    const rcode = hook === PANIC_NAME
      ? this.linkFailed(server, (run.link = 0), q, w, r, new Error('test hook: plugin failure requested'))
      : this.runChain(server, 0, q, w, r);
    if (rcode === ASYNC || rcode === DROP) return 0;
    this.lastServer = server;
    r.plugin = answeredBy(server, run.link, r);
    if (run.mask !== 0) this.runPosts(server, run.mask, q, w, r);
    return w.finish(q);
  }

  /** Runs `server`'s chain from link `from`; returns the rcode written to `w`, or ASYNC. */
  private runChain(server: ServerRuntime, from: number, q: Query, w: ResponseWriter, r: RequestState): number {
    const chain = server.chain;
    const run = this.run;
    let rcode = NEXT;
    for (let i = from; i < chain.length && rcode === NEXT; i++) {
      const link = chain[i]!;
      run.link = i;
      run.deferred = null;
      try {
        rcode = link.serve(q, w, r);
      } catch (err) {
        rcode = this.linkFailed(server, i, q, w, r, err);
      }
      if (rcode === NEXT_POST) {
        run.mask |= 1 << i;
        rcode = NEXT;
      } else if (rcode === ASYNC && run.deferred === null) {
        rcode = this.failed(q, w, r, `plugin/${link.name}: answered ASYNC without deferring the query`);
      }
    }
    if (rcode === NEXT) rcode = this.failed(q, w, r, 'no next plugin found');
    return rcode;
  }

  /** A plugin threw: this query fails (SERVFAIL), not the worker; counted, and with `debug` logged. */
  private linkFailed(server: ServerRuntime, i: number, q: Query, w: ResponseWriter, r: RequestState, err: unknown): number {
    const name = server.chain[i]!.name;
    this.panics?.inc(PANICS_SLOT);
    if (server.debug) {
      const stack = err instanceof Error ? err.stack ?? err.message : String(err);
      this.log?.(`[DEBUG] plugin/${name}: failed on ${q.nameText()} ${typeName(q.qtype)} from ${q.remoteAddress}: ${stack}`);
    }
    return this.failed(q, w, r, `plugin/${name}: ${(err as Error).message}`);
  }

  private failed(q: Query, w: ResponseWriter, r: RequestState, error: string): number {
    const d = this.run.deferred;
    if (d !== null) {
      // The plugin deferred, then threw: the Pending is the query's owner now.
      d.fail(RCODE.SERVFAIL, error);
      return ASYNC;
    }
    r.error = error;
    w.start(q, RCODE.SERVFAIL, 0);
    return RCODE.SERVFAIL;
  }

  /** Post hooks of the links in `mask`, last link first (as nested ResponseWriter wrappers). */
  private runPosts(server: ServerRuntime, mask: number, q: Query, w: ResponseWriter, r: RequestState): void {
    for (let i = 31 - Math.clz32(mask); i >= 0; i--) {
      if ((mask & (1 << i)) === 0) continue;
      const link = server.chain[i]!;
      try {
        link.post?.(q, w, r);
      } catch (err) {
        this.panics?.inc(PANICS_SLOT);
        r.error = `plugin/${link.name}: ${(err as Error).message}`;
      }
    }
  }

  /** Runs the observers (log, errors, metrics) of the block that handled the last query. */
  observe(responseLen: number): void {
    const server = this.lastServer;
    if (server === null && this.lastUnmatched !== null) {
      this.r.responseLen = responseLen;
      this.r.plugin = '';
      try {
        this.lastUnmatched(this.q, this.w, this.r);
      } catch {
        this.panics?.inc(PANICS_SLOT);
      }
      return;
    }
    if (server === null || server.observers.length === 0) return;
    this.r.responseLen = responseLen;
    this.observeWith(server, this.q, this.w, this.r);
  }

  private observeWith(server: ServerRuntime, q: Query, w: ResponseWriter, r: RequestState): void {
    for (const o of server.observers) {
      try {
        o(q, w, r);
      } catch {
        // An observer must never take the worker down; its output is best effort.
        this.panics?.inc(PANICS_SLOT);
      }
    }
  }

  /** r.defer() during a chain run. */
  deferCurrent(r: Request): Pending {
    const run = this.run;
    if (run.deferred !== null) return run.deferred;
    const q = run.q;
    let sink: Sink;
    if (q === this.q) {
      // The hot path: copy the query, remember the client's socket.
      if (this.replyTo !== null) {
        sink = this.replyTo;
        this.replyTo = null;
      } else {
        sink = { kind: 'udp', socket: this.udpSocket!, address: q.remoteAddress, port: q.remotePort };
        this.udpInflight++;
      }
    } else {
      sink = this.pendingSink!;
    }
    const own = new Request(this);
    own.start = r.start;
    const p = new PendingQuery(this, run.server.index, run.link, run.mask, q === this.q ? cloneQuery(q) : q, own, sink);
    run.deferred = p;
    return p;
  }

  /** The sink of the Pending whose chain is running now (resume/spawn), else null. */
  private pendingSink: Sink | null = null;

  /** r.spawn() during a chain run: the rest of the chain, later, on a copy of the query. */
  spawnCurrent(done: (q: Query, w: ResponseWriter, r: RequestState) => void): void {
    const run = this.run;
    const server = run.server;
    const from = run.link + 1;
    const q = cloneQuery(run.q);
    // No client limit applies to a background answer; it is trimmed when it is served.
    q.tcp = true;
    setImmediate(() => {
      const r = new Request(this);
      r.start = performance.now();
      this.runOff(server, from, q, r, { kind: 'callback', done }, 0);
    });
  }

  /** r.subChain() during a chain run: the links after the current one, with the client's addresses. */
  subChainCurrent(): SubChain {
    const run = this.run;
    const server = run.server;
    const from = run.link + 1;
    const c = run.q;
    // Copied now: the worker's Query is reused for the next packet.
    const client = { tcp: c.tcp, remoteAddress: c.remoteAddress, remotePort: c.remotePort, localAddress: c.localAddress };
    return {
      run: (msg, done) => {
        const q = new Query();
        if (parseQuery(msg, msg.length, q) !== PARSE_OK) throw new Error('sub-query: not a valid query message');
        q.tcp = client.tcp;
        q.remoteAddress = client.remoteAddress;
        q.remotePort = client.remotePort;
        q.localAddress = client.localAddress;
        const r = new Request(this);
        r.start = performance.now();
        this.runNested(server, from, q, r, done);
      },
    };
  }

  /**
   * runOff for a sub-query, which may start inside another plugin's serve(): the chain run in
   * progress is put back afterwards, so that plugin can still answer, defer or go on.
   */
  private runNested(server: ServerRuntime, from: number, q: Query, r: RequestState, done: (q: Query, w: ResponseWriter, r: RequestState) => void): void {
    const run = this.run;
    const saved = { server: run.server, link: run.link, mask: run.mask, q: run.q, deferred: run.deferred, sink: this.pendingSink };
    try {
      this.runOff(server, from, q, r, { kind: 'callback', done }, 0);
    } finally {
      run.server = saved.server;
      run.link = saved.link;
      run.mask = saved.mask;
      run.q = saved.q;
      run.deferred = saved.deferred;
      this.pendingSink = saved.sink;
    }
  }

  /** PendingHost: a deferred query's response is ready. */
  complete(p: PendingQuery, w: ResponseWriter): void {
    const server = this.servers[p.server]!;
    p.r.plugin = answeredBy(server, p.link, p.r);
    if (p.mask !== 0) this.runPosts(server, p.mask, p.q, w, p.r);
    this.finishTo(server, p.sink, p.q, w, p.r);
  }

  /** PendingHost: a deferred query goes on to the next plugins (forward's `next RCODE`). */
  resume(p: PendingQuery): void {
    this.runOff(this.servers[p.server]!, p.link + 1, p.q, p.r, p.sink, p.mask);
  }

  /** Runs part of a chain off the hot path and delivers a synchronous answer to `sink`. */
  private runOff(server: ServerRuntime, from: number, q: Query, r: RequestState, sink: Sink, mask: number): void {
    const run = this.run;
    const w = new ResponseWriter();
    run.server = server;
    run.mask = mask;
    run.q = q;
    this.pendingSink = sink;
    let rcode: number;
    try {
      rcode = this.runChain(server, from, q, w, r);
    } finally {
      this.pendingSink = null;
      run.q = this.q;
    }
    if (rcode === ASYNC) return;
    if (rcode === DROP) {
      // A stream or DoH client holds a slot for this answer, so it gets one: REFUSED. (Only a
      // plugin before acl that deferred could bring a query here; none of kdns's does.)
      w.start(q, RCODE.REFUSED, 0);
    }
    r.plugin = answeredBy(server, run.link, r);
    if (run.mask !== 0) this.runPosts(server, run.mask, q, w, r);
    this.finishTo(server, sink, q, w, r);
  }

  private finishTo(server: ServerRuntime, sink: Sink, q: Query, w: ResponseWriter, r: RequestState): void {
    if (sink.kind === 'callback') {
      try {
        sink.done(q, w, r);
      } catch {
        // A background run's consumer failing affects no client.
      }
      return;
    }
    const len = w.finish(q);
    if (sink.kind === 'udp') this.udpInflight--;
    deliver(sink, w, len);
    r.responseLen = len;
    if (server.observers.length > 0) this.observeWith(server, q, w, r);
  }

  close(): void {
    for (const s of this.servers) for (const h of s.handlers) h.close?.();
  }
}
