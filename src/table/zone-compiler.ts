// Turns the records of one zone into table entries: one per owner name and per empty
// non-terminal, each with the answer for every type, CNAME chasing inside the zone, additional
// addresses for SRV/MX/NS targets, and NODATA/NXDOMAIN carrying the zone's SOA (RFC 2308).
import { QTYPE, RCODE, typeFromName } from '../dns/constants.ts';
import { canonicalName, isSubdomain, labelsOf } from '../dns/name.ts';
import { type RR, type VariantSpec, encodeEntry } from './entry.ts';
import { QTYPE_DEFAULT } from './layout.ts';

export interface CompiledEntry {
  name: string;
  bytes: Uint8Array;
}

const MAX_CNAME_CHAIN = 8;

/** Standard SOA for a zone we serve, in CoreDNS's form (ns.dns.<zone> hostmaster.<zone>). */
export function defaultSoa(zone: string, ttl: number, serial: number): RR {
  const z = canonicalName(zone);
  const base = z === '.' ? '' : z;
  return {
    name: z, type: 'SOA', ttl,
    data: { mname: `ns.dns.${base}`, rname: `hostmaster.${base}`, serial, refresh: 7200, retry: 1800, expire: 86400, minimum: ttl },
  };
}

export function compileZone(zone: string, records: RR[], soa: RR): CompiledEntry[] {
  const apex = canonicalName(zone);
  const byName = new Map<string, Map<string, RR[]>>();
  const add = (rr: RR): void => {
    const name = canonicalName(rr.name);
    const type = rr.type.toUpperCase();
    let types = byName.get(name);
    if (!types) byName.set(name, (types = new Map()));
    let set = types.get(type);
    if (!set) types.set(type, (set = []));
    set.push({ ...rr, name, type });
  };
  for (const rr of records) add(rr);
  if (!byName.get(apex)?.has('SOA')) add(soa);
  // Empty non-terminals between the apex and every owner name.
  const apexDepth = labelsOf(apex).length;
  for (const name of [...byName.keys()]) {
    const labels = labelsOf(name);
    for (let i = 1; i < labels.length - apexDepth; i++) {
      const parent = labels.slice(i).join('.') + '.';
      if (!byName.has(parent)) byName.set(parent, new Map());
    }
  }
  const zoneSoa = byName.get(apex)!.get('SOA')![0]!;
  const inZone = (n: string): boolean => isSubdomain(canonicalName(n), apex);
  const addresses = (target: string): RR[] => {
    const t = byName.get(canonicalName(target));
    return t ? [...(t.get('A') ?? []), ...(t.get('AAAA') ?? [])] : [];
  };

  const out: CompiledEntry[] = [];
  for (const [name, types] of byName) {
    const variants: VariantSpec[] = [];
    const cname = types.get('CNAME');
    if (cname) {
      for (const qtype of ['A', 'AAAA', 'TXT', 'SRV', 'MX', 'PTR']) {
        const chain = [...cname];
        let target = String(cname[0]!.data);
        let final: RR[] = [];
        for (let hops = 0; hops < MAX_CNAME_CHAIN && inZone(target); hops++) {
          const t = byName.get(canonicalName(target));
          if (!t) break;
          const next = t.get('CNAME');
          if (next) {
            chain.push(...next);
            target = String(next[0]!.data);
            continue;
          }
          final = t.get(qtype) ?? [];
          break;
        }
        variants.push({ qtype: typeFromName(qtype)!, answer: [...chain, ...final] });
      }
      variants.push({ qtype: QTYPE.CNAME, answer: cname });
      variants.push({ qtype: QTYPE_DEFAULT, answer: cname });
    } else {
      for (const [type, set] of types) {
        const additional: RR[] = [];
        if (type === 'SRV') for (const rr of set) additional.push(...addresses((rr.data as { target: string }).target));
        if (type === 'MX') for (const rr of set) additional.push(...addresses((rr.data as { exchange: string }).exchange));
        if (type === 'NS') for (const rr of set) additional.push(...addresses(String(rr.data)));
        variants.push({ qtype: typeFromName(type)!, answer: set, additional: dedupe(additional) });
      }
      variants.push({ qtype: QTYPE_DEFAULT, rcode: RCODE.NOERROR, authority: [zoneSoa] });
    }
    out.push({ name, bytes: encodeEntry(name, variants, name === apex ? zoneSoa : undefined) });
  }
  return out;
}

function dedupe(rrs: RR[]): RR[] {
  const seen = new Set<string>();
  return rrs.filter((rr) => {
    const key = `${rr.name}/${rr.type}/${JSON.stringify(rr.data)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
