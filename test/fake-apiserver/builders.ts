// Builders for objects shaped as the real API server returns them (field names, defaults, nulls).
// The server fills in metadata (uid, resourceVersion, creationTimestamp) and, for Services without
// a clusterIP, allocates one from 10.96.0.0/12 (or fd00:10:96::/112), as the real one does.
import type { K8sObject } from './resources.ts';

export interface ServicePortSpec {
  name?: string;
  port: number;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  targetPort?: number | string;
  nodePort?: number;
  appProtocol?: string;
}

export interface ServiceSpec {
  name: string;
  ns?: string;
  /** 'None' makes the service headless. Left out: the server allocates one. */
  clusterIP?: string;
  clusterIPs?: string[];
  /** Numbers are TCP ports named after nothing; objects give every field. */
  ports?: Array<number | ServicePortSpec>;
  type?: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
  externalName?: string;
  selector?: Record<string, string>;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  publishNotReadyAddresses?: boolean;
  ipFamilies?: Array<'IPv4' | 'IPv6'>;
  ipFamilyPolicy?: 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';
  externalIPs?: string[];
  /** status.loadBalancer.ingress, for LoadBalancer services. */
  loadBalancerIngress?: Array<{ ip?: string; hostname?: string }>;
}

function family(ip: string): 'IPv4' | 'IPv6' {
  return ip.includes(':') ? 'IPv6' : 'IPv4';
}

function meta(name: string, ns: string | undefined, labels?: Record<string, string>, annotations?: Record<string, string>): K8sObject['metadata'] {
  const m: K8sObject['metadata'] = { name };
  if (ns !== undefined) m.namespace = ns;
  if (labels && Object.keys(labels).length) m.labels = { ...labels };
  if (annotations && Object.keys(annotations).length) m.annotations = { ...annotations };
  return m;
}

export function service(o: ServiceSpec): K8sObject {
  const type = o.type ?? (o.externalName !== undefined ? 'ExternalName' : 'ClusterIP');
  const spec: Record<string, unknown> = {};
  if (o.ports && o.ports.length) {
    spec.ports = o.ports.map((p) => {
      const q = typeof p === 'number' ? { port: p } : p;
      const out: Record<string, unknown> = {};
      if (q.name !== undefined) out.name = q.name;
      out.protocol = q.protocol ?? 'TCP';
      if (q.appProtocol !== undefined) out.appProtocol = q.appProtocol;
      out.port = q.port;
      out.targetPort = q.targetPort ?? q.port;
      if (q.nodePort !== undefined) out.nodePort = q.nodePort;
      return out;
    });
  }
  if (o.selector) spec.selector = { ...o.selector };
  if (type !== 'ExternalName') {
    const ips = o.clusterIPs ?? (o.clusterIP !== undefined ? [o.clusterIP] : undefined);
    if (ips && ips.length) {
      spec.clusterIP = o.clusterIP ?? ips[0];
      spec.clusterIPs = [...ips];
    }
    if (o.externalIPs) spec.externalIPs = [...o.externalIPs];
  }
  spec.type = type;
  if (type === 'ExternalName') spec.externalName = o.externalName ?? '';
  spec.sessionAffinity = 'None';
  if (o.publishNotReadyAddresses) spec.publishNotReadyAddresses = true;
  if (type !== 'ExternalName') {
    const ips = spec.clusterIPs as string[] | undefined;
    const fams = o.ipFamilies ?? (ips && ips[0] !== 'None' ? ips.map(family) : ips ? ['IPv4' as const] : undefined);
    if (fams) spec.ipFamilies = [...fams];
    spec.ipFamilyPolicy = o.ipFamilyPolicy ?? ((fams?.length ?? 1) > 1 ? 'PreferDualStack' : 'SingleStack');
    spec.internalTrafficPolicy = 'Cluster';
  }
  const status = { loadBalancer: o.loadBalancerIngress ? { ingress: o.loadBalancerIngress.map((i) => ({ ...i })) } : {} };
  return { apiVersion: 'v1', kind: 'Service', metadata: meta(o.name, o.ns ?? 'default', o.labels, o.annotations), spec, status };
}

export interface EndpointSpec {
  addresses: string[];
  /** conditions.ready; default true. */
  ready?: boolean;
  /** conditions.serving; default: ready. */
  serving?: boolean;
  /** conditions.terminating; default false. */
  terminating?: boolean;
  hostname?: string;
  nodeName?: string;
  zone?: string;
  /** Usually the Pod behind the endpoint; the namespace defaults to the slice's. */
  targetRef?: { kind?: string; name: string; namespace?: string; uid?: string };
}

export interface EndpointSlicePortSpec {
  name?: string;
  port: number;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  appProtocol?: string;
}

export interface EndpointSliceSpec {
  /** Default: `<service>-<5 random letters>`, as the endpointslice controller names them. */
  name?: string;
  ns?: string;
  service: string;
  addressType?: 'IPv4' | 'IPv6' | 'FQDN';
  endpoints?: EndpointSpec[];
  ports?: Array<number | EndpointSlicePortSpec>;
  labels?: Record<string, string>;
}

const SUFFIX = 'bcdfghjklmnpqrstvwxz2456789';
let sliceCounter = 0;
function suffix(): string {
  // Deterministic within a process, spread like the controller's random ones.
  let n = (++sliceCounter * 2654435761) >>> 0;
  let s = '';
  for (let i = 0; i < 5; i++) {
    s += SUFFIX[n % SUFFIX.length];
    n = Math.floor(n / SUFFIX.length);
  }
  return s;
}

export function endpointSlice(o: EndpointSliceSpec): K8sObject {
  const ns = o.ns ?? 'default';
  const labels = {
    'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
    'kubernetes.io/service-name': o.service,
    ...(o.labels ?? {}),
  };
  const metadata = meta(o.name ?? `${o.service}-${suffix()}`, ns, labels);
  if (o.name === undefined) metadata.generateName = `${o.service}-`;
  const endpoints = (o.endpoints ?? []).map((e) => {
    const ready = e.ready ?? true;
    const out: Record<string, unknown> = {
      addresses: [...e.addresses],
      conditions: { ready, serving: e.serving ?? ready, terminating: e.terminating ?? false },
    };
    if (e.hostname !== undefined) out.hostname = e.hostname;
    if (e.targetRef) out.targetRef = { kind: e.targetRef.kind ?? 'Pod', namespace: e.targetRef.namespace ?? ns, name: e.targetRef.name, ...(e.targetRef.uid ? { uid: e.targetRef.uid } : {}) };
    if (e.nodeName !== undefined) out.nodeName = e.nodeName;
    if (e.zone !== undefined) out.zone = e.zone;
    return out;
  });
  const ports = (o.ports ?? []).map((p) => {
    const q = typeof p === 'number' ? { port: p } : p;
    const out: Record<string, unknown> = { name: q.name ?? '', protocol: q.protocol ?? 'TCP', port: q.port };
    if (q.appProtocol !== undefined) out.appProtocol = q.appProtocol;
    return out;
  });
  // The real API writes empty endpoints and ports lists as null.
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata,
    addressType: o.addressType ?? (o.endpoints?.[0]?.addresses[0] && family(o.endpoints[0].addresses[0]) === 'IPv6' ? 'IPv6' : 'IPv4'),
    endpoints: endpoints.length ? endpoints : null,
    ports: ports.length ? ports : null,
  };
}

export function namespace(name: string, labels?: Record<string, string>): K8sObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: meta(name, undefined, { ...(labels ?? {}), 'kubernetes.io/metadata.name': name }),
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
}

export interface PodSpec {
  name: string;
  ns?: string;
  /** status.podIP; default: the first of `ips`. */
  ip?: string;
  ips?: string[];
  labels?: Record<string, string>;
  nodeName?: string;
  hostname?: string;
  subdomain?: string;
  hostNetwork?: boolean;
  phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
}

export function pod(o: PodSpec): K8sObject {
  const ips = o.ips ?? (o.ip !== undefined ? [o.ip] : []);
  const ip = o.ip ?? ips[0];
  const spec: Record<string, unknown> = {
    containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10', resources: {}, terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File', imagePullPolicy: 'IfNotPresent' }],
    restartPolicy: 'Always',
    terminationGracePeriodSeconds: 30,
    dnsPolicy: 'ClusterFirst',
    serviceAccountName: 'default',
  };
  if (o.nodeName !== undefined) spec.nodeName = o.nodeName;
  if (o.hostNetwork) spec.hostNetwork = true;
  if (o.hostname !== undefined) spec.hostname = o.hostname;
  if (o.subdomain !== undefined) spec.subdomain = o.subdomain;
  spec.schedulerName = 'default-scheduler';
  const status: Record<string, unknown> = { phase: o.phase ?? 'Running' };
  if (ip !== undefined) {
    status.podIP = ip;
    status.podIPs = ips.map((i) => ({ ip: i }));
  }
  return { apiVersion: 'v1', kind: 'Pod', metadata: meta(o.name, o.ns ?? 'default', o.labels), spec, status };
}
