// What a source of cluster state (the API server's list/watch, or manifest files) feeds: trimmed
// objects only, so nothing downstream ever holds a full API object.
import type { EndpointSliceInfo, NamespaceInfo, PodInfo, ServiceInfo } from './model.ts';

export interface ClusterSink {
  upsertService(svc: ServiceInfo): void;
  deleteService(namespace: string, name: string): void;
  upsertSlice(slice: EndpointSliceInfo): void;
  deleteSlice(namespace: string, name: string): void;
  upsertNamespace(ns: NamespaceInfo): void;
  deleteNamespace(name: string): void;
  upsertPod(pod: PodInfo): void;
  deletePod(namespace: string, name: string): void;
  /** The source has delivered a complete, consistent view once (first list done). */
  synced(): void;
}
