// Before the first sync is in the table, it cannot tell a missing name from one not loaded yet:
// a fallthrough zone goes on to the next plugin (CoreDNS checks fallthrough first), the rest is
// SERVFAIL, never an NXDOMAIN that could be wrong. For the kubernetes and k8s_external handlers.
import { RCODE } from '../../dns/constants.ts';
import type { Query } from '../../dns/query.ts';
import type { ResponseWriter } from '../../dns/response.ts';
import { NEXT } from '../../plugin/types.ts';
import type { ZoneMatcher } from '../../table/zone-match.ts';

export function answerUnsynced(fallthrough: ZoneMatcher | null, q: Query, w: ResponseWriter): number {
  if (fallthrough !== null && fallthrough.match(q) >= 0) return NEXT;
  w.start(q, RCODE.SERVFAIL, 0);
  return RCODE.SERVFAIL;
}
