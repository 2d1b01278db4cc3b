// The records one Service puts in a k8s_external zone: its external addresses (spec.externalIPs
// and the load balancer's ingress) under `<svc>.<ns>.<zone>`, SRV for its ports, PTRs in the
// zone's reverse zones, and with `headless` a headless Service's endpoints. Answers as CoreDNS
// 1.12.2 gives them, measured side by side (README.md lists where kdns differs).
import { isIP } from 'node:net';
import { reverseName } from '../../dns/ip.ts';
import type { RR } from '../../table/entry.ts';
import { type EndpointSliceInfo, type ServiceInfo, type ServicePort, endpointsOf } from '../kubernetes/model.ts';
import { address as addressRecord, dedupeSrv, endpointLabel, flatName, spreadSrvWeights, srv as srvRecord } from '../kubernetes/records.ts';

export interface ExternalRecordOptions {
  zone: string;
  /** Addresses and PTRs (k8s_external's ttl). */
  ttl: number;
  /** SRV and CNAME records: the kubernetes plugin's ttl, as CoreDNS leaves them. */
  serviceTtl: number;
  headless: boolean;
  endpointPodNames: boolean;
  /** Is this PTR name inside one of the zone's reverse zones? (Only for the first zone.) */
  inReverseZone: (ptrName: string) => boolean;
}

const fqdn = (name: string): string => (name.endsWith('.') ? name : `${name}.`);

export function externalRecords(svc: ServiceInfo, slices: EndpointSliceInfo[], o: ExternalRecordOptions): RR[] {
  const base = flatName(svc.name, svc.namespace, o.zone);
  const out: RR[] = [];
  const address = (name: string, ip: string): RR => addressRecord(name, ip, o.ttl);
  const srv = (name: string, port: number, target: string): RR => srvRecord(name, port, target, o.serviceTtl);
  // `_<port>._<proto>.<svc>` for named ports, and the Service's own name for every port.
  const srvNames = (p: ServicePort, own: boolean): string[] => {
    const names = p.name ? [flatName(`_${p.name}`, `_${p.protocol}`, base)] : [];
    if (own) names.push(base);
    return names;
  };
  const external = svc.externalAddresses;
  if (external.length > 0) {
    const ips = external.filter((a) => isIP(a) !== 0);
    // A load balancer known by a hostname only (cloud LBs): the name is a CNAME to it, and
    // then holds nothing else (RFC 1034 3.6.2), so no SRV at the name itself.
    const cname = ips.length === 0 ? external[0]! : null;
    for (const ip of ips) {
      out.push(address(base, ip));
      const ptr = reverseName(ip);
      if (o.inReverseZone(ptr)) out.push({ name: ptr, type: 'PTR', ttl: o.ttl, data: base });
    }
    if (cname !== null) out.push({ name: base, type: 'CNAME', ttl: o.serviceTtl, data: fqdn(cname) });
    // One SRV candidate per external address and port (CoreDNS's weights count them before
    // duplicate targets fold): an address's target is the Service's name, a hostname's itself.
    for (const a of external) {
      const target = isIP(a) !== 0 ? base : fqdn(a);
      for (const p of svc.ports) for (const name of srvNames(p, cname === null)) out.push(srv(name, p.port, target));
    }
    return dedupeSrv(spreadSrvWeights(out));
  }
  if (!o.headless || !svc.headless) return out;
  for (const slice of slices) {
    for (const ep of endpointsOf(slice)) {
      if (!ep.ready && !svc.publishNotReadyAddresses) continue;
      for (const ip of ep.addresses) {
        if (isIP(ip) === 0) continue;
        const host = flatName(endpointLabel(ep, ip, o.endpointPodNames), base);
        out.push(address(host, ip), address(base, ip));
        for (const p of slice.ports) for (const name of srvNames(p, true)) out.push(srv(name, p.port, host));
      }
    }
  }
  return dedupeSrv(spreadSrvWeights(out));
}

/** The zone's SOA (CoreDNS k8s_external's: `ns1.<apex>.<zone>`, `hostmaster.<apex>.<zone>`). */
export function externalSoa(zone: string, apex: string, ttl: number, serial: number): RR {
  const base = zone === '.' ? '' : zone;
  return {
    name: zone, type: 'SOA', ttl,
    data: { mname: `ns1.${apex}.${base}`, rname: `hostmaster.${apex}.${base}`, serial, refresh: 7200, retry: 1800, expire: 86400, minimum: ttl },
  };
}

/**
 * Each zone's NS (`ns1.<apex>.<zone>`) and that name's addresses: the external addresses of
 * this server's own Services (CoreDNS: those of the Services selecting its pod), none if they
 * have none (the name then answers NODATA, as CoreDNS's does). `names`: kept as bare names.
 */
export function externalApex(zones: string[], apex: string, ttl: number, addresses: string[]): { records: RR[]; names: string[] } {
  const records: RR[] = [];
  const names: string[] = [];
  for (const zone of zones) {
    const ns = `ns1.${apex}.${zone === '.' ? '' : zone}`;
    records.push({ name: zone, type: 'NS', ttl, data: ns });
    for (const ip of addresses) records.push({ name: ns, type: isIP(ip) === 6 ? 'AAAA' : 'A', ttl, data: ip });
    names.push(ns);
  }
  return { records, names };
}
