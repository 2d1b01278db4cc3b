// kubernetes [ZONES...] { endpoint URL; tls CERT KEY CACERT; kubeconfig FILE [CONTEXT];
//   manifests PATH; namespaces NS...; labels EXPR; namespace_labels EXPR;
//   pods disabled|insecure|verified; endpoint_pod_names; ttl N; noendpoints;
//   fallthrough [ZONES...]; ignore empty_service; startup_timeout DUR }
import { accessSync, constants, existsSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { resolve } from 'node:path';
import type { Directive, Token } from '../../corefile/index.ts';
import { canonicalName, isReverseZone } from '../../dns/name.ts';
import { eachOption, fail, optionArgs, parseDuration, parseIntArg, zonesArg } from '../../plugin/args.ts';
import type { PluginDefinition, PluginInstance } from '../../plugin/types.ts';
import { exponentialBuckets, metrics } from '../../metrics/index.ts';
import { RecordStore, defaultSoa } from '../../table/record-store.ts';
import { type ApiConnection, IN_CLUSTER_DIR, KubeconfigError, endpointConnection, inClusterConnection, kubeconfigConnection } from './api-connection.ts';
import { ApiSource, WATCHED_API_PATHS } from './api-source.ts';
import { collectGarbage } from '../../server/primary-heap.ts';
import { takeExternalZone } from './external-zone.ts';
import { hostSearchDomains, takeAutopathRequest } from './autopath-link.ts';
import { ClusterState, type PodMode } from './cluster-state.ts';
import { LabelSelectorError, type LabelSelector, parseLabelSelector } from './label-selector.ts';
import { ManifestError, ManifestSource, loadManifests } from './manifests.ts';

/** What each worker's handler gets. */
export interface KubernetesConfig {
  tableId: string;
  /** Every zone of the plugin, forward and reverse. */
  zones: string[];
  /** null: no fallthrough; []: every zone; else these zones. */
  fallthrough: string[] | null;
  pods: PodMode;
  /** Forward zones (where `<ip>.<ns>.pod.<zone>` names live). */
  podZones: string[];
  ttl: number;
}

const DEFAULT_TTL = 5;
const DEFAULT_STARTUP_TIMEOUT_MS = 5000;
const BATCH_MS = 5;

interface Options {
  endpoint: string | null;
  tls: { cert: string; key: string; ca: string } | null;
  kubeconfig: { file: string; context: string | null; at: Token } | null;
  manifests: { path: string; at: Token } | null;
  namespaces: string[];
  labels: LabelSelector | null;
  namespaceLabels: LabelSelector | null;
  pods: PodMode;
  endpointPodNames: boolean;
  ttl: number;
  noEndpoints: boolean;
  fallthrough: string[] | null;
  ignoreEmptyService: boolean;
  startupTimeoutMs: number;
}

// CoreDNS's plugin/kubernetes/object/metrics.go: name, help, label and buckets (1 ms doubling
// 20 times, to about 17 minutes) as there. Observed on the primary, where the table is written.
const programmingDuration = metrics.histogram({
  name: 'coredns_kubernetes_dns_programming_duration_seconds',
  help: 'Histogram of the time (in seconds) it took to program a dns instance.',
  labelNames: ['service_kind'],
  buckets: exponentialBuckets(0.001, 2, 20),
});
/** CoreDNS measures headless Services only (the annotation means the controller, so a selector). */
const headlessWithSelector = programmingDuration.series(['headless_with_selector']);
const watchRestarts = metrics.counter({
  name: 'kdns_kubernetes_watch_restarts_total',
  help: 'Times a failed list/watch of a Kubernetes API resource was started again.',
  labelNames: ['resource'],
});
const restartSlots = new Map(Object.keys(WATCHED_API_PATHS).map((r) => [r, watchRestarts.series([r])]));

/** The cluster state each `kubernetes` block serves from, by its zones; a reload's newer one wins. */
const serving = new Map<string, ClusterState>();
metrics.onPrometheus((prom, registry) => {
  new prom.Gauge({
    name: 'kdns_kubernetes_objects',
    help: 'Kubernetes objects the kubernetes plugin serves records from, by kind.',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      const n = { services: 0, endpointslices: 0, namespaces: 0, pods: 0 };
      for (const s of serving.values()) {
        const c = s.counts;
        n.services += c.services;
        n.endpointslices += c.slices;
        n.namespaces += c.namespaces;
        n.pods += c.pods;
      }
      this.reset();
      for (const [kind, v] of Object.entries(n)) this.set({ kind }, v);
    },
  });
});

export const kubernetes: PluginDefinition = {
  name: 'kubernetes',
  summary: 'Services, endpoints and pods of a Kubernetes cluster (API watch or manifest files), DNS spec 1.1.0',
  setup(ctx): PluginInstance {
    const d = ctx.directive;
    const zones = zonesArg(d.args, ctx.block.zones);
    const forward = zones.filter((z) => !isReverseZone(z));
    const reverse = zones.filter(isReverseZone);
    if (forward.length === 0) fail(d.args[0] ?? d.name, 'kubernetes needs a zone that is not a reverse zone', 'e.g. kubernetes cluster.local in-addr.arpa ip6.arpa');
    const o = readOptions(d);
    if (o.manifests && (o.endpoint || o.kubeconfig)) fail(o.manifests.at, 'manifests cannot be combined with endpoint or kubeconfig', 'use one source of cluster state');

    let connection: ApiConnection | null = null;
    if (!o.manifests) connection = apiConnection(d, o);
    else {
      try {
        loadManifests(o.manifests.path); // fail now, with the file and line, not after start-up
      } catch (err) {
        if (err instanceof ManifestError) fail(o.manifests.at, err.message); // names the file (and line) itself
        throw err;
      }
    }

    const { id, writer } = ctx.createTable();
    const serial = Math.floor(Date.now() / 1000);
    // The SOA's own TTL is capped at 300 s; its minimum field (the negative TTL) is `ttl`.
    const store = new RecordStore(writer, zones.map((z) => ({ ...defaultSoa(z, o.ttl, serial), ttl: Math.min(o.ttl, 300) })));
    const log = (line: string): void => void process.stdout.write(`${line}\n`);
    let markSynced = (): void => {};
    const synced = new Promise<true>((resolve) => (markSynced = () => resolve(true)));
    const state = new ClusterState(store, {
      zones: forward,
      reverseZones: reverse,
      ttl: o.ttl,
      endpointPodNames: o.endpointPodNames,
      pods: o.pods,
      namespaces: o.namespaces,
      namespaceLabels: o.namespaceLabels,
      ignoreEmptyService: o.ignoreEmptyService,
      localAddresses: localAddresses(),
      batchMs: BATCH_MS,
      // Manifests carry no endpoint controller's clock: only API changes are measured.
      programmed: o.manifests ? undefined : (seconds) => programmingDuration.observe(headlessWithSelector, seconds),
      collect: collectGarbage,
      // Served from here on; a big cluster's Services are still going in (partial) until onSynced.
      serving: (partial) => {
        writer.setPartial(partial);
        writer.setReady(true);
        markSynced();
      },
      built: (names) => writer.onBuilt(names),
      stepPauseMs: process.env.KDNS_TEST_HOOKS === '1' ? Number(process.env.KDNS_TEST_BUILD_PAUSE_MS ?? 0) : 0,
    }, () => {
      writer.setPartial(false);
      const c = state.counts;
      const t = writer.stats();
      log(`[INFO] plugin/kubernetes: serving ${c.services} services, ${c.slices} endpointslices, ${c.namespaces} namespaces, ${c.pods} pods; table ${t.names} names, ${t.bytes} bytes`);
    });
    writer.onWant = (name) => state.want(name);
    // k8s_external, set up just before this in the same server, is served from this state.
    const external = takeExternalZone(ctx.block.key);
    if (external !== null) state.addExternal(external);
    // `autopath @kubernetes` in this server: it reads clients' namespaces from this table.
    const autopath = takeAutopathRequest(ctx.block.key);
    if (autopath !== null) {
      autopath.kubernetes = { tableId: id, zones: forward, podsVerified: o.pods === 'verified', hostSearch: hostSearchDomains() };
    }

    let source: { stop(): Promise<void> | void } | null = null;
    const config: KubernetesConfig = { tableId: id, zones, fallthrough: o.fallthrough, pods: o.pods, podZones: forward, ttl: o.ttl };
    return {
      worker: { module: new URL('./handler.ts', import.meta.url).href, config },
      primary: {
        async start() {
          serving.set(zones.join(' '), state);
          if (o.manifests) {
            const m = new ManifestSource(o.manifests.path, state, { labels: o.labels ?? undefined, log });
            source = m;
            m.start();
            return;
          }
          const api = new ApiSource({
            connection: connection!,
            serviceLabels: o.labels?.text ?? null,
            watchSlices: !o.noEndpoints,
            watchPods: o.pods === 'verified',
            log,
            restarted: (resource) => watchRestarts.inc(restartSlots.get(resource) ?? watchRestarts.series([resource])),
            pageDone: () => collectGarbage(false),
          }, state);
          source = api;
          api.start();
          // As CoreDNS: start serving once synced, or after startup_timeout anyway (answering
          // SERVFAIL for the zones until the sync completes).
          let timer: NodeJS.Timeout | undefined;
          const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), o.startupTimeoutMs)));
          const inTime = await Promise.race([synced, timedOut]);
          clearTimeout(timer);
          if (!inTime) log(`[WARNING] plugin/kubernetes: starting without a sync with the API server after ${o.startupTimeoutMs / 1000}s; answering SERVFAIL for ${zones.join(' ')} until it completes`);
        },
        async stop() {
          if (serving.get(zones.join(' ')) === state) serving.delete(zones.join(' '));
          await source?.stop();
        },
        ready: () => state.isReady,
      },
    };
  },
};

function readOptions(d: Directive): Options {
  const o: Options = {
    endpoint: null, tls: null, kubeconfig: null, manifests: null, namespaces: [], labels: null, namespaceLabels: null,
    pods: 'disabled', endpointPodNames: false, ttl: DEFAULT_TTL, noEndpoints: false, fallthrough: null,
    ignoreEmptyService: false, startupTimeoutMs: DEFAULT_STARTUP_TIMEOUT_MS,
  };
  const selector = (x: Directive, usage: string): LabelSelector => {
    const a = optionArgs(x, 1, Infinity, usage);
    try {
      return parseLabelSelector(a.map((t) => t.text).join(' '));
    } catch (err) {
      if (err instanceof LabelSelectorError) fail(a[0]!, `bad label selector: ${err.message}`, 'write it like app=web,tier in (a,b),!legacy');
      throw err;
    }
  };
  const unsupported = (why: string, hint: string) => (x: Directive): void => fail(x.name, `${x.name.text} ${why}`, hint);
  eachOption(d, {
    multicluster: unsupported('(multi-cluster services) is not available in kdns yet', 'remove it; ServiceImports are not served'),
    upstream: unsupported('was removed from CoreDNS', 'remove it; CNAMEs to outside names are resolved by the client'),
    resyncperiod: unsupported('was removed from CoreDNS', 'remove it'),
    transfer: unsupported('moved to the transfer plugin in CoreDNS', 'zone transfers are not available in kdns'),
    // Limits on client-go's request rate; kdns makes one list and one watch per resource per
    // (re)connect, so there is nothing to throttle. Accepted so existing Corefiles run.
    apiserver_qps(x) {
      const [t] = optionArgs(x, 1, 1, 'apiserver_qps N');
      if (!/^\d+(\.\d+)?$/.test(t!.text)) fail(t!, `expected a number, got '${t!.text}'`);
    },
    apiserver_burst(x) {
      parseIntArg(optionArgs(x, 1, 1, 'apiserver_burst N')[0]!, 0, 2 ** 31 - 1);
    },
    apiserver_max_inflight(x) {
      parseIntArg(optionArgs(x, 1, 1, 'apiserver_max_inflight N')[0]!, 0, 2 ** 31 - 1);
    },
    endpoint(x) {
      // CoreDNS takes several but uses only the first.
      const a = optionArgs(x, 1, Infinity, 'endpoint URL');
      try {
        const u = new URL(a[0]!.text);
        if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
      } catch {
        fail(a[0]!, `'${a[0]!.text}' is not an http(s) URL`, 'write it like https://10.0.0.1:6443');
      }
      o.endpoint = a[0]!.text;
    },
    tls(x) {
      const a = optionArgs(x, 3, 3, 'tls CERT KEY CACERT');
      for (const t of a) readable(t);
      o.tls = { cert: a[0]!.text, key: a[1]!.text, ca: a[2]!.text };
    },
    kubeconfig(x) {
      const a = optionArgs(x, 1, 2, 'kubeconfig FILE [CONTEXT]');
      readable(a[0]!);
      o.kubeconfig = { file: a[0]!.text, context: a[1]?.text ?? null, at: a[0]! };
    },
    manifests(x) {
      const a = optionArgs(x, 1, 1, 'manifests PATH');
      o.manifests = { path: resolve(a[0]!.text), at: a[0]! };
    },
    namespaces(x) {
      if (o.namespaceLabels) fail(x.name, 'namespaces and namespace_labels cannot be used together', 'keep one of them');
      o.namespaces = optionArgs(x, 1, Infinity, 'namespaces NAMESPACE...').map((t) => t.text);
    },
    labels(x) {
      o.labels = selector(x, 'labels EXPRESSION');
    },
    namespace_labels(x) {
      if (o.namespaces.length) fail(x.name, 'namespaces and namespace_labels cannot be used together', 'keep one of them');
      o.namespaceLabels = selector(x, 'namespace_labels EXPRESSION');
    },
    pods(x) {
      const [t] = optionArgs(x, 1, 1, 'pods disabled|insecure|verified');
      if (t!.text !== 'disabled' && t!.text !== 'insecure' && t!.text !== 'verified') fail(t!, `unknown pods mode '${t!.text}'`, 'use disabled, insecure or verified');
      o.pods = t!.text;
    },
    endpoint_pod_names(x) {
      optionArgs(x, 0, 0, 'endpoint_pod_names');
      o.endpointPodNames = true;
    },
    ttl(x) {
      o.ttl = parseIntArg(optionArgs(x, 1, 1, 'ttl SECONDS')[0]!, 0, 3600);
    },
    noendpoints(x) {
      optionArgs(x, 0, 0, 'noendpoints');
      o.noEndpoints = true;
    },
    fallthrough(x) {
      o.fallthrough = optionArgs(x, 0, Infinity, 'fallthrough [ZONES...]').map((t) => canonicalName(t.text));
    },
    ignore(x) {
      const [t] = optionArgs(x, 1, 1, 'ignore empty_service');
      if (t!.text !== 'empty_service') fail(t!, `unknown ignore option '${t!.text}'`, 'the only one is empty_service');
      o.ignoreEmptyService = true;
    },
    startup_timeout(x) {
      o.startupTimeoutMs = parseDuration(optionArgs(x, 1, 1, 'startup_timeout DURATION')[0]!);
    },
  });
  return o;
}

function readable(t: Token): void {
  try {
    accessSync(t.text, constants.R_OK);
  } catch {
    fail(t, `cannot read ${t.text}`, 'check the path and the permissions');
  }
}

/** How to reach the API server: kubeconfig, endpoint (+ tls), or the in-cluster service account. */
function apiConnection(d: Directive, o: Options): ApiConnection {
  if (o.kubeconfig) {
    try {
      return kubeconfigConnection(o.kubeconfig.file, o.kubeconfig.context, o.endpoint);
    } catch (err) {
      if (err instanceof KubeconfigError) fail(o.kubeconfig.at, err.message, err.hint);
      throw err;
    }
  }
  if (o.endpoint) return endpointConnection(o.endpoint, o.tls);
  if (!process.env.KUBERNETES_SERVICE_HOST || !existsSync(`${IN_CLUSTER_DIR}/token`)) {
    fail(d.name, 'kubernetes has no endpoint, kubeconfig or manifests, and kdns is not running in a cluster', 'add `endpoint URL`, `kubeconfig FILE` or `manifests PATH` to the kubernetes block');
  }
  return inClusterConnection();
}

/** This host's addresses (for ns.dns.<zone>): non-internal ones, else loopback. */
function localAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (!a.internal) out.push(a.address.split('%')[0]!);
  return out.length ? out : ['127.0.0.1'];
}
