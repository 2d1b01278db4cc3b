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
import { type EndpointSliceInfo, type NamespaceInfo, type PodInfo, type ServiceInfo, endpointCount, endpointsOf } from './model.ts';
import { dashedAddress, serviceRecords } from './records.ts';
import type { ExternalZone } from './external-zone.ts';
import { externalApex, externalRecords } from '../k8s_external/records.ts';
import type { ClusterSink } from './sink.ts';

const DNS_VERSION_TTL = 28800;
/** Services per table write during the first sync (~27,000 names at 10 endpoints a Service). */
const FIRST_SYNC_CHUNK = 1000;
/**
 * A first sync with more Services than this is built in steps while the table is already served
 * (partial): the rest of the event loop (wanted names, watch events, /ready) runs between steps.
 */
const BUILD_IN_STEPS_ABOVE = 100;
/**
 * Work (workOf: a Service's endpoints, plus a few for its own names) per step of a first build in
 * steps: ~10 ms on the 2-vCPU bench VM, and a step takes ~3x that with its write, which is how
 * long a wanted name waits at most. Counted, not timed, so the same cluster is written in the
 * same steps every time (bench/table-build.ts compares tables by their bytes).
 */
const BUILD_STEP_WORK = 400;
/** Services written in steps before the table is sized for the rest (or a tenth of them). */
const RESERVE_AFTER = 1000;
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
  /**
   * Called once the first sync's table can be served: at once for a small cluster (everything is
   * written), or after the namespaces and the zone apexes of a big one, whose Services follow in
   * steps (the table is partial meanwhile, see TableWriter.setPartial). The constructor's
   * onSynced follows when the table is complete. Without it, the build is one synchronous pass.
   */
  serving?: (partial: boolean) => void;
  /** The Services of wanted names (want()) are in the table: tell the workers (TableWriter.onBuilt). */
  built?: (names: string[] | null) => void;
  /** Tests only (KDNS_TEST_HOOKS): a pause between the steps of a build in steps, to see it partial. */
  stepPauseMs?: number;
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
  /** A first build in steps: Services not in the table yet, in list order. */
  private toBuild: Set<string> | null = null;
  /** Names wanted (want()) since the last step, answered after it. */
  private wanted: string[] = [];
  private builtInSteps = 0;
  /** Services written in steps before the table is sized for the rest (a tenth, at most 1,000). */
  private reserveAfter = 0;
  /** Names in the table when the steps began (namespaces, apexes). */
  private namesBeforeSteps = 0;
  private reserved = false;
  /** k8s_external zones fed from this state (addExternal). */
  private readonly externals: ExternalZone[] = [];
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

  /**
   * Serves a k8s_external zone from this state too: each Service's external records go into the
   * zone's store with its cluster records (before the first sync; the zone is ready with it).
   */
  addExternal(zone: ExternalZone): void {
    this.externals.push(zone);
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
    if (this.opts.serving === undefined || this.dirtyServices.size <= BUILD_IN_STEPS_ABOVE) {
      this.flush();
      // Before serving, so before the workers start: run later (it was 500 ms after), the
      // build's garbage and the workers' start-up were resident at once, and peak RSS at 10,000
      // Services was 25-35 MiB higher; this way /ready comes ~300 ms later (bench/RESULTS.md).
      this.opts.collect?.(true);
      this.opts.serving?.(false);
      this.complete();
      return;
    }
    this.buildInSteps();
  }

  /**
   * A wanted name of a partial table (a worker's query for it): if it is a Service's name
   * (`<svc>.<ns>.svc.<zone>`) not in the table yet, that Service goes in with the next step;
   * either way the name is reported built after it (its answer is then the table's).
   */
  want(name: string): void {
    if (this.toBuild === null) {
      this.opts.built?.([name]);
      return;
    }
    this.wanted.push(name);
  }

  // ---- the first build in steps ----

  /**
   * A big first sync (10,000 Services take seconds to encode): the namespaces and the zone
   * apexes go in first and the table is served from then on, partial; the Services follow a
   * step at a time, those of wanted names first. CoreDNS answers from its informers' caches as
   * soon as the lists are in; this way kdns does too, from the table (bench/RESULTS.md, issue 13).
   */
  private buildInSteps(): void {
    this.toBuild = new Set(this.dirtyServices);
    this.dirtyServices.clear();
    this.reserveAfter = Math.min(RESERVE_AFTER, Math.ceil(this.toBuild.size / 10));
    // The apex names this server's own Service (its ClusterIPs answer ns.dns.<zone>).
    for (const k of this.toBuild) if (this.isDnsService(this.services.get(k), this.slicesByService.get(k)?.values() ?? [])) this.dnsServices.add(k);
    this.flush();
    this.namesBeforeSteps = this.store.size;
    this.opts.serving!(true);
    this.nextStep();
  }

  private buildStep(): void {
    const toBuild = this.toBuild!;
    // Wanted names first, in a write of their own: their queries are waiting in the workers.
    if (this.wanted.length > 0) {
      const wanted = this.wanted;
      this.wanted = [];
      for (const name of wanted) {
        const k = this.serviceOfName(name);
        if (k !== null && toBuild.delete(k)) {
          this.applyService(k);
          this.builtInSteps++;
        }
      }
      this.flush();
      this.opts.built?.(wanted);
    }
    let n = 0;
    let work = 0;
    for (const k of toBuild) {
      toBuild.delete(k);
      this.applyService(k);
      // Each Service in a write of its own (readers still see all of its names or none): its
      // records then die young, where held to the end of the step they outlived two scavenges
      // and went to the old generation (178 -> 120 MiB promoted in a 10k build), whose pages
      // V8 keeps once grown (bench/RESULTS.md, issue 13).
      this.flushStores();
      n++;
      if ((work += this.workOf(k)) >= BUILD_STEP_WORK) break;
    }
    this.flush();
    this.opts.collect?.(false);
    this.builtInSteps += n;
    if (!this.reserved && this.builtInSteps >= this.reserveAfter && toBuild.size > 0) {
      // Size the table once for the rest, projected from the Services written so far (as the
      // one-pass build does after its first chunk): each move to a bigger buffer while served
      // leaves the old one to the workers until their collectors run.
      this.reserved = true;
      this.store.reserve(Math.ceil(((this.store.size - this.namesBeforeSteps) / this.builtInSteps) * toBuild.size));
    }
    if (toBuild.size > 0) {
      this.nextStep();
      return;
    }
    this.toBuild = null;
    this.opts.collect?.(true);
    this.complete();
    // Wants that came in during the last step are answered by the end of partial.
    this.wanted = [];
    this.opts.built?.(null);
  }

  /** A Service's share of a step: its endpoints (a name and a PTR each), plus its own names. */
  private workOf(k: string): number {
    let n = 4;
    for (const slice of this.slicesByService.get(k)?.values() ?? []) n += endpointCount(slice);
    return n;
  }

  private nextStep(): void {
    const pause = this.opts.stepPauseMs ?? 0;
    if (pause > 0) setTimeout(() => this.buildStep(), pause);
    else setImmediate(() => this.buildStep());
  }

  /** `<svc>.<ns>.svc.<zone>` (canonical) -> the Service's key, else null. */
  private serviceOfName(name: string): string | null {
    for (const zone of this.opts.zones) {
      const suffix = `.svc.${zone}`;
      if (!name.endsWith(suffix)) continue;
      const labels = name.slice(0, -suffix.length).split('.');
      return labels.length === 2 ? key(labels[1]!, labels[0]!) : null;
    }
    return null;
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
      // (A Service still to go in with a build in steps reads the namespace then.)
      for (const k of this.servicesByNs.get(ns) ?? []) if (!this.toBuild?.has(k)) this.dirtyServices.add(k);
      for (const k of this.podsByNs.get(ns) ?? []) this.dirtyPods.add(k);
      const shown = this.exposed(ns) && this.namespaces.has(ns);
      this.store.set(`ns:${ns}`, [], shown ? this.namespaceNames(ns) : []);
      // `<ns>.<zone>` answers NODATA in a k8s_external zone once the namespace exists.
      for (const e of this.externals) e.store.set(`ns:${ns}`, [], shown ? e.zones.map((z) => `${ns}.${z}`) : []);
    }
    this.dirtyNamespaces.clear();
    if (this.published || this.toBuild !== null) {
      for (const k of this.dirtyServices) {
        this.toBuild?.delete(k); // a change during a build in steps: it goes in with its news
        this.applyService(k);
      }
    } else {
      this.applyInChunks([...this.dirtyServices]);
    }
    this.dirtyServices.clear();
    for (const k of this.dirtyPods) this.applyPod(k);
    this.dirtyPods.clear();
    if (this.apexDirty) this.applyApex();
    const rewritten = this.flushStores();
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
      this.flushStores();
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
      for (const e of this.externals) e.store.remove(`svc:${k}`);
      if (wasDns) this.apexDirty = true;
      return;
    }
    // The store makes the records again from this Service and these slices when it needs them
    // (the objects are replaced, never changed, on an update), instead of keeping them.
    const records = (): RR[] => this.serviceRecords(svc, slices);
    this.store.set(`svc:${k}`, records(), [], records);
    for (const e of this.externals) {
      const external = (): RR[] => this.externalRecords(e, svc, slices);
      e.store.set(`svc:${k}`, external(), [], external);
    }
    const isDns = this.isDnsService(svc, slices);
    if (isDns) this.dnsServices.add(k);
    // The apex of a k8s_external zone names this server's external addresses.
    if (isDns !== wasDns || (isDns && this.externals.length > 0)) this.apexDirty = true;
  }

  /** A Service's records in a k8s_external zone, in each of its forward zones. */
  private externalRecords(e: ExternalZone, svc: ServiceInfo, slices: EndpointSliceInfo[]): RR[] {
    return inEveryZone(e.zones, e.reverseZones, (zone, inReverseZone) => externalRecords(svc, slices, {
      zone, ttl: e.ttl, serviceTtl: this.opts.ttl, headless: e.headless, endpointPodNames: this.opts.endpointPodNames, inReverseZone,
    }));
  }

  /** Writes every store's pending changes (the cluster's, then each k8s_external zone's). */
  private flushStores(): number {
    const rewritten = this.store.flush();
    for (const e of this.externals) e.store.flush();
    return rewritten;
  }

  /** The first sync is in the table(s): k8s_external zones may answer, and the owner is told. */
  private complete(): void {
    for (const e of this.externals) e.ready();
    this.onSynced();
  }

  /** Has the Service an endpoint on this host (so it is this server's own, see applyApex)? */
  private isDnsService(svc: ServiceInfo | undefined, slices: Iterable<EndpointSliceInfo>): boolean {
    if (!svc || this.local.size === 0 || svc.clusterIPs.length === 0 || !this.exposed(svc.namespace)) return false;
    for (const s of slices) if (endpointsOf(s).some((e) => e.addresses.some((a) => this.local.has(a)))) return true;
    return false;
  }

  /** Every record of one Service in every zone. */
  private serviceRecords(svc: ServiceInfo, slices: EndpointSliceInfo[]): RR[] {
    return inEveryZone(this.opts.zones, this.opts.reverseZones, (zone, inReverseZone) => serviceRecords(svc, slices, {
      zone, ttl: this.opts.ttl, endpointPodNames: this.opts.endpointPodNames, inReverseZone,
    }));
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
    const ownExternal = [...new Set(own.flatMap((svc) => svc.externalAddresses.filter((a) => isIP(a) !== 0)))];
    for (const e of this.externals) {
      const apex = externalApex([...e.zones, ...e.reverseZones], e.apex, e.ttl, ownExternal);
      e.store.set('apex', apex.records, apex.names);
    }
  }
}

/**
 * One Service's records made in each forward zone by `make`, together. PTRs point into the first
 * zone only (one name per address): `inReverseZone` is false for the others.
 */
function inEveryZone(zones: string[], reverseZones: string[], make: (zone: string, inReverseZone: (ptrName: string) => boolean) => RR[]): RR[] {
  const out: RR[] = [];
  for (const [i, zone] of zones.entries()) {
    for (const rr of make(zone, (name) => i === 0 && reverseZones.some((z) => isSubdomain(name, z)))) out.push(rr);
  }
  return out;
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
