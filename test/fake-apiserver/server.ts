// The HTTP side of the fake API server: list, get, watch (and plain create/replace/delete) on the
// resource paths, discovery stubs, /healthz and /version, an optional bearer token, and the
// /_control/... JSON API that tests drive it with.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { RESOURCES, fieldNames, findResource, type K8sObject, type ResourceDef } from './resources.ts';
import { SelectorError, parseFieldSelector, parseLabelSelector } from './selectors.ts';
import { ApiError, Store, jsonOf, parseRV, statusObject, type EventType, type HistEvent, type ObjectFilter, type ResourceStore, type StoreWatcher, type WriteMode } from './store.ts';

type Json = Record<string, unknown>;

/**
 * How the server behaves while paused:
 * - `reset` (default; the API server process is down): open watches are cut off (TCP reset) and
 *   every new API request has its connection reset as soon as it arrives, so clients see a network
 *   error, as when connecting to a dead apiserver behind the kubernetes Service.
 * - `503` (the API server is up but unhealthy or shutting down): open watches end cleanly, new
 *   requests get 503 ServiceUnavailable with Retry-After: 1.
 * - `hang` (a network partition): open watches stay connected but get nothing; new requests are
 *   held unanswered. On resume, held requests are served and watches get what they missed (or a
 *   410 if it was compacted meanwhile).
 * The /_control API keeps working in every mode.
 */
export type PauseMode = 'reset' | '503' | 'hang';

export interface ServerOptions {
  host: string;
  port: number;
  /** When set, API requests need `Authorization: Bearer <token>`. */
  token: string | undefined;
  /** Interval of BOOKMARK events for watches with allowWatchBookmarks=true; 0 turns them off. */
  bookmarkMs: number;
  /** Events kept per resource for watches to resume from. */
  history: number;
  /** How long a watch without timeoutSeconds lasts. */
  watchTimeoutS: number;
  /** A watch whose unsent output grows past this many bytes is closed, as the real server closes slow watchers. */
  slowWatcherBytes: number;
  verbose: boolean;
}

export const DEFAULT_OPTIONS: ServerOptions = {
  host: '127.0.0.1',
  port: 0,
  token: undefined,
  bookmarkMs: 10_000,
  history: 10_000,
  watchTimeoutS: 1800,
  slowWatcherBytes: 64 * 1024 * 1024,
  verbose: false,
};

const MAX_BODY = 512 * 1024 * 1024;

class BadRequest extends ApiError {
  constructor(message: string) {
    super(400, 'BadRequest', message);
  }
}

class Watch implements StoreWatcher {
  readonly id: number;
  readonly res: ResourceStore;
  readonly filter: ObjectFilter;
  readonly bookmarks: boolean;
  readonly response: ServerResponse;
  /** Every event up to this version has been dealt with (sent or filtered out). */
  lastRV: number;
  closed = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly server: FakeApiServer;

  constructor(server: FakeApiServer, id: number, res: ResourceStore, filter: ObjectFilter, bookmarks: boolean, response: ServerResponse, startRV: number) {
    this.server = server;
    this.id = id;
    this.res = res;
    this.filter = filter;
    this.bookmarks = bookmarks;
    this.response = response;
    this.lastRV = startRV;
  }

  setTimeout(ms: number): void {
    this.timer = setTimeout(() => {
      // A partitioned (frozen) watch cannot hear its end either; it ends once the partition heals.
      if (this.server.frozen) return this.setTimeout(100);
      if (this.bookmarks) this.bookmark();
      this.end(true);
    }, ms);
  }

  write(line: string): void {
    if (this.closed) return;
    this.response.write(line);
  }

  send(type: EventType, objJson: string): void {
    this.write(`{"type":"${type}","object":${objJson}}\n`);
  }

  onEvent(ev: HistEvent): void {
    if (this.closed || this.server.frozen) return;
    this.deliver(ev);
    if (this.response.writableLength > this.server.opts.slowWatcherBytes) {
      this.server.log(`watch ${this.id} on ${this.res.def.plural}: slow consumer, closing`);
      this.end(true);
    }
  }

  deliver(ev: HistEvent): void {
    const e = this.res.eventFor(this.filter, ev);
    if (e) this.send(e.type, jsonOf(e.obj));
    this.lastRV = ev.rv;
  }

  /** Sends what happened after lastRV, or a 410 and the end when that is no longer in history. */
  catchUp(): void {
    if (this.closed) return;
    if (this.lastRV < this.res.floorRV) {
      this.write(JSON.stringify({ type: 'ERROR', object: expired(this.lastRV, this.res.floorRV) }) + '\n');
      this.end(true);
      return;
    }
    for (const ev of this.res.eventsAfter(this.lastRV)) this.deliver(ev);
    this.lastRV = this.server.store.rv;
  }

  bookmark(annotations?: Record<string, string>): void {
    if (this.closed) return;
    const rv = this.server.store.rv;
    const metadata: Json = { resourceVersion: String(rv), creationTimestamp: null };
    if (annotations) metadata.annotations = annotations;
    this.write(JSON.stringify({ type: 'BOOKMARK', object: { kind: this.res.def.kind, apiVersion: this.res.def.apiVersion, metadata } }) + '\n');
    this.lastRV = rv;
  }

  /** Ends the watch: cleanly (the terminating chunk), or abruptly by resetting the connection. */
  end(graceful: boolean): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.res.watchers.delete(this);
    this.server.watchClosed(this);
    if (graceful) {
      this.response.end();
    } else {
      const sock = this.response.socket;
      if (sock) resetSocket(sock);
      else this.response.destroy();
    }
  }
}

function resetSocket(sock: Socket): void {
  if (typeof sock.resetAndDestroy === 'function' && !sock.destroyed) {
    try {
      sock.resetAndDestroy();
      return;
    } catch {
      // fall through
    }
  }
  sock.destroy();
}

function expired(rv: number, floor: number): Json {
  return statusObject(410, 'Expired', `too old resource version: ${rv} (${floor})`);
}

interface ParsedPath {
  def: ResourceDef;
  namespace: string | undefined;
  name: string | undefined;
  watchPrefix: boolean;
}

export interface Stats {
  resourceVersion: string;
  paused: PauseMode | null;
  objects: Record<string, number>;
  history: Record<string, { events: number; oldestResumableRV: string }>;
  watches: { active: number; byResource: Record<string, number>; opened: number; dropped: number };
  requests: { total: number; byPath: Record<string, number>; byVerb: Record<string, number>; refused: number };
}

export class FakeApiServer {
  readonly opts: ServerOptions;
  readonly store: Store;
  readonly http: http.Server;
  /** True while paused in `hang` mode: watches get nothing. */
  frozen = false;
  private paused: PauseMode | null = null;
  private held: Array<{ req: IncomingMessage; res: ServerResponse; url: URL }> = [];
  private readonly watches = new Set<Watch>();
  private nextWatchId = 1;
  private bookmarkTimer: NodeJS.Timeout | undefined;
  private stats = FakeApiServer.emptyStats();

  constructor(opts: Partial<ServerOptions> = {}) {
    this.opts = { ...DEFAULT_OPTIONS, ...opts };
    this.store = new Store(RESOURCES, { history: this.opts.history });
    this.http = http.createServer((req, res) => this.handle(req, res));
    this.http.keepAliveTimeout = 30_000;
    this.setBookmarkInterval(this.opts.bookmarkMs);
  }

  private static emptyStats(): { opened: number; dropped: number; total: number; refused: number; byPath: Map<string, number>; byVerb: Map<string, number> } {
    return { opened: 0, dropped: 0, total: 0, refused: 0, byPath: new Map(), byVerb: new Map() };
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.opts.port, this.opts.host, () => {
        this.http.off('error', reject);
        resolve((this.http.address() as { port: number }).port);
      });
    });
  }

  async close(): Promise<void> {
    clearInterval(this.bookmarkTimer);
    for (const w of [...this.watches]) w.end(false);
    for (const h of this.held) h.res.destroy();
    this.held = [];
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }

  log(msg: string): void {
    if (this.opts.verbose) process.stderr.write(`fake-apiserver: ${msg}\n`);
  }

  setBookmarkInterval(ms: number): void {
    clearInterval(this.bookmarkTimer);
    this.opts.bookmarkMs = ms;
    this.bookmarkTimer = undefined;
    if (ms > 0) this.bookmarkTimer = setInterval(() => this.sendBookmarks(), ms);
  }

  sendBookmarks(): number {
    if (this.frozen) return 0;
    let n = 0;
    for (const w of this.watches) {
      if (w.bookmarks) {
        w.bookmark();
        n++;
      }
    }
    return n;
  }

  watchClosed(w: Watch): void {
    this.watches.delete(w);
  }

  dropWatches(graceful: boolean, def?: ResourceDef): number {
    let n = 0;
    for (const w of [...this.watches]) {
      if (def && w.res.def !== def) continue;
      w.end(graceful);
      n++;
    }
    this.stats.dropped += n;
    return n;
  }

  pause(mode: PauseMode): number {
    this.paused = mode;
    let dropped = 0;
    if (mode === 'reset') dropped = this.dropWatches(false);
    else if (mode === '503') dropped = this.dropWatches(true);
    else this.frozen = true;
    return dropped;
  }

  resume(): void {
    const wasFrozen = this.frozen;
    this.paused = null;
    this.frozen = false;
    if (wasFrozen) for (const w of [...this.watches]) w.catchUp();
    const held = this.held;
    this.held = [];
    for (const h of held) {
      if (h.req.destroyed || h.res.destroyed) continue;
      this.route(h.req, h.res, h.url);
    }
  }

  getStats(): Stats {
    const objects: Record<string, number> = {};
    const history: Record<string, { events: number; oldestResumableRV: string }> = {};
    for (const r of this.store.all()) {
      objects[r.def.plural] = r.items.size;
      history[r.def.plural] = { events: r.historyLength, oldestResumableRV: String(r.floorRV) };
    }
    const byResource: Record<string, number> = {};
    for (const w of this.watches) byResource[w.res.def.plural] = (byResource[w.res.def.plural] ?? 0) + 1;
    return {
      resourceVersion: String(this.store.rv),
      paused: this.paused,
      objects,
      history,
      watches: { active: this.watches.size, byResource, opened: this.stats.opened, dropped: this.stats.dropped },
      requests: {
        total: this.stats.total,
        byPath: Object.fromEntries(this.stats.byPath),
        byVerb: Object.fromEntries(this.stats.byVerb),
        refused: this.stats.refused,
      },
    };
  }

  resetStats(): void {
    this.stats = FakeApiServer.emptyStats();
  }

  private count(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }

  // ---- request handling ----

  private handle(req: IncomingMessage, res: ServerResponse): void {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      this.sendJson(res, 400, statusObject(400, 'BadRequest', 'malformed request URL'));
      return;
    }
    const path = url.pathname;
    if (path.startsWith('/_control/')) {
      this.control(req, res, path.slice('/_control/'.length)).catch((err: unknown) => this.sendError(res, err));
      return;
    }
    this.stats.total++;
    this.count(this.stats.byPath, path);
    this.log(`${req.method} ${req.url}`);
    if (this.paused === 'reset') {
      this.stats.refused++;
      resetSocket(req.socket);
      return;
    }
    if (this.paused === '503') {
      this.stats.refused++;
      res.setHeader('Retry-After', '1');
      this.sendJson(res, 503, statusObject(503, 'ServiceUnavailable', 'the server is currently unable to handle the request (paused by the test)'));
      return;
    }
    if (this.paused === 'hang') {
      this.stats.refused++;
      this.held.push({ req, res, url });
      return;
    }
    this.route(req, res, url);
  }

  private route(req: IncomingMessage, res: ServerResponse, url: URL): void {
    try {
      this.routeOrThrow(req, res, url);
    } catch (err) {
      this.sendError(res, err);
    }
  }

  private routeOrThrow(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
    if (path === '/healthz' || path === '/livez' || path === '/readyz') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
      res.end('ok');
      return;
    }
    if (path === '/version') {
      this.sendJson(res, 200, {
        major: '1',
        minor: '34',
        emulationMajor: '1',
        emulationMinor: '34',
        gitVersion: 'v1.34.0-kdns-fake',
        gitCommit: '0000000000000000000000000000000000000000',
        gitTreeState: 'clean',
        buildDate: '2025-01-01T00:00:00Z',
        goVersion: 'go1.24.0',
        compiler: 'gc',
        platform: 'linux/amd64',
      });
      return;
    }
    if (this.opts.token !== undefined && req.headers.authorization !== `Bearer ${this.opts.token}`) {
      this.sendJson(res, 401, statusObject(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    const accept = req.headers.accept;
    if (accept && !/application\/json|\*\/\*|application\/\*/.test(accept)) {
      this.sendJson(res, 406, statusObject(406, 'NotAcceptable', `only the following media types are accepted: application/json`));
      return;
    }
    if (this.discovery(path, res, req)) return;
    const p = parsePath(path);
    if (!p) {
      this.sendJson(res, 404, statusObject(404, 'NotFound', 'the server could not find the requested resource'));
      return;
    }
    const method = req.method ?? 'GET';
    const q = url.searchParams;
    const isWatch = p.watchPrefix || q.get('watch') === 'true' || q.get('watch') === '1';
    if (method === 'GET' && isWatch) {
      this.count(this.stats.byVerb, `watch ${p.def.plural}`);
      if (p.name !== undefined) {
        if (!p.watchPrefix) throw new ApiError(405, 'MethodNotAllowed', 'watch of a single object: use a fieldSelector on the collection');
        const fs = q.get('fieldSelector');
        q.set('fieldSelector', `metadata.name=${p.name}${fs ? ',' + fs : ''}`);
      }
      this.watch(req, res, p, q);
      return;
    }
    if (method === 'GET' && p.name === undefined) {
      this.count(this.stats.byVerb, `list ${p.def.plural}`);
      this.list(res, p, q);
      return;
    }
    if (method === 'GET') {
      this.count(this.stats.byVerb, `get ${p.def.plural}`);
      this.sendRaw(res, 200, jsonOf(this.store.get(p.def, p.namespace, p.name!)));
      return;
    }
    if (p.def.namespaced && p.namespace === undefined) throw new ApiError(405, 'MethodNotAllowed', `${method} is not supported on the cluster-wide collection`);
    if (method === 'POST' && p.name === undefined) {
      this.count(this.stats.byVerb, `create ${p.def.plural}`);
      this.withBody(req, res, (body) => {
        const r = this.store.write(p.def, body as K8sObject, 'create', { namespace: p.namespace });
        this.sendRaw(res, 201, jsonOf(r.obj));
      });
      return;
    }
    if (method === 'PUT' && p.name !== undefined) {
      this.count(this.stats.byVerb, `update ${p.def.plural}`);
      this.withBody(req, res, (body) => {
        const o = body as K8sObject;
        if (o?.metadata?.name !== p.name) throw new BadRequest('the name of the object does not match the name on the URL');
        const r = this.store.write(p.def, o, 'update', { namespace: p.namespace, checkRV: true });
        this.sendRaw(res, 200, jsonOf(r.obj));
      });
      return;
    }
    if (method === 'DELETE' && p.name !== undefined) {
      this.count(this.stats.byVerb, `delete ${p.def.plural}`);
      this.withBody(req, res, (body) => {
        const pre = ((body as Json | undefined)?.preconditions ?? {}) as Json;
        const r = this.store.delete(p.def, p.namespace, p.name!, {
          resourceVersion: typeof pre.resourceVersion === 'string' ? pre.resourceVersion : undefined,
          uid: typeof pre.uid === 'string' ? pre.uid : undefined,
        });
        this.sendRaw(res, 200, jsonOf(r));
      }, true);
      return;
    }
    throw new ApiError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
  }

  private discovery(path: string, res: ServerResponse, req: IncomingMessage): boolean {
    const groups = [...new Set(RESOURCES.filter((r) => r.group).map((r) => r.group))];
    const groupEntry = (g: string): Json => {
      const v = RESOURCES.find((r) => r.group === g)!.version;
      return { name: g, versions: [{ groupVersion: `${g}/${v}`, version: v }], preferredVersion: { groupVersion: `${g}/${v}`, version: v } };
    };
    const resourceList = (group: string, version: string): Json => ({
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: group ? `${group}/${version}` : version,
      resources: RESOURCES.filter((r) => r.group === group && r.version === version).map((r) => {
        const e: Json = {
          name: r.plural,
          singularName: r.singular,
          namespaced: r.namespaced,
          kind: r.kind,
          verbs: ['create', 'delete', 'get', 'list', 'update', 'watch'],
        };
        if (r.shortNames.length) e.shortNames = r.shortNames;
        return e;
      }),
    });
    if (path === '/api') {
      const host = req.socket.localAddress ?? '127.0.0.1';
      this.sendJson(res, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: `${host}:${req.socket.localPort}` }] });
      return true;
    }
    if (path === '/apis') {
      this.sendJson(res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map(groupEntry) });
      return true;
    }
    if (path === '/api/v1') {
      this.sendJson(res, 200, resourceList('', 'v1'));
      return true;
    }
    const m = /^\/apis\/([^/]+)(?:\/([^/]+))?$/.exec(path);
    if (m && groups.includes(m[1]!)) {
      const g = m[1]!;
      if (m[2] === undefined) {
        this.sendJson(res, 200, { kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(g) });
        return true;
      }
      if (RESOURCES.some((r) => r.group === g && r.version === m[2])) {
        this.sendJson(res, 200, resourceList(g, m[2]));
        return true;
      }
    }
    return false;
  }

  private filter(p: ParsedPath, q: URLSearchParams): ObjectFilter {
    try {
      return {
        namespace: p.namespace,
        label: parseLabelSelector(q.get('labelSelector')),
        field: parseFieldSelector(q.get('fieldSelector'), fieldNames(p.def)),
      };
    } catch (err) {
      if (err instanceof SelectorError) throw new BadRequest(err.message);
      throw err;
    }
  }

  private list(res: ServerResponse, p: ParsedPath, q: URLSearchParams): void {
    const limitParam = q.get('limit');
    let limit = 0;
    if (limitParam !== null && limitParam !== '') {
      if (!/^-?\d+$/.test(limitParam)) throw new BadRequest(`invalid limit: "${limitParam}"`);
      limit = Math.max(0, Number(limitParam));
    }
    const r = this.store.list(p.def, {
      ...this.filter(p, q),
      limit,
      continueToken: q.get('continue') || undefined,
      resourceVersion: q.get('resourceVersion') ?? undefined,
      resourceVersionMatch: q.get('resourceVersionMatch') ?? undefined,
    });
    const meta: Json = { resourceVersion: String(r.resourceVersion) };
    if (r.continueToken) meta.continue = r.continueToken;
    if (r.remainingItemCount !== undefined) meta.remainingItemCount = r.remainingItemCount;
    const parts: string[] = new Array(r.items.length);
    for (let i = 0; i < r.items.length; i++) parts[i] = jsonOf(r.items[i]!);
    const body = `{"kind":"${p.def.listKind}","apiVersion":"${p.def.apiVersion}","metadata":${JSON.stringify(meta)},"items":[${parts.join(',')}]}`;
    this.sendRaw(res, 200, body);
  }

  private watch(req: IncomingMessage, res: ServerResponse, p: ParsedPath, q: URLSearchParams): void {
    const filter = this.filter(p, q);
    const rs = this.store.resource(p.def);
    const rvParam = q.get('resourceVersion') ?? '';
    const rvMatch = q.get('resourceVersionMatch') ?? '';
    const bookmarks = q.get('allowWatchBookmarks') === 'true';
    const sie = q.get('sendInitialEvents');
    let initial: boolean;
    if (sie === 'true' || sie === 'false') {
      if (rvMatch !== 'NotOlderThan') throw new ApiError(422, 'Invalid', 'resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan');
      if (sie === 'true' && !bookmarks) throw new ApiError(422, 'Invalid', 'allowWatchBookmarks: Required value: allowWatchBookmarks must be true when sendInitialEvents is true');
      initial = sie === 'true';
    } else {
      if (rvMatch !== '') throw new ApiError(422, 'Invalid', 'resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided');
      // Unset and "0" both start with synthetic ADDED events for what exists now.
      initial = rvParam === '' || rvParam === '0';
    }
    let timeoutS = this.opts.watchTimeoutS;
    const ts = q.get('timeoutSeconds');
    if (ts !== null && ts !== '') {
      if (!/^\d+$/.test(ts)) throw new BadRequest(`invalid timeoutSeconds: "${ts}"`);
      if (Number(ts) > 0) timeoutS = Number(ts);
    }
    let fromRV = this.store.rv;
    let error: Json | undefined;
    if (rvParam !== '' && rvParam !== '0') {
      const want = parseRV(rvParam);
      if (!initial) fromRV = want;
      if (want > this.store.rv) {
        error = statusObject(504, 'Timeout', `Too large resource version: ${want}, current: ${this.store.rv}`, {
          causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
          retryAfterSeconds: 1,
        });
      } else if (!initial && want < rs.floorRV) {
        error = expired(want, rs.floorRV);
      }
    }

    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    req.socket.setNoDelay(true);
    if (error) {
      res.end(JSON.stringify({ type: 'ERROR', object: error }) + '\n');
      return;
    }
    this.stats.opened++;
    const w = new Watch(this, this.nextWatchId++, rs, filter, bookmarks, res, fromRV);
    this.watches.add(w);
    res.on('close', () => w.end(true));
    if (initial) {
      for (const k of rs.sortedKeys()) {
        const s = rs.items.get(k)!;
        if (rs.matches(filter, s)) w.send('ADDED', jsonOf(s));
      }
      w.lastRV = this.store.rv;
      if (sie === 'true') w.bookmark({ 'k8s.io/initial-events-end': 'true' });
    } else {
      for (const ev of rs.eventsAfter(fromRV)) w.deliver(ev);
      w.lastRV = this.store.rv;
    }
    rs.watchers.add(w);
    w.setTimeout(timeoutS * 1000);
    this.log(`watch ${w.id} on ${p.def.plural} from ${rvParam || '(now)'}`);
  }

  // ---- the control API ----

  private async control(req: IncomingMessage, res: ServerResponse, op: string): Promise<void> {
    const body = req.method === 'POST' || req.method === 'PUT' ? await readJson(req, true) : {};
    const b = (body ?? {}) as Json;
    const ref = (): { def: ResourceDef; namespace: string | undefined; name: string } => {
      const def = resourceOf(b.kind ?? b.resource);
      if (typeof b.name !== 'string' || !b.name) throw new BadRequest('name is required');
      return { def, namespace: def.namespaced ? (typeof b.namespace === 'string' && b.namespace ? b.namespace : 'default') : undefined, name: b.name };
    };
    const writeOne = (mode: WriteMode): void => {
      const o = b as K8sObject;
      const r = this.store.write(resourceOf(o.kind), o, mode);
      this.sendRaw(res, r.type === 'ADDED' ? 201 : 200, jsonOf(r.obj));
    };
    switch (op) {
      case 'create':
        return writeOne('create');
      case 'update':
        return writeOne('update');
      case 'apply':
        return writeOne('upsert');
      case 'get': {
        const r = ref();
        this.sendRaw(res, 200, jsonOf(this.store.get(r.def, r.namespace, r.name)));
        return;
      }
      case 'delete': {
        const r = ref();
        this.sendRaw(res, 200, jsonOf(this.store.delete(r.def, r.namespace, r.name)));
        return;
      }
      case 'list': {
        const def = resourceOf(b.kind ?? b.resource);
        const ns = typeof b.namespace === 'string' ? b.namespace : undefined;
        const items = [...this.store.resource(def).sortedKeys()]
          .map((k) => this.store.resource(def).items.get(k)!)
          .filter((s) => ns === undefined || s.obj.metadata.namespace === ns);
        this.sendRaw(res, 200, `{"resourceVersion":"${this.store.rv}","items":[${items.map(jsonOf).join(',')}]}`);
        return;
      }
      case 'bulk': {
        const objects = b.objects;
        if (!Array.isArray(objects)) throw new BadRequest('objects must be an array');
        const mode: WriteMode = b.mode === 'create' ? 'create' : 'upsert';
        const counts = { created: 0, updated: 0, unchanged: 0 };
        for (const o of objects as K8sObject[]) {
          const r = this.store.write(resourceOf(o?.kind), o, mode);
          if (r.type === 'ADDED') counts.created++;
          else if (r.type === 'MODIFIED') counts.updated++;
          else counts.unchanged++;
        }
        this.sendJson(res, 200, { count: objects.length, ...counts, resourceVersion: String(this.store.rv) });
        return;
      }
      case 'delete-all': {
        const def = b.kind ?? b.resource ? resourceOf(b.kind ?? b.resource) : undefined;
        const n = this.store.deleteAll(def, typeof b.namespace === 'string' ? b.namespace : undefined);
        this.sendJson(res, 200, { deleted: n, resourceVersion: String(this.store.rv) });
        return;
      }
      case 'compact': {
        const rv = b.resourceVersion === undefined ? undefined : parseRV(String(b.resourceVersion));
        this.sendJson(res, 200, { compactedTo: String(this.store.compact(rv)) });
        return;
      }
      case 'drop-watches': {
        const def = b.kind ?? b.resource ? resourceOf(b.kind ?? b.resource) : undefined;
        this.sendJson(res, 200, { dropped: this.dropWatches(b.graceful === true, def) });
        return;
      }
      case 'pause': {
        const mode = (b.mode ?? 'reset') as PauseMode;
        if (mode !== 'reset' && mode !== '503' && mode !== 'hang') throw new BadRequest(`unknown pause mode "${String(mode)}": use reset, 503 or hang`);
        this.sendJson(res, 200, { paused: mode, droppedWatches: this.pause(mode) });
        return;
      }
      case 'resume':
        this.resume();
        this.sendJson(res, 200, { paused: null });
        return;
      case 'bookmark':
        this.sendJson(res, 200, { sent: this.sendBookmarks(), resourceVersion: String(this.store.rv) });
        return;
      case 'config': {
        if (b.bookmarkMs !== undefined) this.setBookmarkInterval(Number(b.bookmarkMs));
        if (b.watchTimeoutS !== undefined) this.opts.watchTimeoutS = Number(b.watchTimeoutS);
        if (b.slowWatcherBytes !== undefined) this.opts.slowWatcherBytes = Number(b.slowWatcherBytes);
        this.sendJson(res, 200, { bookmarkMs: this.opts.bookmarkMs, watchTimeoutS: this.opts.watchTimeoutS, slowWatcherBytes: this.opts.slowWatcherBytes });
        return;
      }
      case 'stats':
        this.sendJson(res, 200, this.getStats());
        return;
      case 'reset-stats':
        this.resetStats();
        this.sendJson(res, 200, {});
        return;
      default:
        this.sendJson(res, 404, statusObject(404, 'NotFound', `unknown control operation "${op}"`));
    }
  }

  // ---- helpers ----

  private withBody(req: IncomingMessage, res: ServerResponse, fn: (body: unknown) => void, optional = false): void {
    readJson(req, optional).then(
      (body) => {
        try {
          fn(body);
        } catch (err) {
          this.sendError(res, err);
        }
      },
      (err: unknown) => this.sendError(res, err),
    );
  }

  private sendError(res: ServerResponse, err: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (err instanceof ApiError) {
      this.sendJson(res, err.code, err.toStatus());
    } else {
      this.log(`internal error: ${(err as Error)?.stack ?? String(err)}`);
      this.sendJson(res, 500, statusObject(500, 'InternalError', `Internal error occurred: ${(err as Error)?.message ?? String(err)}`));
    }
  }

  private sendJson(res: ServerResponse, code: number, body: unknown): void {
    this.sendRaw(res, code, JSON.stringify(body));
  }

  private sendRaw(res: ServerResponse, code: number, body: string): void {
    if (res.destroyed) return;
    const buf = Buffer.from(body);
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': buf.length, 'Cache-Control': 'no-cache, private' });
    res.end(buf);
  }
}

function resourceOf(kind: unknown): ResourceDef {
  const d = typeof kind === 'string' ? findResource(kind) : undefined;
  if (!d) throw new BadRequest(`unknown kind or resource "${String(kind)}": use one of ${RESOURCES.map((r) => r.kind).join(', ')}`);
  return d;
}

function parsePath(path: string): ParsedPath | null {
  const segs = path.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
  let group: string;
  let version: string;
  let rest: string[];
  if (segs[0] === 'api' && segs.length >= 2) {
    group = '';
    version = segs[1]!;
    rest = segs.slice(2);
  } else if (segs[0] === 'apis' && segs.length >= 3) {
    group = segs[1]!;
    version = segs[2]!;
    rest = segs.slice(3);
  } else {
    return null;
  }
  let watchPrefix = false;
  if (rest[0] === 'watch') {
    watchPrefix = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  let plural: string | undefined;
  let name: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    if (rest.length > 4) return null;
    namespace = rest[1];
    plural = rest[2];
    name = rest[3];
  } else {
    if (rest.length < 1 || rest.length > 2) return null;
    plural = rest[0];
    name = rest[1];
  }
  const def = RESOURCES.find((r) => r.plural === plural && r.group === group && r.version === version);
  if (!def) return null;
  if (namespace !== undefined && !def.namespaced) return null;
  return { def, namespace, name, watchPrefix };
}

function readJson(req: IncomingMessage, optional: boolean): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new ApiError(413, 'RequestEntityTooLarge', 'the request body is too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('error', reject);
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') {
        if (optional) resolve(undefined);
        else reject(new BadRequest('the request has no body'));
        return;
      }
      try {
        resolve(JSON.parse(text));
      } catch (err) {
        reject(new BadRequest(`the request body is not JSON: ${(err as Error).message}`));
      }
    });
  });
}
