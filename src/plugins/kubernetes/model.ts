// The trimmed cluster state the kubernetes plugin keeps: only the fields DNS needs, so the
// primary stays small at 10,000 Services / 100,000 endpoints (full API objects are never kept).

export interface ServicePort {
  name: string;
  port: number;
  /** Lower-case: tcp, udp, sctp. */
  protocol: string;
}

export interface ServiceInfo {
  namespace: string;
  name: string;
  /** ClusterIP, NodePort, LoadBalancer (all answered by ClusterIP), ExternalName. */
  type: string;
  /** Every ClusterIP (dual-stack); empty with `headless`. */
  clusterIPs: string[];
  headless: boolean;
  externalName: string;
  ports: ServicePort[];
  publishNotReadyAddresses: boolean;
  /**
   * spec.externalIPs, then each status.loadBalancer.ingress entry's ip, or its hostname when it
   * has none (as CoreDNS's object.Service keeps them): what k8s_external serves. Most Services
   * have none and share one empty array.
   */
  externalAddresses: readonly string[];
}

const NO_ADDRESSES: readonly string[] = Object.freeze([]);

export interface EndpointInfo {
  addresses: string[];
  /** EndpointSlice conditions.ready; an unset condition counts as ready (API semantics). */
  ready: boolean;
  hostname: string;
  /** targetRef.name when it refers to a Pod (for `endpoint_pod_names`). */
  podName: string;
}

export interface EndpointSliceInfo {
  namespace: string;
  name: string;
  /** The kubernetes.io/service-name label. */
  service: string;
  addressType: string;
  /**
   * The endpoints packed into one flat string (packEndpoints; read with endpointsOf): objects per
   * endpoint (EndpointInfo, its address array and strings) cost ~270 bytes each, ~27 MiB of the
   * primary at 100,000 endpoints (issue 13); the packed string ~45 bytes. They are read only when
   * the Service's records are made.
   */
  packedEndpoints: string;
  ports: ServicePort[];
  /**
   * The `endpoints.kubernetes.io/last-change-trigger-time` annotation (ms since the epoch): when
   * the change the endpoint controller wrote this for happened (for
   * coredns_kubernetes_dns_programming_duration_seconds). Absent without a valid annotation.
   */
  triggerTime?: number;
}

/** api.EndpointsLastChangeTriggerTime (k8s.io/api/core/v1), set on EndpointSlices too. */
export const TRIGGER_TIME_ANNOTATION = 'endpoints.kubernetes.io/last-change-trigger-time';

type Json = Record<string, unknown>;
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const arr = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);
const obj = (v: unknown): Json => (v !== null && typeof v === 'object' ? (v as Json) : {});

function portsOf(list: unknown): ServicePort[] {
  return arr(list).map((p) => ({ name: str(p.name), port: Number(p.port ?? 0), protocol: (str(p.protocol) || 'TCP').toLowerCase() }));
}

/** Keeps what DNS needs of a core/v1 Service. */
export function trimService(o: Json): ServiceInfo {
  const meta = obj(o.metadata);
  const spec = obj(o.spec);
  const ips = arr(spec.clusterIPs).map(String);
  const clusterIP = str(spec.clusterIP);
  const all = ips.length ? ips : clusterIP ? [clusterIP] : [];
  const headless = clusterIP === 'None' || all.includes('None');
  return {
    namespace: str(meta.namespace),
    name: str(meta.name),
    type: str(spec.type) || 'ClusterIP',
    clusterIPs: headless ? [] : all.filter((ip) => ip !== ''),
    headless,
    externalName: str(spec.externalName),
    ports: portsOf(spec.ports),
    publishNotReadyAddresses: spec.publishNotReadyAddresses === true,
    externalAddresses: externalAddressesOf(spec, obj(o.status)),
  };
}

function externalAddressesOf(spec: Json, status: Json): readonly string[] {
  const out = arr(spec.externalIPs).map(String).filter((a) => a !== '');
  for (const lb of arr(obj(status.loadBalancer).ingress)) {
    const a = str(lb.ip) || str(lb.hostname);
    if (a !== '') out.push(a);
  }
  return out.length === 0 ? NO_ADDRESSES : out;
}

/** Keeps what DNS needs of a discovery.k8s.io/v1 EndpointSlice. */
export function trimEndpointSlice(o: Json): EndpointSliceInfo {
  const meta = obj(o.metadata);
  const labels = obj(meta.labels);
  const slice: EndpointSliceInfo = {
    namespace: str(meta.namespace),
    name: str(meta.name),
    service: str(labels['kubernetes.io/service-name']),
    addressType: str(o.addressType),
    packedEndpoints: packEndpoints(arr(o.endpoints).map((e) => {
      const ref = obj(e.targetRef);
      return {
        addresses: arr(e.addresses).map(String),
        ready: obj(e.conditions).ready !== false,
        hostname: str(e.hostname),
        podName: str(ref.kind) === 'Pod' ? str(ref.name) : '',
      };
    })),
    ports: portsOf(o.ports),
  };
  // RFC 3339 (the controller writes RFC3339Nano); unparsable: no measurement (CoreDNS logs and skips).
  const trigger = str(obj(meta.annotations)[TRIGGER_TIME_ANNOTATION]);
  if (trigger !== '') {
    const t = Date.parse(trigger);
    if (Number.isFinite(t)) slice.triggerTime = t;
  }
  return slice;
}

// Packed form: endpoints separated by newlines, each `<1|0 ready><address,address...>` TAB
// hostname TAB pod name. None of these can hold a separator: the API server validates addresses
// as IPs or FQDNs, hostnames as DNS labels and pod names as DNS subdomains. A value that does
// anyway (a hand-written manifest) would make no valid DNS name: it is left out (an address) or
// read as empty (a hostname or pod name: the endpoint is then named by its address).
const SEPARATORS = /[\t\n,]/;
const clean = (v: string): string => (SEPARATORS.test(v) ? '' : v);

export function packEndpoints(list: readonly EndpointInfo[]): string {
  return list
    .map((e) => `${e.ready ? '1' : '0'}${e.addresses.filter((a) => !SEPARATORS.test(a)).join(',')}\t${clean(e.hostname)}\t${clean(e.podName)}`)
    .join('\n');
}

/** The slice's endpoints as objects (made per call, for the moment a Service's records are made). */
/** How many endpoints a slice holds, without unpacking them (one a line). */
export function endpointCount(slice: EndpointSliceInfo): number {
  const packed = slice.packedEndpoints;
  if (packed === '') return 0;
  let n = 1;
  for (let at = packed.indexOf('\n'); at >= 0; at = packed.indexOf('\n', at + 1)) n++;
  return n;
}

export function endpointsOf(slice: EndpointSliceInfo): EndpointInfo[] {
  const packed = slice.packedEndpoints;
  if (packed === '') return [];
  return packed.split('\n').map((line) => {
    const tab1 = line.indexOf('\t');
    const tab2 = line.indexOf('\t', tab1 + 1);
    const list = line.slice(1, tab1);
    return {
      ready: line.charCodeAt(0) === 0x31,
      addresses: list === '' ? [] : list.split(','),
      hostname: line.slice(tab1 + 1, tab2),
      podName: line.slice(tab2 + 1),
    };
  });
}

export interface NamespaceInfo {
  name: string;
  labels: Record<string, string>;
}

export interface PodInfo {
  namespace: string;
  name: string;
  /** status.podIPs (or status.podIP): the addresses `pods verified` answers for. */
  ips: string[];
}

/** `metadata.labels` as a plain string map (anything else in it is ignored). */
export function labelMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(v)) return out;
  for (const [k, val] of Object.entries(obj(v))) if (typeof val === 'string') out[k] = val;
  return out;
}

/** Keeps what DNS needs of a core/v1 Namespace (its name, and labels for `namespace_labels`). */
export function trimNamespace(o: Json): NamespaceInfo {
  const meta = obj(o.metadata);
  return { name: str(meta.name), labels: labelMap(meta.labels) };
}

/** Pods that have finished or whose state is unknown are not answered for (as CoreDNS). */
const GONE_PHASES = new Set(['Succeeded', 'Failed', 'Unknown']);

/** Keeps what DNS needs of a core/v1 Pod (no addresses once it has finished). */
export function trimPod(o: Json): PodInfo {
  const meta = obj(o.metadata);
  const status = obj(o.status);
  if (GONE_PHASES.has(str(status.phase))) return { namespace: str(meta.namespace), name: str(meta.name), ips: [] };
  const listed = arr(status.podIPs).map((p) => str(p.ip)).filter((ip) => ip !== '');
  const single = str(status.podIP);
  return { namespace: str(meta.namespace), name: str(meta.name), ips: listed.length ? listed : single ? [single] : [] };
}
