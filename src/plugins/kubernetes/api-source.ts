// Cluster state from the Kubernetes API: one @kubernetes/client-node ListWatch (informer) per
// resource. Two things are changed around the stock informer:
// - objects are trimmed as they arrive (in the list and in every watch event), so neither the
//   informer's cache nor anything after it holds a full API object;
// - an informer that fails (connection reset, HTTP error) stops for good in client-node, so it
//   is started again here with backoff. Its restart re-lists when the resourceVersion is gone
//   (410 Gone), and a re-list reports every object missing from the new list as deleted, so no
//   record of an object deleted during an outage survives the reconnect.
// client-node's pieces are imported from their own files: its index (and KubeConfig) would load
// every generated API and model class (see api-connection.ts).
import { ListWatch } from '@kubernetes/client-node/dist/cache.js';
import type { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import { HttpMethod, RequestContext } from '@kubernetes/client-node/dist/gen/http/http.js';
import { Watch } from '@kubernetes/client-node/dist/watch.js';
import { fetch } from 'undici';
import type { ApiConnection } from './api-connection.ts';
import {
  type EndpointSliceInfo, type NamespaceInfo, type PodInfo, type ServiceInfo,
  trimEndpointSlice, trimNamespace, trimPod, trimService,
} from './model.ts';
import type { ClusterSink } from './sink.ts';

type Json = Record<string, unknown>;

/** What the informer cache holds: identity for the informer, the trimmed object for us. */
interface Slim<T> {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  info: T;
}

interface Resource<T> {
  /** For log lines: "services". */
  name: string;
  path: string;
  trim: (o: Json) => T;
  upsert: (info: T) => void;
  remove: (namespace: string, name: string) => void;
  labelSelector?: string;
}

export interface ApiSourceOptions {
  /** Where the API server is and how to authenticate (client-node's KubeConfig is one too). */
  connection: ApiConnection;
  /** `labels`: label selector for Services (sent to the API server). */
  serviceLabels: string | null;
  /** `noendpoints` turns this off. */
  watchSlices: boolean;
  /** Only `pods verified` needs the Pods. */
  watchPods: boolean;
  log: (line: string) => void;
  /** Page size of the initial list (keeps the peak memory of a big list down). */
  pageSize?: number;
  /** A list request that takes longer fails (and is retried). */
  listTimeoutMs?: number;
  /** A failed informer is being started again (kdns_kubernetes_watch_restarts_total). */
  restarted?: (resource: string) => void;
  /**
   * Called after each list page is trimmed: the page's full objects are garbage then, and the
   * owner may collect it (the primary does when its heap has grown enough, primary-heap.ts).
   */
  pageDone?: () => void;
}

/** One resource's informer and its restart state. */
interface Watcher {
  res: string;
  informer: ListWatch<Slim<unknown>>;
  /** Current restart delay (0 after a success). */
  backoff: number;
  timer: NodeJS.Timeout | null;
  /** Its first list has been applied. */
  listed: boolean;
}

/**
 * Every API collection kdns lists and watches (and nothing else is requested). deploy/rbac.yaml
 * grants `list` and `watch` on exactly these; test/deploy.test.ts checks the two agree.
 */
export const WATCHED_API_PATHS = {
  namespaces: '/api/v1/namespaces',
  services: '/api/v1/services',
  endpointslices: '/apis/discovery.k8s.io/v1/endpointslices',
  /** Only with `pods verified`. */
  pods: '/api/v1/pods',
} as const;

const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 30_000;

export class ApiSource {
  private readonly opts: ApiSourceOptions;
  private readonly sink: ClusterSink;
  private readonly watchers: Watcher[] = [];
  private stopped = false;
  private announced = false;
  /** Aborts list requests still in flight when the source stops. */
  private readonly aborter = new AbortController();

  constructor(opts: ApiSourceOptions, sink: ClusterSink) {
    this.opts = opts;
    this.sink = sink;
  }

  start(): void {
    const s = this.sink;
    this.add<NamespaceInfo>({ name: 'namespaces', path: WATCHED_API_PATHS.namespaces, trim: trimNamespace, upsert: (i) => s.upsertNamespace(i), remove: (_ns, n) => s.deleteNamespace(n) });
    this.add<ServiceInfo>({
      name: 'services', path: WATCHED_API_PATHS.services, trim: trimService,
      upsert: (i) => s.upsertService(i), remove: (ns, n) => s.deleteService(ns, n),
      labelSelector: this.opts.serviceLabels ?? undefined,
    });
    if (this.opts.watchSlices) {
      this.add<EndpointSliceInfo>({ name: 'endpointslices', path: WATCHED_API_PATHS.endpointslices, trim: trimEndpointSlice, upsert: (i) => s.upsertSlice(i), remove: (ns, n) => s.deleteSlice(ns, n) });
    }
    if (this.opts.watchPods) {
      this.add<PodInfo>({ name: 'pods', path: WATCHED_API_PATHS.pods, trim: trimPod, upsert: (i) => s.upsertPod(i), remove: (ns, n) => s.deletePod(ns, n) });
    }
    for (const w of this.watchers) void w.informer.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.aborter.abort();
    for (const w of this.watchers) {
      if (w.timer) clearTimeout(w.timer);
      await w.informer.stop();
    }
  }

  private add<T>(res: Resource<T>): void {
    const slim = (o: Json): Slim<T> => {
      const meta = (o.metadata ?? {}) as Json;
      return {
        metadata: { name: String(meta.name ?? ''), namespace: meta.namespace as string | undefined, resourceVersion: meta.resourceVersion as string | undefined },
        info: res.trim(o),
      };
    };
    const watch = new Watch(this.opts.connection as unknown as KubeConfig);
    // The informer calls watch(); trim each event's object before the informer caches it, and
    // ask for bookmarks so a quiet resource's resourceVersion stays fresh (fewer 410 re-lists).
    const trimmingWatch = {
      watch: (path: string, params: Record<string, string | number | boolean | undefined>, cb: (phase: string, obj: unknown, raw?: unknown) => void, done: (err: unknown) => void) =>
        watch.watch(path, { ...params, allowWatchBookmarks: true }, (phase, obj, raw) => {
          w.backoff = 0;
          if (phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED') cb(phase, slim(obj as Json), raw);
          else cb(phase, obj, raw);
        }, done),
    } as unknown as Watch;
    const list = async () => {
      const items = await this.list(res.path, res.labelSelector, slim);
      const result = { metadata: { resourceVersion: items.resourceVersion }, items: items.objects };
      w.backoff = 0;
      // The informer applies the list right after this promise resolves; after that, this
      // resource counts as listed.
      setImmediate(() => this.listed(w));
      return result;
    };
    const informer = new ListWatch<Slim<T>>(res.path, trimmingWatch, list as never, false, res.labelSelector);
    const w: Watcher = { res: res.name, informer: informer as unknown as ListWatch<Slim<unknown>>, backoff: 0, timer: null, listed: false };
    informer.on('add', (o) => res.upsert(o.info));
    informer.on('update', (o) => res.upsert(o.info));
    informer.on('delete', (o) => res.remove(o.metadata.namespace ?? '', o.metadata.name));
    informer.on('error', (err) => this.failed(w, err));
    this.watchers.push(w);
  }

  /** One resource's informer failed: start it again after a backoff (with jitter). */
  private failed(w: Watcher, err: unknown): void {
    if (this.stopped) return;
    w.backoff = w.backoff === 0 ? BACKOFF_MIN_MS : Math.min(w.backoff * 2, BACKOFF_MAX_MS);
    const delay = Math.round(w.backoff * (0.75 + Math.random() * 0.5));
    const message = err instanceof Error ? err.message : String((err as { message?: string })?.message ?? err);
    this.opts.log(`[WARNING] plugin/kubernetes: watch of ${w.res} failed: ${message}; retrying in ${(delay / 1000).toFixed(1)}s`);
    if (w.timer) clearTimeout(w.timer);
    w.timer = setTimeout(() => {
      w.timer = null;
      if (this.stopped) return;
      this.opts.restarted?.(w.res);
      void w.informer.start();
    }, delay);
  }

  private listed(w: Watcher): void {
    w.listed = true;
    if (!this.announced && this.watchers.every((x) => x.listed)) {
      this.announced = true;
      this.opts.log(`[INFO] plugin/kubernetes: synced with the API server (${this.watchers.map((x) => x.res).join(', ')})`);
      this.sink.synced();
    }
  }

  /**
   * A paginated list (`limit`/`continue`): each page is trimmed before the next is fetched, so a
   * big cluster's full objects are never all in memory at once.
   */
  private async list<T>(path: string, labelSelector: string | undefined, trim: (o: Json) => T): Promise<{ objects: T[]; resourceVersion: string }> {
    const kc = this.opts.connection;
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    const objects: T[] = [];
    let cont = '';
    let resourceVersion = '';
    do {
      const url = new URL(cluster.server.replace(/\/$/, '') + path);
      url.searchParams.set('limit', String(this.opts.pageSize ?? 500));
      if (cont) url.searchParams.set('continue', cont);
      if (labelSelector) url.searchParams.set('labelSelector', labelSelector);
      const ctx = new RequestContext(url.toString(), HttpMethod.GET);
      await kc.applySecurityAuthentication(ctx);
      const res = await fetch(url, {
        headers: { ...ctx.getHeaders(), accept: 'application/json' },
        dispatcher: ctx.getDispatcher(),
        signal: AbortSignal.any([this.aborter.signal, AbortSignal.timeout(this.opts.listTimeoutMs ?? 60_000)]),
      });
      if (res.status !== 200) {
        await res.body?.cancel();
        const err = new Error(`list ${path}: HTTP ${res.status}`) as Error & { statusCode: number };
        err.statusCode = res.status;
        throw err;
      }
      const body = (await res.json()) as { items?: Json[]; metadata?: { continue?: string; resourceVersion?: string } };
      for (const o of body.items ?? []) objects.push(trim(o));
      // A page's parsed JSON (~1 MiB of text, several of objects) outlives a few scavenges of
      // the primary's small young generation and lands in the old one; V8's own limit lets
      // that grow to ~60 MiB over a 10,000-Service list, pages it keeps committed while the
      // table is built (bench/RESULTS.md, issue 13).
      this.opts.pageDone?.();
      cont = body.metadata?.continue ?? '';
      resourceVersion = body.metadata?.resourceVersion ?? resourceVersion;
    } while (cont);
    return { objects, resourceVersion };
  }
}
