// The zones k8s_external serves from the kubernetes plugin's cluster state: ClusterState writes
// each Service's external records into them beside its cluster records (one source, no second
// watch), and they are served from k8s_external's own table.
import type { RecordStore } from '../../table/record-store.ts';

export interface ExternalZone {
  /** Owns the table k8s_external's handler reads. */
  store: RecordStore;
  /** Forward zones (canonical): `<svc>.<ns>.<zone>`; the first is where PTRs point. */
  zones: string[];
  /** Reverse zones among k8s_external's zones: PTRs for the external addresses inside them. */
  reverseZones: string[];
  /** TTL of the address and PTR records (k8s_external's `ttl`; SRV and CNAME take the kubernetes plugin's, as CoreDNS). */
  ttl: number;
  /** `headless`: headless Services without external addresses answer with their endpoints. */
  headless: boolean;
  /** The label under which the zone's own nameserver is named (`ns1.<apex>.<zone>`). */
  apex: string;
  /** The cluster state's first sync is in the table: the zone can be answered. */
  ready(): void;
}

/**
 * k8s_external's setup runs before the kubernetes plugin's in the same server (directive order)
 * and leaves its zone here under the server's key; the kubernetes setup that follows takes it.
 */
const offered = new Map<string, ExternalZone>();

export function offerExternalZone(serverKey: string, zone: ExternalZone): void {
  offered.set(serverKey, zone);
}

export function takeExternalZone(serverKey: string): ExternalZone | null {
  const zone = offered.get(serverKey) ?? null;
  offered.delete(serverKey);
  return zone;
}
