// Kubernetes DNS-Based Service Discovery 1.1.0: the records one Service (with its
// EndpointSlices) puts in the cluster zone and the reverse zones. Pure functions of the trimmed
// model, so a change to one Service or slice recomputes only that Service's records.
import { isIP } from 'node:net';
import type { RR } from '../../table/entry.ts';
import { reverseName } from '../../dns/ip.ts';
import type { EndpointSliceInfo, ServiceInfo } from './model.ts';

export interface RecordOptions {
  zone: string;
  ttl: number;
  endpointPodNames: boolean;
  /** Reverse zones this plugin serves (PTRs outside them are not made). */
  reverse: { v4: boolean; v6: boolean };
}

/** `10.244.1.5` -> `10-244-1-5`, `fd00::1` -> `fd00--1` (the spec's hostname for an address). */
export function dashedAddress(ip: string): string {
  return isIP(ip) === 6 ? ip.replaceAll(':', '-') : ip.replaceAll('.', '-');
}

function address(name: string, ip: string, ttl: number): RR {
  return { name, type: isIP(ip) === 6 ? 'AAAA' : 'A', ttl, data: ip };
}

/** Every record of one Service in `opts.zone` and the reverse zones. */
export function serviceRecords(svc: ServiceInfo, slices: EndpointSliceInfo[], opts: RecordOptions): RR[] {
  const base = `${svc.name}.${svc.namespace}.svc.${opts.zone}`;
  const { ttl } = opts;
  const out: RR[] = [];
  const ptr = (ip: string, target: string): void => {
    const family = isIP(ip);
    if ((family === 4 && opts.reverse.v4) || (family === 6 && opts.reverse.v6)) out.push({ name: reverseName(ip), type: 'PTR', ttl, data: target });
  };
  if (svc.type === 'ExternalName') {
    if (svc.externalName) out.push({ name: base, type: 'CNAME', ttl, data: svc.externalName.endsWith('.') ? svc.externalName : `${svc.externalName}.` });
    return out;
  }
  if (!svc.headless) {
    for (const ip of svc.clusterIPs) {
      out.push(address(base, ip, ttl));
      ptr(ip, base);
    }
    for (const p of svc.ports) {
      if (!p.name) continue; // unnamed ports get no SRV
      out.push({ name: `_${p.name}._${p.protocol}.${base}`, type: 'SRV', ttl, data: { priority: 0, weight: 100, port: p.port, target: base } });
    }
    return spreadSrvWeights(out);
  }
  // Headless: one record per ready endpoint address, a name per endpoint, SRV per endpoint x port.
  for (const slice of slices) {
    for (const ep of slice.endpoints) {
      if (!ep.ready && !svc.publishNotReadyAddresses) continue;
      for (const ip of ep.addresses) {
        const host = ep.hostname || (opts.endpointPodNames && ep.podName) || dashedAddress(ip);
        const hostName = `${host}.${base}`;
        out.push(address(base, ip, ttl));
        out.push(address(hostName, ip, ttl));
        ptr(ip, hostName);
        for (const p of slice.ports) {
          if (!p.name) continue;
          out.push({ name: `_${p.name}._${p.protocol}.${base}`, type: 'SRV', ttl, data: { priority: 0, weight: 100, port: p.port, target: hostName } });
        }
      }
    }
  }
  return spreadSrvWeights(out);
}

/**
 * SRV records at one name share a weight of 100 between them (floor(100 / n) each), as CoreDNS
 * gives them, so clients that pick by weight spread evenly.
 */
function spreadSrvWeights(rrs: RR[]): RR[] {
  const count = new Map<string, number>();
  for (const rr of rrs) if (rr.type === 'SRV') count.set(rr.name, (count.get(rr.name) ?? 0) + 1);
  for (const rr of rrs) {
    if (rr.type === 'SRV') (rr.data as { weight: number }).weight = Math.floor(100 / count.get(rr.name)!);
  }
  return rrs;
}
