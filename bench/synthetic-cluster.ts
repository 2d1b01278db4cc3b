// A deterministic synthetic Kubernetes cluster for benchmarks: Namespaces, Services with named
// ports, and EndpointSlices shaped as the endpointslice controller writes them, plus a dnsperf
// query list that matches the cluster. The same options and seed always give the same objects,
// byte for byte, so runs on different days measure the same cluster.
//
//   node bench/synthetic-cluster.ts --services 10000 --endpoints 100000 --out DIR
//       [--namespaces N] [--headless-share 0.1] [--dual-stack-share 0.05] [--seed 1] [--queries 10000]
//
// writes DIR/manifests/*.json (for `kubernetes { manifests DIR/manifests }`) and DIR/queries.txt.
//
//   import { syntheticCluster, clusterQueries } from './synthetic-cluster.ts';
//   const c = syntheticCluster({ services: 10_000, endpoints: 100_000 });
//   await api.client.bulk(c.objects);

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { QuerySpec } from './dnsutil.ts';

/** A Kubernetes object as JSON (structurally a fake-apiserver K8sObject). */
export interface K8sJson {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

export interface SyntheticClusterOptions {
  services: number;
  /** Backends (pods) behind all Services together; dual-stack ones also get an IPv6 slice per IPv4 one. */
  endpoints: number;
  /** Default: ceil(services / 40), at least 2 (`default` and `kube-system` are always there). */
  namespaces?: number;
  /** Share of Services that are headless (clusterIP: None), default 0.1. */
  headlessShare?: number;
  /** Share of ClusterIP Services that are dual-stack (IPv4 + IPv6), default 0.05. */
  dualStackShare?: number;
  /** Share of endpoints that are not ready (half of them terminating), default 0.03. */
  notReadyShare?: number;
  seed?: number;
}

export interface PortFacts {
  name: string;
  port: number;
  protocol: 'TCP' | 'UDP';
}

/** What a query list (and a checker) needs to know about one Service without reparsing objects. */
export interface ServiceFacts {
  namespace: string;
  name: string;
  headless: boolean;
  /** Empty when headless. */
  clusterIPs: string[];
  ports: PortFacts[];
  /** Every endpoint, ready or not. */
  endpoints: number;
  /** Addresses of ready endpoints, IPv4 (and IPv6 for dual-stack). */
  readyAddresses: string[];
  /** Hostnames of ready endpoints (StatefulSet-style headless services only). */
  hostnames: string[];
}

export interface SyntheticCluster {
  options: Required<SyntheticClusterOptions>;
  namespaces: string[];
  services: ServiceFacts[];
  /** Namespaces, then Services, then EndpointSlices (the order to load them in). */
  objects: K8sJson[];
  counts: { namespaces: number; services: number; headless: number; dualStack: number; slices: number; endpoints: number; notReady: number; addresses: number };
}

// ---- address plan ----
// 10.96.0.0/12 holds ClusterIPs. Offsets below 16 are left to the hand-picked ones
// (10.96.0.1 kubernetes, 10.96.0.10 kube-dns); the top 4096 (10.111.240.0/20) are never
// generated, so a benchmark can move a Service to an address no other Service has.
const SVC_V4_BASE = (10 << 24) | (96 << 16);
const SVC_V4_LOW = 16;
const SVC_V4_SPAN = (1 << 20) - 4096 - SVC_V4_LOW;
// 10.244.0.0/14 holds pod IPs, a /24 per node (.1 is the node's bridge). 10.247.240.0/20 is kept
// free for the same reason as above: room for benchmark-made endpoints.
const POD_V4_BASE = (10 << 24) | (244 << 16);
const POD_NODES = (1 << 10) - 16;

/** The i-th address (0 ≤ i < 4096) in the ClusterIP range no generated Service uses. */
export function spareClusterIP(i: number): string {
  if (!(i >= 0 && i < 4096)) throw new Error('spareClusterIP: 0 <= i < 4096');
  return v4(SVC_V4_BASE + SVC_V4_LOW + SVC_V4_SPAN + i);
}

/** The i-th address (0 ≤ i < 4096) in the pod range no generated endpoint uses. */
export function sparePodIP(i: number): string {
  if (!(i >= 0 && i < 4096)) throw new Error('sparePodIP: 0 <= i < 4096');
  return v4(POD_V4_BASE + POD_NODES * 256 + i);
}

function v4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** Deterministic PRNG (mulberry32): Math.random cannot be seeded. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * A bijection on [0, m): i -> (i*a + b) mod m with a coprime to m. Spreads sequential indexes
 * over the range (so Services' addresses and pods' nodes look scattered) while staying unique.
 */
function permutation(m: number, seed: number): (i: number) => number {
  if (m <= 1) return () => 0;
  let a = Math.max(1, Math.floor(m * 0.6180339887)) | 1;
  while (gcd(a, m) !== 1) a += 2;
  const b = (seed * 7919) % m;
  // i*a < 2^53 for the sizes here (m ≤ 2^20), so plain numbers are exact.
  return (i) => (i * a + b) % m;
}

// ---- naming ----
const APPS = [
  'payments', 'checkout', 'cart', 'catalog', 'search', 'orders', 'billing', 'users', 'auth', 'inventory',
  'shipping', 'pricing', 'reviews', 'ads', 'recommend', 'notify', 'email', 'ledger', 'fraud', 'media',
  'upload', 'profile', 'session', 'gateway', 'frontend', 'reports', 'analytics', 'audit', 'config', 'feature',
];
const TEAMS = ['platform', 'commerce', 'growth', 'data', 'identity', 'infra', 'mobile', 'web', 'ml', 'finance', 'ops', 'security'];
const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789'; // what the controller's generateName uses

interface Profile {
  role: string;
  ports: PortFacts[];
  /** StatefulSet-style: endpoints carry hostname = pod name. */
  statefulSet?: boolean;
}

const p = (name: string, port: number, protocol: 'TCP' | 'UDP' = 'TCP'): PortFacts => ({ name, port, protocol });
const STATELESS: Profile[] = [
  { role: 'api', ports: [p('http', 80), p('grpc', 9090), p('metrics', 9102)] },
  { role: 'web', ports: [p('http', 80), p('https', 443)] },
  { role: 'grpc', ports: [p('grpc', 50051)] },
  { role: 'worker', ports: [p('metrics', 8080)] },
  { role: 'cache', ports: [p('memcache', 11211)] },
  { role: 'proxy', ports: [p('http', 8080), p('admin', 9901)] },
  { role: 'dns', ports: [p('dns', 53, 'UDP'), p('dns-tcp', 53), p('metrics', 9153)] },
  // A single unnamed port is legal and common; it gets no SRV record.
  { role: 'svc', ports: [p('', 8080)] },
];
const STATEFUL: Profile[] = [
  { role: 'postgres', ports: [p('tcp-postgresql', 5432)], statefulSet: true },
  { role: 'redis', ports: [p('tcp-redis', 6379)], statefulSet: true },
  { role: 'kafka', ports: [p('tcp-client', 9092), p('tcp-internal', 9093)], statefulSet: true },
  { role: 'zookeeper', ports: [p('tcp-client', 2181), p('tcp-follower', 2888), p('tcp-election', 3888)], statefulSet: true },
  { role: 'elasticsearch', ports: [p('http', 9200), p('transport', 9300)], statefulSet: true },
  // Headless without a StatefulSet (a Deployment behind a headless Service): no hostnames.
  { role: 'discovery', ports: [p('grpc', 7946)] },
];

function suffix(r: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += SUFFIX_ALPHABET[Math.floor(r() * SUFFIX_ALPHABET.length)];
  return s;
}

/** Index into `cum` (cumulative weights) for a uniform draw. */
function pick(cum: number[], x: number): number {
  const target = x * cum[cum.length - 1]!;
  let lo = 0;
  let hi = cum.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cum[mid]! > target) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Splits `total` over `weights` in whole numbers that add up exactly (largest remainder). */
export function apportion(total: number, weights: number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum <= 0) return weights.map(() => 0);
  const exact = weights.map((w) => (total * w) / sum);
  const out = exact.map(Math.floor);
  let left = total - out.reduce((a, b) => a + b, 0);
  const order = exact.map((e, i) => [e - Math.floor(e), i] as const).sort((x, y) => y[0] - x[0] || x[1] - y[1]);
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) out[order[k]![1]]!++;
  return out;
}

const MAX_PER_SLICE = 100; // the controller's default --max-endpoints-per-slice

export function syntheticCluster(opts: SyntheticClusterOptions): SyntheticCluster {
  const services = Math.floor(opts.services);
  const endpoints = Math.floor(opts.endpoints);
  if (!(services >= 2)) throw new Error('services must be >= 2 (kubernetes and kube-dns are always there)');
  if (!(endpoints >= 0)) throw new Error('endpoints must be >= 0');
  if (services > SVC_V4_SPAN) throw new Error(`at most ${SVC_V4_SPAN} services fit the ClusterIP range`);
  const o: Required<SyntheticClusterOptions> = {
    services,
    endpoints,
    namespaces: Math.max(2, Math.floor(opts.namespaces ?? Math.ceil(services / 40))),
    headlessShare: opts.headlessShare ?? 0.1,
    dualStackShare: opts.dualStackShare ?? 0.05,
    notReadyShare: opts.notReadyShare ?? 0.03,
    seed: opts.seed ?? 1,
  };
  // Nodes run ≤110 pods (the kubelet default) while that fits the range, else up to 253.
  const podsPerNode = endpoints <= POD_NODES * 110 ? 110 : 253;
  if (endpoints > POD_NODES * podsPerNode) throw new Error(`at most ${POD_NODES * podsPerNode} endpoints fit the pod range`);
  const r = rng(o.seed);

  // Namespaces: default and kube-system, then team/app ones.
  const nsNames = ['default', 'kube-system'];
  for (let i = 0; nsNames.length < o.namespaces; i++) {
    const base = `${TEAMS[i % TEAMS.length]}-${APPS[Math.floor(i / TEAMS.length) % APPS.length]}`;
    const round = Math.floor(i / (TEAMS.length * APPS.length));
    nsNames.push(round === 0 ? base : `${base}-${round}`);
  }
  // A few big namespaces and a long tail, as in real clusters (Zipf-like, s = 0.8); kube-system
  // keeps only kube-dns, as the apps live elsewhere.
  const appNs = nsNames.filter((n) => n !== 'kube-system');
  const nsCum: number[] = [];
  for (let i = 0, acc = 0; i < appNs.length; i++) nsCum.push((acc += 1 / Math.pow(i + 1, 0.8)));

  const headlessCount = o.headlessShare > 0 ? Math.min(services - 2, Math.max(1, Math.round(services * o.headlessShare))) : 0;
  const dualCount = Math.min(65_000, Math.round((services - 2 - headlessCount) * o.dualStackShare));
  // Which Services are headless / dual-stack: spread by a permutation, not the first N.
  const spread = permutation(services - 2, o.seed + 1);
  const svcIP = permutation(SVC_V4_SPAN, o.seed + 2);
  const podSlot = permutation(Math.max(1, endpoints), o.seed + 3);

  interface Plan {
    facts: ServiceFacts;
    profile: Profile;
    dual: boolean;
    weight: number;
  }
  const plans: Plan[] = [];
  const taken = new Map<string, Set<string>>();
  const reserve = (ns: string, name: string): string => {
    let set = taken.get(ns);
    if (!set) taken.set(ns, (set = new Set()));
    let n = name;
    for (let k = 2; set.has(n); k++) n = `${name}-${k}`;
    set.add(n);
    return n;
  };
  reserve('default', 'kubernetes');
  reserve('kube-system', 'kube-dns');
  plans.push({
    facts: { namespace: 'default', name: 'kubernetes', headless: false, clusterIPs: ['10.96.0.1'], ports: [p('https', 443)], endpoints: 0, readyAddresses: [], hostnames: [] },
    profile: { role: 'apiserver', ports: [p('https', 443)] },
    dual: false,
    weight: 0, // its endpoints are the control plane's host IPs, left out here
  });
  plans.push({
    facts: { namespace: 'kube-system', name: 'kube-dns', headless: false, clusterIPs: ['10.96.0.10'], ports: [p('dns', 53, 'UDP'), p('dns-tcp', 53), p('metrics', 9153)], endpoints: 0, readyAddresses: [], hostnames: [] },
    profile: { role: 'dns', ports: [p('dns', 53, 'UDP'), p('dns-tcp', 53), p('metrics', 9153)] },
    dual: false,
    weight: 2,
  });
  let v6Next = 16;
  for (let i = 0; i < services - 2; i++) {
    const slot = spread(i);
    const headless = slot < headlessCount;
    const dual = !headless && slot >= headlessCount && slot < headlessCount + dualCount;
    const ns = appNs[pick(nsCum, r())]!;
    const profile = headless ? STATEFUL[Math.floor(r() * STATEFUL.length)]! : STATELESS[Math.floor(r() * STATELESS.length)]!;
    const name = reserve(ns, `${APPS[Math.floor(r() * APPS.length)]}-${profile.role}`);
    const clusterIPs = headless ? [] : [v4(SVC_V4_BASE + SVC_V4_LOW + svcIP(i))];
    if (dual) clusterIPs.push(`fd00:10:96::${(v6Next++).toString(16)}`);
    // Endpoint counts: a heavy tail for Deployments (most have a few replicas, some hundreds),
    // small and even for StatefulSets.
    const u = Math.max(1e-4, r());
    const weight = headless ? 1 + 2 * u : Math.pow(u, -0.7);
    plans.push({ facts: { namespace: ns, name, headless, clusterIPs, ports: profile.ports.map((x) => ({ ...x })), endpoints: 0, readyAddresses: [], hostnames: [] }, profile, dual, weight });
  }
  const perService = apportion(endpoints, plans.map((x) => x.weight));

  const nsObjects: K8sJson[] = nsNames.map((name) => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'kubernetes.io/metadata.name': name } },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  }));
  const svcObjects: K8sJson[] = [];
  const sliceObjects: K8sJson[] = [];
  const sliceNames = new Set<string>();
  let pod = 0;
  let notReady = 0;
  let addresses = 0;

  for (const [si, plan] of plans.entries()) {
    const f = plan.facts;
    const n = perService[si]!;
    f.endpoints = n;
    const app = f.name;
    const spec: Record<string, unknown> = {
      ports: f.ports.map((x) => {
        const port: Record<string, unknown> = {};
        if (x.name) port.name = x.name;
        port.protocol = x.protocol;
        port.port = x.port;
        port.targetPort = x.name && x.port < 1024 ? x.name : x.port;
        return port;
      }),
      selector: { 'app.kubernetes.io/name': app },
      clusterIP: f.headless ? 'None' : f.clusterIPs[0],
      clusterIPs: f.headless ? ['None'] : [...f.clusterIPs],
      type: 'ClusterIP',
      sessionAffinity: 'None',
      ipFamilies: plan.dual ? ['IPv4', 'IPv6'] : ['IPv4'],
      ipFamilyPolicy: plan.dual ? 'PreferDualStack' : 'SingleStack',
      internalTrafficPolicy: 'Cluster',
    };
    if (f.name === 'kubernetes') delete spec.selector; // the apiserver's endpoints are managed by hand
    svcObjects.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: f.name, namespace: f.namespace, labels: { 'app.kubernetes.io/name': app, 'app.kubernetes.io/part-of': f.namespace } },
      spec,
      status: { loadBalancer: {} },
    });
    if (f.name === 'kubernetes') continue;

    // The pods behind this Service.
    const rsHash = suffix(r, 10);
    const eps: Array<{ v4: string; v6: string; node: string; pod: string; hostname: string; ready: boolean; terminating: boolean }> = [];
    for (let k = 0; k < n; k++, pod++) {
      const s = podSlot(pod);
      const node = Math.floor(s / podsPerNode);
      const host = (s % podsPerNode) + 2;
      const ip = v4(POD_V4_BASE + node * 256 + host);
      const podName = plan.profile.statefulSet ? `${f.name}-${k}` : `${f.name}-${rsHash}-${suffix(r, 5)}`;
      const bad = r() < o.notReadyShare;
      if (bad) notReady++;
      eps.push({
        v4: ip,
        v6: `fd00:10:244:${node.toString(16)}::${host.toString(16)}`,
        node: `node-${node}`,
        pod: podName,
        hostname: plan.profile.statefulSet ? podName : '',
        ready: !bad,
        terminating: bad && r() < 0.5,
      });
    }
    const families: Array<'IPv4' | 'IPv6'> = plan.dual ? ['IPv4', 'IPv6'] : ['IPv4'];
    for (const fam of families) {
      // The controller keeps a (possibly empty) slice for a Service with a selector.
      const chunks = Math.max(1, Math.ceil(n / MAX_PER_SLICE));
      for (let c = 0; c < chunks; c++) {
        let sliceName: string;
        do sliceName = `${f.namespace}/${f.name}-${suffix(r, 5)}`;
        while (sliceNames.has(sliceName));
        sliceNames.add(sliceName);
        const part = eps.slice(c * MAX_PER_SLICE, (c + 1) * MAX_PER_SLICE);
        const endpointsJson = part.map((e) => {
          const out: Record<string, unknown> = {
            addresses: [fam === 'IPv4' ? e.v4 : e.v6],
            conditions: { ready: e.ready, serving: e.ready || !e.terminating, terminating: e.terminating },
          };
          if (e.hostname) out.hostname = e.hostname;
          out.targetRef = { kind: 'Pod', namespace: f.namespace, name: e.pod };
          out.nodeName = e.node;
          out.zone = `zone-${String.fromCharCode(97 + (Number(e.node.slice(5)) % 3))}`;
          return out;
        });
        addresses += part.length;
        sliceObjects.push({
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: {
            name: sliceName.slice(f.namespace.length + 1),
            namespace: f.namespace,
            labels: {
              'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
              'kubernetes.io/service-name': f.name,
              ...(f.headless ? { 'service.kubernetes.io/headless': '' } : {}),
            },
          },
          addressType: fam,
          // The real API writes empty lists as null.
          endpoints: endpointsJson.length ? endpointsJson : null,
          ports: f.ports.map((x) => ({ name: x.name, protocol: x.protocol, port: x.port })),
        });
      }
    }
    for (const e of eps) {
      if (!e.ready) continue;
      f.readyAddresses.push(e.v4);
      if (plan.dual) f.readyAddresses.push(e.v6);
      if (e.hostname) f.hostnames.push(e.hostname);
    }
  }

  return {
    options: o,
    namespaces: nsNames,
    services: plans.map((x) => x.facts),
    objects: [...nsObjects, ...svcObjects, ...sliceObjects],
    counts: {
      namespaces: nsObjects.length,
      services: svcObjects.length,
      headless: headlessCount,
      dualStack: dualCount,
      slices: sliceObjects.length,
      endpoints: pod,
      notReady,
      addresses,
    },
  };
}

// ---- queries ----

export interface QueryMixOptions {
  /** Lines in the list, default 10000 (names repeat in small clusters). */
  count?: number;
  zone?: string;
  seed?: number;
}

/**
 * The query mix, as shares of the list. Each category falls back to `svcA` when the cluster has
 * nothing for it (no headless Service small enough, say), so the list always has `count` lines.
 */
export const QUERY_MIX = {
  /** `<svc>.<ns>.svc.<zone> A` of a ClusterIP Service: one A. */
  svcA: 0.45,
  /** The same names as AAAA, as glibc asks both: NODATA for IPv4-only, an AAAA for dual-stack. */
  svcAAAA: 0.15,
  /** `<svc>.<ns>.svc.<zone> A` of a headless Service with 1–20 ready endpoints (fits 512 bytes). */
  headlessA: 0.08,
  /** `<hostname>.<svc>.<ns>.svc.<zone> A` of a StatefulSet pod. */
  headlessHostA: 0.05,
  /** `_<port>._<proto>.<svc>.<ns>.svc.<zone> SRV` of a ClusterIP Service's named port. */
  srv: 0.07,
  /** Search-path misses (`ndots:5`), all in the zone: NXDOMAIN. */
  nxdomain: 0.2,
} as const;

const EXTERNAL = ['www.google.com', 'api.github.com', 'sts.amazonaws.com', 'registry-1.docker.io', 'login.microsoftonline.com', 'hooks.slack.com'];

/** A dnsperf-style query list for the cluster, in the proportions of QUERY_MIX. */
export function clusterQueries(cluster: SyntheticCluster, opts: QueryMixOptions = {}): QuerySpec[] {
  const count = Math.max(1, Math.floor(opts.count ?? 10_000));
  const zone = (opts.zone ?? 'cluster.local').replace(/\.$/, '');
  const r = rng((opts.seed ?? cluster.options.seed) + 101);
  const any = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  const fq = (f: ServiceFacts): string => `${f.name}.${f.namespace}.svc.${zone}`;
  const clusterIP = cluster.services.filter((f) => !f.headless);
  const headlessSmall = cluster.services.filter((f) => f.headless && f.readyAddresses.length >= 1 && f.readyAddresses.length <= 20);
  const withHosts = cluster.services.filter((f) => f.headless && f.hostnames.length > 0);
  const namedPorts = clusterIP.flatMap((f) => f.ports.filter((x) => x.name).map((x) => ({ f, x })));

  const gen: Record<keyof typeof QUERY_MIX, () => QuerySpec | null> = {
    svcA: () => ({ name: fq(any(clusterIP)), type: 'A' }),
    svcAAAA: () => ({ name: fq(any(clusterIP)), type: 'AAAA' }),
    headlessA: () => (headlessSmall.length ? { name: fq(any(headlessSmall)), type: 'A' } : null),
    headlessHostA: () => {
      if (!withHosts.length) return null;
      const f = any(withHosts);
      return { name: `${any(f.hostnames)}.${fq(f)}`, type: 'A' };
    },
    srv: () => {
      if (!namedPorts.length) return null;
      const { f, x } = any(namedPorts);
      return { name: `_${x.name}._${x.protocol.toLowerCase()}.${fq(f)}`, type: 'SRV' };
    },
    nxdomain: () => {
      const f = any(cluster.services);
      const ext = any(EXTERNAL);
      // The three names a pod with the default search path tries before the real one, and a
      // Service name in the wrong namespace.
      const kind = Math.floor(r() * 4);
      if (kind === 0) return { name: `${ext}.${f.namespace}.svc.${zone}`, type: 'A' };
      if (kind === 1) return { name: `${ext}.svc.${zone}`, type: 'A' };
      if (kind === 2) return { name: `${ext}.${zone}`, type: 'A' };
      return { name: `${f.name}-missing.${f.namespace}.svc.${zone}`, type: 'A' };
    },
  };
  const kinds = Object.keys(QUERY_MIX) as Array<keyof typeof QUERY_MIX>;
  const shares = apportion(count, kinds.map((k) => QUERY_MIX[k]));
  const out: QuerySpec[] = [];
  for (const [i, k] of kinds.entries()) {
    for (let j = 0; j < shares[i]!; j++) out.push(gen[k]() ?? gen.svcA()!);
  }
  // Interleave the categories (Fisher–Yates with the seeded PRNG), so every window of the
  // list has the same mix.
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export function formatQueries(queries: QuerySpec[]): string {
  return queries.map((q) => `${q.name} ${q.type}\n`).join('');
}

// ---- files ----

/**
 * Writes the cluster as `List` manifests (JSON, one object a line, so a loader error's line
 * number points at one object): 00-namespaces.json, 10-services.json, 20-endpointslices-NNN.json
 * (`perFile` slices each). Returns the files written.
 */
export function writeManifests(cluster: SyntheticCluster, dir: string, perFile = 2000): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const write = (name: string, items: K8sJson[]): void => {
    const file = path.join(dir, name);
    const body = items.map((x) => JSON.stringify(x)).join(',\n');
    fs.writeFileSync(file, `{"apiVersion":"v1","kind":"List","metadata":{},"items":[\n${body}\n]}\n`);
    files.push(file);
  };
  const byKind = (k: string): K8sJson[] => cluster.objects.filter((x) => x.kind === k);
  write('00-namespaces.json', byKind('Namespace'));
  write('10-services.json', byKind('Service'));
  const slices = byKind('EndpointSlice');
  for (let i = 0, n = 0; i < slices.length || i === 0; i += perFile, n++) {
    write(`20-endpointslices-${String(n).padStart(3, '0')}.json`, slices.slice(i, i + perFile));
    if (slices.length === 0) break;
  }
  return files;
}

const USAGE = `usage: node bench/synthetic-cluster.ts --services N --endpoints N --out DIR
  [--namespaces N] [--headless-share 0.1] [--dual-stack-share 0.05] [--not-ready-share 0.03]
  [--seed 1] [--queries 10000] [--zone cluster.local]
writes DIR/manifests/*.json and DIR/queries.txt`;

function cli(): void {
  const { values } = parseArgs({
    options: {
      services: { type: 'string' },
      endpoints: { type: 'string' },
      namespaces: { type: 'string' },
      'headless-share': { type: 'string' },
      'dual-stack-share': { type: 'string' },
      'not-ready-share': { type: 'string' },
      seed: { type: 'string' },
      queries: { type: 'string' },
      zone: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || !values.services || !values.endpoints || !values.out) {
    console.log(USAGE);
    process.exit(values.help ? 0 : 2);
  }
  const num = (s: string | undefined): number | undefined => (s === undefined ? undefined : Number(s));
  const cluster = syntheticCluster({
    services: Number(values.services),
    endpoints: Number(values.endpoints),
    namespaces: num(values.namespaces),
    headlessShare: num(values['headless-share']),
    dualStackShare: num(values['dual-stack-share']),
    notReadyShare: num(values['not-ready-share']),
    seed: num(values.seed),
  });
  const manifests = path.join(values.out, 'manifests');
  // Old files from a bigger run would be read as part of this cluster.
  fs.rmSync(manifests, { recursive: true, force: true });
  const files = writeManifests(cluster, manifests);
  const queries = clusterQueries(cluster, { count: num(values.queries), zone: values.zone });
  const qfile = path.join(values.out, 'queries.txt');
  fs.writeFileSync(qfile, formatQueries(queries));
  const c = cluster.counts;
  console.log(`${c.services} services (${c.headless} headless, ${c.dualStack} dual-stack) in ${c.namespaces} namespaces, ${c.endpoints} endpoints (${c.notReady} not ready) in ${c.slices} slices`);
  console.log(`${files.length} manifest files in ${manifests}`);
  console.log(`${queries.length} queries in ${qfile}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    cli();
  } catch (err) {
    console.error(`synthetic-cluster: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
