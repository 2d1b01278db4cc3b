// One worker's query engine: parse, route to the server block with the longest matching zone,
// run the block's plugin chain, finish the response. Synchronous and allocation-free for
// answers that come from plugins' precomputed data.
import { QCLASS, QTYPE, RCODE } from '../dns/constants.ts';
import { PARSE_DROP, PARSE_OK, Query, parseQuery } from '../dns/query.ts';
import { ResponseWriter } from '../dns/response.ts';
import { NEXT, type Handler, type HandlerFactory, type RequestState, type WorkerEnv } from '../plugin/types.ts';
import type { TableReader } from '../table/reader.ts';
import { ZoneMatcher } from '../table/zone-match.ts';
import type { WorkerConfig, WorkerListenerConfig, WorkerServerConfig } from './config.ts';

interface ChainLink {
  name: string;
  serve: NonNullable<Handler['serve']>;
}

export class ServerRuntime {
  readonly chain: ChainLink[] = [];
  readonly observers: Array<NonNullable<Handler['observe']>> = [];
  readonly handlers: Handler[] = [];
}

/** Routing for one listening address: every zone of its server blocks, longest first. */
export class ListenerRoute {
  readonly config: WorkerListenerConfig;
  private readonly zones: ZoneMatcher;
  private readonly serverOfZone: ServerRuntime[];
  constructor(config: WorkerListenerConfig, servers: ServerRuntime[], serverConfigs: WorkerServerConfig[]) {
    this.config = config;
    const owner = new Map<string, ServerRuntime>();
    for (const i of config.servers) for (const z of serverConfigs[i]!.zones) owner.set(z, servers[i]!);
    this.zones = new ZoneMatcher([...owner.keys()]);
    this.serverOfZone = this.zones.names.map((z) => owner.get(z)!);
  }
  route(q: Query): ServerRuntime | null {
    const z = this.zones.match(q);
    return z < 0 ? null : this.serverOfZone[z]!;
  }
}

const CRASH_NAME = 'crash.kdns.test.';

export class WorkerRuntime {
  readonly q = new Query();
  /** Replaced (never reused) when a UDP send had to be queued and still holds the old buffer. */
  w = new ResponseWriter();
  readonly r: RequestState = { start: 0, error: null, responseLen: 0 };
  readonly servers: ServerRuntime[] = [];
  private readonly testHooks: boolean;
  private lastServer: ServerRuntime | null = null;

  private constructor(testHooks: boolean) {
    this.testHooks = testHooks;
  }

  static async create(config: WorkerConfig, envBase: Omit<WorkerEnv, 'server' | 'table'>, tables: (id: string) => TableReader): Promise<WorkerRuntime> {
    const rt = new WorkerRuntime(config.testHooks);
    for (const s of config.servers) {
      const server = new ServerRuntime();
      const env: WorkerEnv = { ...envBase, table: tables, server: { zones: s.zones, port: s.port, key: s.key } };
      for (const p of s.plugins) {
        const mod = (await import(p.module)) as { default: HandlerFactory };
        const h = await mod.default(p.config as never, env);
        server.handlers.push(h);
        if (h.serve) server.chain.push({ name: p.name, serve: h.serve.bind(h) });
        if (h.observe) server.observers.push(h.observe.bind(h));
      }
      rt.servers.push(server);
    }
    return rt;
  }

  route(config: WorkerListenerConfig, serverConfigs: WorkerServerConfig[]): ListenerRoute {
    return new ListenerRoute(config, this.servers, serverConfigs);
  }

  /**
   * Handles one received message; returns the response length in `this.w` (from offset 2), or
   * 0 when nothing is to be sent. Call `observe()` after sending.
   */
  handle(route: ListenerRoute, msg: Uint8Array, len: number): number {
    const q = this.q;
    const w = this.w;
    const r = this.r;
    r.start = performance.now();
    r.error = null;
    r.responseLen = 0;
    this.lastServer = null;
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
      return w.finish(q);
    }
    this.lastServer = server;
    if (this.testHooks && q.qclass === QCLASS.CH && q.qtype === QTYPE.TXT && q.nameText() === CRASH_NAME) {
      setImmediate(() => {
        throw new Error('test hook: worker crash requested');
      });
    }
    const chain = server.chain;
    let rcode = NEXT;
    for (let i = 0; i < chain.length && rcode === NEXT; i++) {
      const link = chain[i]!;
      try {
        rcode = link.serve(q, w, r);
      } catch (err) {
        // A plugin bug fails this query, not the worker.
        r.error = `plugin/${link.name}: ${(err as Error).message}`;
        w.start(q, RCODE.SERVFAIL, 0);
        rcode = RCODE.SERVFAIL;
      }
    }
    if (rcode === NEXT) {
      r.error = 'no next plugin found';
      w.start(q, RCODE.SERVFAIL, 0);
    }
    return w.finish(q);
  }

  /** Runs the observers (log, errors, metrics) of the block that handled the last query. */
  observe(responseLen: number): void {
    const server = this.lastServer;
    if (server === null || server.observers.length === 0) return;
    this.r.responseLen = responseLen;
    for (const o of server.observers) {
      try {
        o(this.q, this.w, this.r);
      } catch {
        // An observer must never take the worker down; its output is best effort.
      }
    }
  }

  close(): void {
    for (const s of this.servers) for (const h of s.handlers) h.close?.();
  }
}
