// The resources the fake API server serves, with the names, kinds and selectable fields that the
// real API server gives them.

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string | null;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

/** Any Kubernetes object as JSON. */
export interface K8sObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

export interface ResourceDef {
  /** URL name: `services`. */
  plural: string;
  singular: string;
  kind: string;
  listKind: string;
  /** '' for the core group. */
  group: string;
  version: string;
  /** `v1` or `discovery.k8s.io/v1`. */
  apiVersion: string;
  namespaced: boolean;
  shortNames: string[];
  /** Field selector fields beyond metadata.name and metadata.namespace. */
  fields: Record<string, (o: K8sObject) => string>;
}

type Json = Record<string, unknown>;

function path(o: K8sObject, ...keys: string[]): unknown {
  let cur: unknown = o;
  for (const k of keys) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Json)[k];
  }
  return cur;
}

function str(v: unknown): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'string' ? v : String(v);
}

const s =
  (...keys: string[]) =>
  (o: K8sObject): string =>
    str(path(o, ...keys));

function def(d: Omit<ResourceDef, 'apiVersion' | 'listKind' | 'singular'> & { singular?: string }): ResourceDef {
  return {
    ...d,
    singular: d.singular ?? d.kind.toLowerCase(),
    apiVersion: d.group ? `${d.group}/${d.version}` : d.version,
    listKind: `${d.kind}List`,
  };
}

export const RESOURCES: readonly ResourceDef[] = [
  def({
    plural: 'namespaces',
    kind: 'Namespace',
    group: '',
    version: 'v1',
    namespaced: false,
    shortNames: ['ns'],
    fields: { 'status.phase': s('status', 'phase') },
  }),
  def({
    plural: 'services',
    kind: 'Service',
    group: '',
    version: 'v1',
    namespaced: true,
    shortNames: ['svc'],
    fields: { 'spec.clusterIP': s('spec', 'clusterIP'), 'spec.type': s('spec', 'type') },
  }),
  def({
    plural: 'endpoints',
    kind: 'Endpoints',
    singular: 'endpoints',
    group: '',
    version: 'v1',
    namespaced: true,
    shortNames: ['ep'],
    fields: {},
  }),
  def({
    plural: 'pods',
    kind: 'Pod',
    group: '',
    version: 'v1',
    namespaced: true,
    shortNames: ['po'],
    fields: {
      'spec.nodeName': s('spec', 'nodeName'),
      'spec.restartPolicy': s('spec', 'restartPolicy'),
      'spec.schedulerName': s('spec', 'schedulerName'),
      'spec.serviceAccountName': s('spec', 'serviceAccountName'),
      'spec.hostNetwork': (o) => (path(o, 'spec', 'hostNetwork') === true ? 'true' : 'false'),
      'status.phase': s('status', 'phase'),
      'status.podIP': s('status', 'podIP'),
      'status.nominatedNodeName': s('status', 'nominatedNodeName'),
    },
  }),
  def({
    plural: 'endpointslices',
    kind: 'EndpointSlice',
    group: 'discovery.k8s.io',
    version: 'v1',
    namespaced: true,
    shortNames: [],
    fields: {},
  }),
];

/** Finds a resource by kind (`Service`), plural (`services`), singular or short name, any case. */
export function findResource(name: string): ResourceDef | undefined {
  const n = name.toLowerCase();
  return RESOURCES.find((r) => r.plural === n || r.kind.toLowerCase() === n || r.singular === n || r.shortNames.includes(n));
}

export function fieldNames(d: ResourceDef): string[] {
  return ['metadata.name', 'metadata.namespace', ...Object.keys(d.fields)];
}

export function fieldGetter(d: ResourceDef, o: K8sObject): (field: string) => string {
  return (field) => {
    if (field === 'metadata.name') return str(o.metadata.name);
    if (field === 'metadata.namespace') return d.namespaced ? str(o.metadata.namespace) : '';
    const g = d.fields[field];
    return g ? g(o) : '';
  };
}

/** The key objects are ordered by in lists, as etcd orders them: `ns/name`, or `name` when cluster-scoped. */
export function objectKey(d: ResourceDef, namespace: string | undefined, name: string): string {
  return d.namespaced ? `${namespace ?? ''}/${name}` : name;
}
