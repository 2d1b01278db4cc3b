// local: answers for the names that must never leave the host (RFC 6761 6.3, RFC 5735): the
// zones localhost., 0.in-addr.arpa., 127.in-addr.arpa. and 255.in-addr.arpa., and
// `localhost.<any domain>` (a search-path expansion of "localhost", RFC 6761 6.3 point 4 says
// such names resolve to loopback too). Answers are made from fixed pieces, as CoreDNS's local.
import { HEADER_SIZE, QTYPE, RCODE } from '../../dns/constants.ts';
import { nameToWire } from '../../dns/name.ts';
import type { Query } from '../../dns/query.ts';
import type { ResponseWriter } from '../../dns/response.ts';
import { NEXT, type Handler, type WorkerEnv } from '../../plugin/types.ts';
import { LOCAL_RECORDS } from './records.ts';

export interface LocalConfig {
  /** coredns_local_localhost_requests_total's slot. */
  localhostRequests: number;
}

const ZONES = ['localhost.', '0.in-addr.arpa.', '127.in-addr.arpa.', '255.in-addr.arpa.'].map((z) => nameToWire(z));
const LOOPBACK_PTR = nameToWire('1.0.0.127.in-addr.arpa.');
const LOCALHOST_LABEL = ZONES[0]!.subarray(0, 10); // 9 "localhost"
/** The question's name starts right after the header. */
const QNAME_POINTER = 0xc000 | HEADER_SIZE;

/** Is the wire name `name` (a lower-cased query name of `len` bytes) `suffix` or under it? */
function endsWith(name: Uint8Array, len: number, labelStarts: Uint8Array, labels: number, suffix: Uint8Array): number {
  const at = len - suffix.length;
  if (at < 0) return -1;
  // Only at a label boundary: the start of one of the name's labels (or the root for ".").
  let boundary = false;
  for (let i = 0; i < labels && !boundary; i++) boundary = labelStarts[i] === at;
  if (!boundary) return -1;
  for (let i = 0; i < suffix.length; i++) if (name[at + i] !== suffix[i]) return -1;
  return at;
}

export default function create(config: LocalConfig, env: WorkerEnv): Handler {
  const answer = (q: Query, w: ResponseWriter, rcode: number, owner: number, rr: Uint8Array, section: 'an' | 'ns'): number => {
    w.start(q, rcode, 0);
    w.appendU16(owner);
    w.appendRecords(rr, 0, rr.length, section === 'an' ? 1 : 0, section === 'ns' ? 1 : 0, 0);
    return rcode;
  };
  return {
    serve(q, w) {
      const name = q.lower;
      const len = q.nameLen;
      // localhost.<domain>: the first label is "localhost" and more follow.
      if (q.labelCount >= 2 && sameBytes(name, 0, LOCALHOST_LABEL)) {
        env.metrics.inc(config.localhostRequests);
        if (q.qtype === QTYPE.A) return answer(q, w, RCODE.NOERROR, QNAME_POINTER, LOCAL_RECORDS.a, 'an');
        if (q.qtype === QTYPE.AAAA) return answer(q, w, RCODE.NOERROR, QNAME_POINTER, LOCAL_RECORDS.aaaa, 'an');
        // NODATA, with the SOA at the name itself (as CoreDNS's local answers it).
        return answer(q, w, RCODE.NOERROR, QNAME_POINTER, LOCAL_RECORDS.soa, 'ns');
      }
      // The zones end in `localhost` or `arpa`: one length check lets every other name go on
      // (a cluster name ends in `local`, 5 bytes) before any suffix is compared.
      if (q.labelCount === 0) return NEXT;
      const lastLen = name[q.labelStarts[q.labelCount - 1]!]!;
      if (lastLen !== 9 && lastLen !== 4) return NEXT;
      for (let z = 0; z < ZONES.length; z++) {
        const at = endsWith(name, len, q.labelStarts, q.labelCount, ZONES[z]!);
        if (at < 0) continue;
        const apex = QNAME_POINTER + at;
        if (at === 0) {
          if (q.qtype === QTYPE.SOA) return answer(q, w, RCODE.NOERROR, apex, LOCAL_RECORDS.soa, 'an');
          if (q.qtype === QTYPE.NS) return answer(q, w, RCODE.NOERROR, apex, LOCAL_RECORDS.ns, 'an');
          if (z === 0 && q.qtype === QTYPE.A) return answer(q, w, RCODE.NOERROR, apex, LOCAL_RECORDS.a, 'an');
          if (z === 0 && q.qtype === QTYPE.AAAA) return answer(q, w, RCODE.NOERROR, apex, LOCAL_RECORDS.aaaa, 'an');
          return answer(q, w, RCODE.NOERROR, apex, LOCAL_RECORDS.soa, 'ns');
        }
        if (z === 2 && len === LOOPBACK_PTR.length && sameBytes(name, 0, LOOPBACK_PTR)) {
          if (q.qtype === QTYPE.PTR) return answer(q, w, RCODE.NOERROR, QNAME_POINTER, LOCAL_RECORDS.ptr, 'an');
          return answer(q, w, RCODE.NOERROR, apex, LOCAL_RECORDS.soa, 'ns');
        }
        // Nothing else exists in these zones (RFC 2308: NXDOMAIN with the zone's SOA).
        return answer(q, w, RCODE.NXDOMAIN, apex, LOCAL_RECORDS.soa, 'ns');
      }
      return NEXT;
    },
  };
}

function sameBytes(a: Uint8Array, at: number, b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (a[at + i] !== b[i]) return false;
  return true;
}
