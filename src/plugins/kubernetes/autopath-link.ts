// What `autopath @kubernetes` needs from the kubernetes plugin of its server block. autopath's
// setup runs first (directive order) and leaves a request here under the server's key; the
// kubernetes setup that follows fills it in. Worker configs are cloned only once the whole plan
// is built, so the filled-in request reaches the workers with autopath's config.
import { readResolvConfFile, searchDomains } from '../../config/resolv-conf.ts';

export interface KubernetesSearch {
  /** The kubernetes plugin's record table: its PTRs and pod names tell a client's namespace. */
  tableId: string;
  /** Its forward zones (canonical): `<ns>.svc.<zone>`, `svc.<zone>`, `<zone>` start the search path. */
  zones: string[];
  /** `pods verified`: the table holds `<address>.<ns>.pod.<zone>` for every running pod too. */
  podsVerified: boolean;
  /** The host's own search domains (its /etc/resolv.conf), after the cluster's, as CoreDNS's kubelet-style list. */
  hostSearch: string[];
}

export interface AutopathRequest {
  kubernetes: KubernetesSearch | null;
}

const requested = new Map<string, AutopathRequest>();

export function requestKubernetesSearch(serverKey: string): AutopathRequest {
  const r: AutopathRequest = { kubernetes: null };
  requested.set(serverKey, r);
  return r;
}

export function takeAutopathRequest(serverKey: string): AutopathRequest | null {
  const r = requested.get(serverKey) ?? null;
  requested.delete(serverKey);
  return r;
}

/** The host's search domains: none when its resolv.conf cannot be read. */
export function hostSearchDomains(): string[] {
  const file = readResolvConfFile(hostResolvConf());
  return 'error' in file ? [] : searchDomains(file.lines);
}

/**
 * The host's resolv.conf, whose search domains follow the cluster's in the search path. Tests
 * (KDNS_TEST_HOOKS=1) may name another file, as they cannot write /etc/resolv.conf.
 */
function hostResolvConf(): string {
  if (process.env.KDNS_TEST_HOOKS === '1' && process.env.KDNS_TEST_HOST_RESOLV_CONF) return process.env.KDNS_TEST_HOST_RESOLV_CONF;
  return '/etc/resolv.conf';
}
