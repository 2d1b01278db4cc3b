// Kubernetes DNS-Based Service Discovery 1.1.0: the records one Service (with its
// EndpointSlices) puts in the cluster zone and the reverse zones, plus what CoreDNS answers
// where the spec is silent (COREDNS-BEHAVIOUR.md beside this file). Pure functions of the
// trimmed model, so a change to one Service or slice recomputes only that Service's records.
import { isIP } from 'node:net';
import type { RR } from '../../table/entry.ts';
import { reverseName } from '../../dns/ip.ts';
import { type EndpointInfo, type EndpointSliceInfo, type ServiceInfo, type ServicePort, endpointsOf } from './model.ts';

export interface RecordOptions {
  zone: string;
  ttl: number;
  endpointPodNames: boolean;
  /** Is this PTR name inside a reverse zone the plugin serves? (PTRs outside are not made.) */
  inReverseZone: (ptrName: string) => boolean;
}

/** A DNS label is at most 63 bytes (RFC 1035 2.3.4): longer pod names are not used as names. */
const MAX_LABEL = 63;

/**
 * `10.244.1.5` -> `10-244-1-5`, `fd00::1` -> `fd00--1` (the spec's hostname for an address).
 * A label cannot end in a dash, so `fd00::` becomes `fd00--0`, as CoreDNS writes it.
 */
export function dashedAddress(ip: string): string {
  const dashed = isIP(ip) === 6 ? ip.replaceAll(':', '-') : ip.replaceAll('.', '-');
  return dashed.endsWith('-') ? `${dashed}0` : dashed;
}

/** The name label of an endpoint: its hostname, else (endpoint_pod_names) its pod, else its address. */
export function endpointLabel(ep: EndpointInfo, ip: string, endpointPodNames: boolean): string {
  if (ep.hostname) return ep.hostname;
  if (endpointPodNames && ep.podName && ep.podName.length <= MAX_LABEL && !ep.podName.includes('.')) return ep.podName;
  return dashedAddress(ip);
}

/**
 * Labels joined into one flat string. `a + '.' + b` makes a rope (ConsString) that V8 flattens
 * into a second copy the first time it is hashed, keeping both; join() builds the flat string
 * once. ~30 bytes saved per name, which at 270,000 names is ~8 MiB of the primary's heap.
 */
export function flatName(...labels: string[]): string {
  return labels.join('.');
}

export function address(name: string, ip: string, ttl: number): RR {
  return { name, type: isIP(ip) === 6 ? 'AAAA' : 'A', ttl, data: ip };
}

export function srv(name: string, port: number, target: string, ttl: number): RR {
  return { name, type: 'SRV', ttl, data: { priority: 0, weight: 100, port, target } };
}

/** Every record of one Service in `opts.zone` and the reverse zones. */
export function serviceRecords(svc: ServiceInfo, slices: EndpointSliceInfo[], opts: RecordOptions): RR[] {
  const base = flatName(svc.name, svc.namespace, 'svc', opts.zone);
  const { ttl } = opts;
  const out: RR[] = [];
  const ptr = (ip: string, target: string): void => {
    const name = reverseName(ip);
    if (opts.inReverseZone(name)) out.push({ name, type: 'PTR', ttl, data: target });
  };
  // SRV names: `_<port>._<proto>.<svc>` for named ports (spec), and the service name itself for
  // every port, unnamed ones included (CoreDNS answers SRV at the bare name that way).
  const srvNames = (p: ServicePort): string[] => (p.name ? [flatName(`_${p.name}`, `_${p.protocol}`, base), base] : [base]);

  if (svc.type === 'ExternalName') {
    // An IP address is not a name to point a CNAME at; CoreDNS serves nothing for it.
    if (svc.externalName && isIP(svc.externalName) === 0) {
      out.push({ name: base, type: 'CNAME', ttl, data: svc.externalName.endsWith('.') ? svc.externalName : `${svc.externalName}.` });
    }
    return out;
  }
  if (!svc.headless) {
    for (const ip of svc.clusterIPs) {
      out.push(address(base, ip, ttl));
      ptr(ip, base);
    }
    // One candidate per ClusterIP and port, as CoreDNS makes them: a dual-stack Service's two
    // candidates fold into one record below, but both count towards the weight.
    for (let i = 0; i < Math.max(1, svc.clusterIPs.length); i++) {
      for (const p of svc.ports) for (const name of srvNames(p)) out.push(srv(name, p.port, base, ttl));
    }
  }
  // Endpoints: the service's own addresses when headless, and for every service a name per ready
  // endpoint (`<host>.<svc>...`) with a PTR to it, as CoreDNS resolves them.
  for (const slice of slices) {
    for (const ep of endpointsOf(slice)) {
      if (!ep.ready && !svc.publishNotReadyAddresses) continue;
      for (const ip of ep.addresses) {
        if (isIP(ip) === 0) continue; // FQDN slices
        const hostName = flatName(endpointLabel(ep, ip, opts.endpointPodNames), base);
        out.push(address(hostName, ip, ttl));
        ptr(ip, hostName);
        if (!svc.headless) continue;
        out.push(address(base, ip, ttl));
        for (const p of slice.ports) for (const name of srvNames(p)) out.push(srv(name, p.port, hostName, ttl));
      }
    }
  }
  // Weights from the candidates, then duplicates folded: CoreDNS's order (backend_lookup.go
  // counts the services of a priority, the message is deduplicated afterwards).
  return dedupeSrv(spreadSrvWeights(out));
}

/** The same target and port twice (an address in two slices, a dual-stack ClusterIP) is one SRV record. */
export function dedupeSrv(rrs: RR[]): RR[] {
  const seen = new Set<string>();
  return rrs.filter((rr) => {
    if (rr.type !== 'SRV') return true;
    const d = rr.data as { port: number; target: string };
    const k = `${rr.name} ${d.target} ${d.port}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * SRV records at one name share a weight of 100: floor(100 / n) each, at least 1, priority 0,
 * as CoreDNS gives them, so clients that pick by weight (RFC 2782) spread evenly. n counts the
 * candidates before duplicates are folded, as CoreDNS does (a headless Service whose 5 targets
 * hold 6 addresses gets 16, not 20).
 */
export function spreadSrvWeights(rrs: RR[]): RR[] {
  const count = new Map<string, number>();
  for (const rr of rrs) if (rr.type === 'SRV') count.set(rr.name, (count.get(rr.name) ?? 0) + 1);
  for (const rr of rrs) {
    if (rr.type === 'SRV') (rr.data as { weight: number }).weight = Math.max(1, Math.floor(100 / count.get(rr.name)!));
  }
  return rrs;
}
