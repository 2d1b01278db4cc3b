// local: answers for the names that must never leave the host (RFC 6761 6.3, RFC 5735): the
// zones localhost., 0.in-addr.arpa., 127.in-addr.arpa. and 255.in-addr.arpa., and
// `localhost.<any domain>` (a search-path expansion of "localhost", RFC 6761 6.3 point 4 says
// such names resolve to loopback too). Answers are made from fixed pieces, as CoreDNS's local.
import { QNAME_POINTER, QTYPE, RCODE } from '../../dns/constants.ts';
import { nameToWire } from '../../dns/name.ts';
import { type Query, isQueryName } from '../../dns/query.ts';
import type { ResponseWriter } from '../../dns/response.ts';
import { NEXT, type Handler, type WorkerEnv } from '../../plugin/types.ts';
import { ZoneMatcher } from '../../table/zone-match.ts';
import { LOCAL_RECORDS } from './records.ts';

export interface LocalConfig {
  /** coredns_local_localhost_requests_total's slot. */
  localhostRequests: number;
}

const ZONES = new ZoneMatcher(['localhost.', '0.in-addr.arpa.', '127.in-addr.arpa.', '255.in-addr.arpa.']);
const LOCALHOST = 0;
const LOOPBACK_ZONE = 2;
const LOOPBACK_PTR = nameToWire('1.0.0.127.in-addr.arpa.');
const LOCALHOST_LABEL = nameToWire('localhost.').subarray(0, 10); // 9 "localhost"

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
      // localhost.<domain>: the first label is "localhost" and more follow.
      if (q.labelCount >= 2 && firstLabelIs(name, LOCALHOST_LABEL)) {
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
      const m = ZONES.match(q);
      if (m < 0) return NEXT;
      const z = ZONES.given[m]!;
      const at = q.nameLen - ZONES.wire[m]!.length;
      const apex = QNAME_POINTER + at;
      if (at === 0) {
        if (q.qtype === QTYPE.SOA) return answer(q, w, RCODE.NOERROR, apex, LOCAL_RECORDS.soa, 'an');
        if (q.qtype === QTYPE.NS) return answer(q, w, RCODE.NOERROR, apex, LOCAL_RECORDS.ns, 'an');
        if (z === LOCALHOST && q.qtype === QTYPE.A) return answer(q, w, RCODE.NOERROR, apex, LOCAL_RECORDS.a, 'an');
        if (z === LOCALHOST && q.qtype === QTYPE.AAAA) return answer(q, w, RCODE.NOERROR, apex, LOCAL_RECORDS.aaaa, 'an');
        return answer(q, w, RCODE.NOERROR, apex, LOCAL_RECORDS.soa, 'ns');
      }
      if (z === LOOPBACK_ZONE && isQueryName(q, LOOPBACK_PTR)) {
        if (q.qtype === QTYPE.PTR) return answer(q, w, RCODE.NOERROR, QNAME_POINTER, LOCAL_RECORDS.ptr, 'an');
        return answer(q, w, RCODE.NOERROR, apex, LOCAL_RECORDS.soa, 'ns');
      }
      // Nothing else exists in these zones (RFC 2308: NXDOMAIN with the zone's SOA).
      return answer(q, w, RCODE.NXDOMAIN, apex, LOCAL_RECORDS.soa, 'ns');
    },
  };
}

/** Does the wire name start with the label `label` (its length byte included)? */
function firstLabelIs(name: Uint8Array, label: Uint8Array): boolean {
  for (let i = 0; i < label.length; i++) if (name[i] !== label[i]) return false;
  return true;
}
