// dns64, worker side (RFC 6147): an AAAA query whose answer has no AAAA record gets AAAA records
// made from the name's A records under the NAT64 prefix (RFC 6052), as CoreDNS's dns64.
//
// Cost: a query that is not AAAA/IN (or comes over IPv4 without allow_ipv4) pays a type and
// family test. An eligible AAAA query is asked of the plugins after this one as a sub-query
// (plugin/sub-queries.ts) and its answer copied through, its record types read in place, when
// it has AAAA records or is NXDOMAIN; otherwise the A query is asked too and the answer
// synthesized (decoded and encoded with dns-packet): the slow path, for IPv6-only clients of
// IPv4-only names.
import { FLAG_AA, FLAG_AD, FLAG_RA, FLAG_TC, HEADER_SIZE, QCLASS, QTYPE, RCODE } from '../../dns/constants.ts';
import { replaceQuestion, skipName, skipRecord } from '../../dns/message.ts';
import { appendPacketRecords, decodeSections } from '../../dns/packet-records.ts';
import type { Query } from '../../dns/query.ts';
import { TCP_PREFIX, type ResponseWriter } from '../../dns/response.ts';
import { parseAddress } from '../../dns/address-match.ts';
import { listenerIndex } from '../../plugin/listen-address.ts';
import { answerFromSubQueries } from '../../plugin/sub-queries.ts';
import { NEXT, type Handler, type WorkerEnv } from '../../plugin/types.ts';

export interface Dns64Config {
  /** The NAT64 prefix's bytes (16) and length in bits (32, 40, 48, 56, 64 or 96). */
  prefix: number[];
  prefixLength: number;
  /** Synthesize even when the answer has AAAA records (RFC 6147 5.1.1 not followed). */
  translateAll: boolean;
  /** Also for clients that query over IPv4. */
  allowIpv4: boolean;
  /** coredns_dns64_requests_translated_total slot per address the block listens on. */
  translated: number[];
  addresses: string[] | null;
}

/** TTL of synthesized records when the AAAA answer had no SOA (RFC 6147 5.1.7, as CoreDNS). */
const NO_SOA_TTL = 600;

export default function create(config: Dns64Config, env: WorkerEnv): Handler {
  return {
    serve(q, w, r) {
      if (q.qtype !== QTYPE.AAAA || q.qclass !== QCLASS.IN) return NEXT;
      if (!config.allowIpv4 && isIpv4Client(q.remoteAddress)) return NEXT;
      const client = Buffer.from(q.msg.subarray(0, q.len));
      const questionEnd = q.questionEnd;
      const localAddress = q.localAddress;
      return answerFromSubQueries(q, w, r, 'dns64', (chain, end) => {
        chain.run(client, (_q6, w6, r6) => {
          if (r6.error !== null) return end({ error: r6.error });
          if (!shouldSynthesize(w6, questionEnd, config.translateAll)) {
            return end({ write: (cq, out) => copyAnswer(cq, out, w6, questionEnd) });
          }
          const name = client.subarray(HEADER_SIZE, skipName(client, HEADER_SIZE, client.length));
          chain.run(replaceQuestion(client, client.length, questionEnd, name, QTYPE.A, QCLASS.IN), (_q4, w4, r4) => {
            if (r4.error !== null) return end({ error: r4.error });
            end({
              write(cq, out) {
                synthesize(cq, out, decodeSections(w6, 0), decodeSections(w4, 0), config);
                env.metrics.inc(config.translated[listenerIndex(config.addresses, localAddress)]!);
              },
            });
          });
        });
      });
    },
  };
}

const ADDRESS = new Uint32Array(4);

/** Go's Family(): 1 for an IPv4 address, an IPv4-mapped IPv6 one included. */
function isIpv4Client(address: string): boolean {
  return parseAddress(address, ADDRESS) === 4;
}

/**
 * RFC 6147 5.1.1 and 5.1.2: NXDOMAIN is passed on; any other answer without an AAAA record in
 * its answer section (NODATA, and errors, treated as empty) is synthesized. The records' types
 * are read in place: an answer passed through is never decoded.
 */
function shouldSynthesize(w: ResponseWriter, questionEnd: number, translateAll: boolean): boolean {
  if (w.rcode === RCODE.NXDOMAIN) return false;
  if (translateAll) return true;
  const b = w.buf;
  let o = TCP_PREFIX + questionEnd;
  for (let i = 0; i < w.an && o >= 0; i++) {
    const at = skipName(b, o, w.end);
    if (at < 0 || at + 2 > w.end) break;
    if (((b[at]! << 8) | b[at + 1]!) === QTYPE.AAAA) return false;
    o = skipRecord(b, o, w.end);
  }
  return true;
}

/** The sub-query's answer as it is: its question is the client's, byte for byte. */
function copyAnswer(q: Query, out: ResponseWriter, found: ResponseWriter, questionEnd: number): void {
  out.start(q, found.rcode, found.flags & (FLAG_AA | FLAG_RA | FLAG_AD | FLAG_TC));
  out.appendRecords(found.buf, TCP_PREFIX + questionEnd, found.end, found.an, found.ns, found.ar);
  out.ednsOptions = found.ednsOptions;
}

/**
 * The A answer's records with each A turned into an AAAA under the prefix, its TTL at most the
 * AAAA answer's SOA TTL (5.1.7); authority and additional from the A answer (5.3.2); a
 * NOERROR reply to the client's question, as CoreDNS makes it.
 */
function synthesize(q: Query, out: ResponseWriter, aaaa: ReturnType<typeof decodeSections>, a: ReturnType<typeof decodeSections>, config: Dns64Config): void {
  let soaTtl = NO_SOA_TTL;
  for (const rr of aaaa.authorities ?? []) if (rr.type === 'SOA') soaTtl = (rr as { ttl?: number }).ttl ?? 0;
  const answers = (a.answers ?? []).map((rr) => {
    if (rr.type !== 'A') return rr;
    const ttl = Math.min(soaTtl, rr.ttl ?? 0);
    return { name: rr.name, type: 'AAAA' as const, class: 'IN' as const, ttl, data: to6(config.prefix, config.prefixLength, rr.data) };
  });
  out.start(q, RCODE.NOERROR, 0);
  appendPacketRecords(out, { answers, authorities: a.authorities ?? [], additionals: a.additionals ?? [] });
}

/**
 * RFC 6052 2.2: the IPv4 address's 32 bits after the prefix, skipping bits 64-71 (the `u`
 * octet, zero).
 */
export function to6(prefix: number[], bits: number, v4: string): string {
  const b = v4.split('.').map(Number);
  const v6 = new Array<number>(16).fill(0);
  let i = 0;
  for (; i < bits / 8; i++) v6[i] = prefix[i]!;
  for (let j = 0; j < 4; j++, i++) {
    if (i === 8) i++;
    v6[i] = b[j]!;
  }
  const groups: string[] = [];
  for (let g = 0; g < 8; g++) groups.push(((v6[2 * g]! << 8) | v6[2 * g + 1]!).toString(16));
  return groups.join(':');
}
