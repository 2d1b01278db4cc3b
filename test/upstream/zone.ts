// The fault server's data: records by name and the normal answer built from them, sized to the
// requester's UDP limit like a real server would.
import dnsPacket from 'dns-packet';

export interface RecordSpec {
  type: string;
  ttl?: number;
  data: unknown;
}

export const norm = (name: string): string => name.toLowerCase().replace(/\.$/, '');

const RA = dnsPacket.RECURSION_AVAILABLE;
const RD = dnsPacket.RECURSION_DESIRED;

export class Zone {
  private readonly names = new Map<string, RecordSpec[]>();
  private readonly origin: string;
  private readonly negativeTtl: number;

  constructor(origin: string, negativeTtl: number) {
    this.origin = origin;
    this.negativeTtl = negativeTtl;
  }

  set(name: string, records: RecordSpec[]): void {
    this.names.set(norm(name), records);
  }

  delete(name: string): void {
    this.names.delete(norm(name));
  }

  /** Records of the asked type, else the name's CNAME; NODATA or NXDOMAIN carry the SOA (RFC 2308). */
  answer(q: dnsPacket.DecodedPacket, rcode?: number): dnsPacket.Packet {
    const question = q.questions![0]!;
    const recs = this.names.get(norm(question.name));
    let found = recs?.filter((r) => r.type === question.type) ?? [];
    if (found.length === 0) found = recs?.filter((r) => r.type === 'CNAME') ?? [];
    const code = rcode ?? (recs ? 0 : 3);
    const answers = code === 0 ? found.map((r) => ({ name: question.name, type: r.type, class: 'IN', ttl: r.ttl ?? 60, data: r.data }) as dnsPacket.Answer) : [];
    const opt = optOf(q);
    return {
      type: 'response',
      id: q.id,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | RA | (q.flag_rd ? RD : 0) | code,
      questions: [question],
      answers,
      authorities: answers.length === 0 && (code === 0 || code === 3) ? [this.soa()] : [],
      additionals: opt ? [{ ...opt, udpPayloadSize: 1232, extendedRcode: 0, options: [] }] : [],
    };
  }

  private soa(): dnsPacket.Answer {
    const t = this.negativeTtl;
    const o = this.origin;
    return { name: o, type: 'SOA', class: 'IN', ttl: t, data: { mname: `ns.${o}`, rname: `hostmaster.${o}`, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: t } };
  }
}

export function optOf(q: dnsPacket.DecodedPacket): dnsPacket.OptAnswer | undefined {
  return q.additionals?.find((a) => a.type === 'OPT') as dnsPacket.OptAnswer | undefined;
}

/** The query's UDP limit: its EDNS size (at least 512), else 512. */
export function udpLimit(q: dnsPacket.DecodedPacket): number {
  const opt = optOf(q);
  return opt ? Math.max(512, opt.udpPayloadSize) : 512;
}

/** Encodes `p`; when longer than `limit` sets TC and drops every record but the OPT. */
export function encodeWithin(p: dnsPacket.Packet, limit: number): Buffer {
  const full = dnsPacket.encode(p);
  if (full.length <= limit) return full;
  return truncated(p);
}

export function truncated(p: dnsPacket.Packet): Buffer {
  return dnsPacket.encode({ ...p, flags: (p.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE, answers: [], authorities: [] });
}
