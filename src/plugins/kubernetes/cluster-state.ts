// The primary thread's view of the cluster, kept as trimmed objects, and its translation into the
// record table. Sources (API watch, manifests) call the ClusterSink methods; changes are marked
// dirty per Service / Namespace / Pod and applied together a few milliseconds later, so a burst
// of events (a relist, a rollout touching many slices) costs one table batch, and one Service's
// change rebuilds only that Service's names.
import { isIP } from 'node:net';
import type { RR } from '../../table/entry.ts';
import type { RecordStore } from '../../table/record-store.ts';
import { isSubdomain } from '../../dns/name.ts';
import type { LabelSelector } from './label-selector.ts';
import { type EndpointSliceInfo, type NamespaceInfo, type PodInfo, type ServiceInfo, endpointsOf } from './model.ts';
import { dashedAddress, serviceRecords } from './records.ts';
import type { ClusterSink } from './sink.ts';

const DNS_VERSION_TTL = 28800;
/** Services per table write during the first sync (~27,000 names at 10 endpoints a Service). */
const FIRST_SYNC_CHUNK = 1000;
/** A flush that rewrote this many names (a re-list) is followed by a memory-releasing collection. */
const BIG_FLUSH_NAMES = 20_000;

export type PodMode = 'disabled' | 'insecure' | 'verified';

export interface ClusterOptions {
  /** Forward zones (e.g. cluster.local.), canonical; records are made in each. */
  zones: string[];
  /** Reverse zones served (in-addr.arpa., ip6.arpa. or narrower), canonical. */
  reverseZones: string[];
  ttl: number;
  endpointPodNames: boolean;
  pods: PodMode;
  /** `namespaces`: only these are exposed (empty = all). */
  namespaces: string[];
  /** `namespace_labels`: only namespaces whose labels match are exposed. */
  namespaceLabels: LabelSelector | null;
  /** `ignore empty_service`: services without ready endpoints get no records. */
  ignoreEmptyService: boolean;
  /** Addresses of this host: services with an endpoint here are the DNS service (ns.dns.<zone>). */
  localAddresses: string[];
  /** How long events are gathered before they are applied. */
  batchMs: number;
  /**
   * Called once the table holds an EndpointSlice change of a headless Service that the
   * endpoint controller stamped with its trigger time, with the seconds since that time
   * (coredns_kubernetes_dns_programming_duration_seconds{service_kind="headless_with_selector"}).
   */
  programmed?: (seconds: number) => void;
  /**
   * A full garbage collection of the primary (src/server/primary-heap.ts), called between the
   * first sync's chunks and, with `release` (memory handed back to the OS), after the first sync
   * and after any flush as big as a re-list. Those are the moments the heap holds most garbage:
   * left to itself V8 lets the heap grow to about twice the live data before it collects.
   */
  collect?: (release: boolean) => void;
}

const key = (namespace: string, name: string): string => `${namespace}/${name}`;

export class ClusterState implements ClusterSink {
  private readonly store: RecordStore;
  private readonly opts: ClusterOptions;
  private readonly onSynced: () => void;
  private readonly services = new Map<string, ServiceInfo>();
  /** service key -> slice name -> slice. */
  private readonly slicesByService = new Map<string, Map<string, EndpointSliceInfo>>();
  /** slice key -> the service key it was filed under (the label can change). */
  private readonly sliceOwner = new Map<string, string>();
  private readonly namespaces = new Map<string, NamespaceInfo>();
  private readonly pods = new Map<string, PodInfo>();
  private readonly servicesByNs = new Map<string, Set<string>>();
  private readonly podsByNs = new Map<string, Set<string>>();
  /** Services with an endpoint on this host: their ClusterIPs answer ns.dns.<zone>. */
  private readonly dnsServices = new Set<string>();
  private readonly local: Set<string>;

  private readonly dirtyServices = new Set<string>();
  private readonly dirtyNamespaces = new Set<string>();
  private readonly dirtyPods = new Set<string>();
  private apexDirty = true;
  private timer: NodeJS.Timeout | null = null;
  private isSynced = false;
  /** The first sync is in the table (flushes from then on are single batches readers may see). */
  private published = false;
  /** Slice changes with a trigger time waiting for the next flush: service key, trigger time (ms). */
  private readonly triggers: Array<{ service: string; at: number }> = [];

  constructor(store: RecordStore, opts: ClusterOptions, onSynced: () => void = () => {}) {
    this.store = store;
    this.opts = opts;
    this.onSynced = onSynced;
    this.local = new Set(opts.localAddresses);
  }

  get isReady(): boolean {
    return this.isSynced;
  }

  get counts(): { services: number; slices: number; namespaces: number; pods: number } {
    return { services: this.services.size, slices: this.sliceOwner.size, namespaces: this.namespaces.size, pods: this.pods.size };
  }

  // ---- ClusterSink ----

  upsertService(svc: ServiceInfo): void {
    const k = key(svc.namespace, svc.name);
    this.services.set(k, svc);
    index(this.servicesByNs, svc.namespace, k);
    this.mark(this.dirtyServices, k);
  }

  deleteService(namespace: string, name: string): void {
    const k = key(namespace, name);
    if (!this.services.delete(k)) return;
    unindex(this.servicesByNs, namespace, k);
    this.mark(this.dirtyServices, k);
  }

  upsertSlice(slice: EndpointSliceInfo): void {
    const sk = key(slice.namespace, slice.name);
    const owner = key(slice.namespace, slice.service);
    const before = this.sliceOwner.get(sk);
    if (before !== undefined && before !== owner) this.detachSlice(sk, before, slice.name);
    this.sliceOwner.set(sk, owner);
    let slices = this.slicesByService.get(owner);
    if (!slices) this.slicesByService.set(owner, (slices = new Map()));
    // The initial list (and changes before it) are not measured: they were programmed at start.
    // The same trigger time again (a label edit, a re-list) is a change already measured.
    if (this.isSynced && this.opts.programmed && slice.triggerTime !== undefined && slices.get(slice.name)?.triggerTime !== slice.triggerTime) {
      this.triggers.push({ service: owner, at: slice.triggerTime });
    }
    slices.set(slice.name, slice);
    this.mark(this.dirtyServices, owner);
  }

  deleteSlice(namespace: string, name: string): void {
    const sk = key(namespace, name);
    const owner = this.sliceOwner.get(sk);
    if (owner === undefined) return;
    this.detachSlice(sk, owner, name);
  }

  upsertNamespace(ns: NamespaceInfo): void {
    this.namespaces.set(ns.name, ns);
    this.mark(this.dirtyNamespaces, ns.name);
  }

  deleteNamespace(name: string): void {
    if (!this.namespaces.delete(name)) return;
    this.mark(this.dirtyNamespaces, name);
  }

  upsertPod(pod: PodInfo): void {
    const k = key(pod.namespace, pod.name);
    this.pods.set(k, pod);
    index(this.podsByNs, pod.namespace, k);
    this.mark(this.dirtyPods, k);
  }

  deletePod(namespace: string, name: string): void {
    const k = key(namespace, name);
    if (!this.pods.delete(k)) return;
    unindex(this.podsByNs, namespace, k);
    this.mark(this.dirtyPods, k);
  }

  synced(): void {
    if (this.isSynced) return;
    this.isSynced = true;
    this.flush();
    // Before serving, so before the workers start: run later (it was 500 ms after), the
    // build's garbage and the workers' start-up were resident at once, and peak RSS at 10,000
    // Services was 25-35 MiB higher; this way /ready comes ~300 ms later (bench/RESULTS.md).
    this.opts.collect?.(true);
    this.onSynced();
  }

  // ---- applying ----

  /** Applies every pending change in one table batch. Returns the number of names rewritten. */
  flush(): number {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    // A namespace change (labels, creation, deletion) can expose or hide everything in it.
    for (const ns of this.dirtyNamespaces) {
      for (const k of this.servicesByNs.get(ns) ?? []) this.dirtyServices.add(k);
      for (const k of this.podsByNs.get(ns) ?? []) this.dirtyPods.add(k);
      this.store.set(`ns:${ns}`, [], this.exposed(ns) && this.namespaces.has(ns) ? this.namespaceNames(ns) : []);
    }
    this.dirtyNamespaces.clear();
    if (this.published) {
      for (const k of this.dirtyServices) this.applyService(k);
    } else {
      this.applyInChunks([...this.dirtyServices]);
    }
    this.dirtyServices.clear();
    for (const k of this.dirtyPods) this.applyPod(k);
    this.dirtyPods.clear();
    if (this.apexDirty) this.applyApex();
    const rewritten = this.store.flush();
    if (this.published && rewritten >= BIG_FLUSH_NAMES) this.opts.collect?.(true);
    if (this.isSynced) this.published = true;
    if (this.triggers.length > 0) this.measure();
    return rewritten;
  }

  /**
   * The first sync, before anything is served: Services go into the table a chunk at a time, so
   * that only one chunk's records exist at once (the store keeps none once written). At 10,000
   * Services that is what the primary's heap peaks at, and V8 keeps a heap at its peak size.
   * After the first chunk the table is sized once for the projected total.
   */
  private applyInChunks(keys: string[]): void {
    for (let at = 0; at < keys.length; at += FIRST_SYNC_CHUNK) {
      const end = Math.min(keys.length, at + FIRST_SYNC_CHUNK);
      for (let i = at; i < end; i++) this.applyService(keys[i]!);
      this.store.flush();
      this.opts.collect?.(false);
      if (at === 0 && end < keys.length) this.store.reserve(Math.ceil((this.store.size / end) * (keys.length - end)));
    }
  }

  /**
   * The changes just flushed are in the table: the DNS programming latency of each, as CoreDNS
   * measures it (object/metrics.go): only for a Service that is headless, whose records the
   * endpoints make (a ClusterIP Service's answers do not change with its endpoints).
   */
  private measure(): void {
    const now = Date.now();
    for (const t of this.triggers) {
      if (this.services.get(t.service)?.headless === true) this.opts.programmed!(Math.max(0, now - t.at) / 1000);
    }
    this.triggers.length = 0;
  }

  private mark(set: Set<string>, k: string): void {
    set.add(k);
    // Before the first sync nothing is published, so the initial list is applied in one go.
    if (this.isSynced && this.timer === null) this.timer = setTimeout(() => this.flush(), this.opts.batchMs);
  }

  private detachSlice(sk: string, owner: string, name: string): void {
    this.sliceOwner.delete(sk);
    const slices = this.slicesByService.get(owner);
    slices?.delete(name);
    if (slices?.size === 0) this.slicesByService.delete(owner);
    this.mark(this.dirtyServices, owner);
  }

  private exposed(ns: string): boolean {
    if (this.opts.namespaces.length > 0 && !this.opts.namespaces.includes(ns)) return false;
    if (this.opts.namespaceLabels) {
      const info = this.namespaces.get(ns);
      return info !== undefined && this.opts.namespaceLabels.matches(info.labels);
    }
    return true;
  }

  /** `<ns>.svc.<zone>` (and `<ns>.pod.<zone>` when pods are answered) exist for a namespace. */
  private namespaceNames(ns: string): string[] {
    const out: string[] = [];
    for (const z of this.opts.zones) {
      out.push(`${ns}.svc.${z}`);
      if (this.opts.pods !== 'disabled') out.push(`${ns}.pod.${z}`);
    }
    return out;
  }

  private applyService(k: string): void {
    const svc = this.services.get(k);
    const slices = [...(this.slicesByService.get(k)?.values() ?? [])];
    const wasDns = this.dnsServices.delete(k);
    const hidden = !svc || !this.exposed(svc.namespace)
      || (this.opts.ignoreEmptyService && svc.type !== 'ExternalName' && !svc.headless && !hasReadyEndpoint(slices));
    if (hidden) {
      this.store.remove(`svc:${k}`);
      if (wasDns) this.apexDirty = true;
      return;
    }
    // The store makes the records again from this Service and these slices when it needs them
    // (the objects are replaced, never changed, on an update), instead of keeping them.
    const records = (): RR[] => this.serviceRecords(svc, slices);
    this.store.set(`svc:${k}`, records(), [], records);
    const isDns = this.local.size > 0 && svc.clusterIPs.length > 0 && slices.some((s) => endpointsOf(s).some((e) => e.addresses.some((a) => this.local.has(a))));
    if (isDns) this.dnsServices.add(k);
    if (isDns !== wasDns) this.apexDirty = true;
  }

  /** Every record of one Service in every zone. */
  private serviceRecords(svc: ServiceInfo, slices: EndpointSliceInfo[]): RR[] {
    const records: RR[] = [];
    for (const [i, zone] of this.opts.zones.entries()) {
      const rrs = serviceRecords(svc, slices, {
        zone, ttl: this.opts.ttl, endpointPodNames: this.opts.endpointPodNames,
        // PTRs point into the first zone only (one name per address).
        inReverseZone: (name) => i === 0 && this.opts.reverseZones.some((z) => isSubdomain(name, z)),
      });
      for (const rr of rrs) records.push(rr);
    }
    return records;
  }

  private applyPod(k: string): void {
    const pod = this.pods.get(k);
    if (!pod || this.opts.pods !== 'verified' || !this.exposed(pod.namespace)) {
      this.store.remove(`pod:${k}`);
      return;
    }
    const records = (): RR[] => {
      const out: RR[] = [];
      for (const zone of this.opts.zones) {
        for (const ip of pod.ips) {
          out.push({ name: `${dashedAddress(ip)}.${pod.namespace}.pod.${zone}`, type: isIP(ip) === 6 ? 'AAAA' : 'A', ttl: this.opts.ttl, data: ip });
        }
      }
      return out;
    };
    this.store.set(`pod:${k}`, records(), [], records);
  }

  /**
   * Apex NS, ns.dns.<zone>, dns-version, and the svc/pod empty non-terminals of each zone. The
   * nameserver is this server's own Service when one of its endpoints is on this host (its
   * name and ClusterIPs, as CoreDNS finds itself), else ns.dns.<zone> with this host's addresses.
   */
  private applyApex(): void {
    this.apexDirty = false;
    const { ttl } = this.opts;
    const records: RR[] = [];
    const names: string[] = [];
    const own = [...this.dnsServices].flatMap((k) => this.services.get(k) ?? []);
    const ownIPs = [...new Set(own.flatMap((s) => s.clusterIPs))];
    const nsAddresses = ownIPs.length ? ownIPs : this.opts.localAddresses;
    for (const zone of this.opts.zones) {
      const targets = own.length ? own.map((s) => `${s.name}.${s.namespace}.svc.${zone}`) : [`ns.dns.${zone}`];
      for (const t of targets) records.push({ name: zone, type: 'NS', ttl, data: t });
      for (const ip of nsAddresses) records.push({ name: `ns.dns.${zone}`, type: isIP(ip) === 6 ? 'AAAA' : 'A', ttl, data: ip });
      // Kubernetes DNS spec 2.1: the schema version this server implements (fixed TTL, as CoreDNS).
      records.push({ name: `dns-version.${zone}`, type: 'TXT', ttl: DNS_VERSION_TTL, data: ['1.1.0'] });
      names.push(`svc.${zone}`, `pod.${zone}`);
    }
    const first = this.opts.zones[0];
    for (const zone of this.opts.reverseZones) records.push({ name: zone, type: 'NS', ttl, data: first ? `ns.dns.${first}` : `ns.dns.${zone}` });
    this.store.set('apex', records, names);
  }
}

function hasReadyEndpoint(slices: EndpointSliceInfo[]): boolean {
  return slices.some((s) => endpointsOf(s).some((e) => e.ready && e.addresses.length > 0));
}

function index(map: Map<string, Set<string>>, ns: string, k: string): void {
  let set = map.get(ns);
  if (!set) map.set(ns, (set = new Set()));
  set.add(k);
}

function unindex(map: Map<string, Set<string>>, ns: string, k: string): void {
  const set = map.get(ns);
  set?.delete(k);
  if (set?.size === 0) map.delete(ns);
}
