// A fake Kubernetes API server for tests: list and watch of Services, Endpoints, EndpointSlices,
// Pods and Namespaces with the real server's semantics. See README.md in this folder.
export { FakeApiClient, FakeApiError, startFakeApiServer, MAIN, type BulkResult, type ObjectRef, type RunningFakeApiServer, type StartOptions } from './client.ts';
export { endpointSlice, namespace, pod, service, type EndpointSliceSpec, type EndpointSpec, type PodSpec, type ServiceSpec } from './builders.ts';
export type { K8sObject, ObjectMeta } from './resources.ts';
export type { PauseMode, Stats } from './server.ts';
