// Inside a scenario (test/helpers/netns.ts): the fake API server behind TLS, reached the way a
// pod reaches the real one (a service account's token and CA, KUBERNETES_SERVICE_HOST/PORT).
import { readFileSync } from 'node:fs';
import { type K8sObject, startFakeApiServer } from '../fake-apiserver/index.ts';
import { makeCertificates } from './certificates.ts';
import { httpsFront } from './https-front.ts';
import { serviceAccount } from './netns.ts';
import { tempDir } from './server-process.ts';

const TOKEN = 'kdns-service-account-token';

/**
 * Starts it holding `objects`, mounts the service account, and returns the environment that
 * points kdns at it. What it starts goes onto `cleanup`, to be stopped last first.
 */
export async function inClusterApi(objects: K8sObject[], cleanup: Array<() => Promise<unknown> | void>): Promise<Record<string, string>> {
  const api = await startFakeApiServer({ token: TOKEN });
  cleanup.push(() => api.stop());
  await api.client.bulk(objects);
  const certs = makeCertificates(tempDir());
  const front = await httpsFront(api.port, certs);
  cleanup.push(() => front.close());
  serviceAccount({ token: TOKEN, caCrt: readFileSync(certs.ca, 'utf8') });
  return { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(front.port) };
}
