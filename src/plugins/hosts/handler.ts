// hosts, worker side: CoreDNS's hosts ServeDNS over the precomputed table, without allocating.
// - PTR: answered when the reverse name has hosts entries, whatever the zone; otherwise the
//   next plugin gets it (fallthrough or not), as in CoreDNS.
// - Other types, names outside the zones: next plugin.
// - A name with addresses (its own, or a `*.` wildcard's one label up): its A or AAAA records,
//   or an empty authoritative NOERROR for other types; no SOA (a hosts file has none).
// - A name hosts does not have: the next plugin with `fallthrough`, else SERVFAIL (CoreDNS
//   cannot say NXDOMAIN without an SOA).
import { FLAG_AA, QCLASS, QTYPE, RCODE } from '../../dns/constants.ts';
import { MAX_NAME_WIRE, hashName } from '../../dns/name.ts';
import type { Query } from '../../dns/query.ts';
import type { ResponseWriter } from '../../dns/response.ts';
import { NEXT, type Handler, type WorkerEnv } from '../../plugin/types.ts';
import { RFC8482_HINFO } from '../../table/answer.ts';
import { V_FLAG_AA } from '../../table/layout.ts';
import {
  type TableReader, variantAn, variantAr, variantData, variantFlags, variantLen, variantNs, variantRcode,
} from '../../table/reader.ts';
import { ZoneMatcher, fallthroughMatcher } from '../../table/zone-match.ts';
import type { HostsConfig } from './setup.ts';

export default function create(config: HostsConfig, env: WorkerEnv): Handler {
  const zones = new ZoneMatcher(config.zones);
  const table = env.table(config.tableId);
  const fallthrough = fallthroughMatcher(config.fallthrough, ['.']);
  const unsupported = config.fallthroughUnsupported;
  // `*.` + the query name without its first label, built here for the wildcard lookup.
  const wild = new Uint8Array(MAX_NAME_WIRE + 2);
  wild[0] = 1;
  wild[1] = 0x2a;

  function wildcard(q: Query): number {
    if (q.labelCount < 2) return 0;
    const from = q.labelStarts[1]!;
    let n = 2;
    for (let i = from; i < q.nameLen; i++) wild[n++] = q.lower[i]!;
    return table.findName(wild, n, hashName(wild, 0, n));
  }

  function passes(q: Query): boolean {
    return fallthrough !== null && fallthrough.match(q) >= 0;
  }

  return {
    serve(q, w) {
      if (q.qclass !== QCLASS.IN && q.qclass !== QCLASS.ANY) return NEXT;
      if (q.qtype === QTYPE.PTR) {
        const entry = table.find(q);
        const v = entry === 0 ? -1 : table.exactVariant(entry, QTYPE.PTR);
        return v < 0 ? NEXT : write(table, q, w, entry, v);
      }
      if (zones.match(q) < 0) return NEXT;
      let entry = table.find(q);
      // A reverse name holds only its PTR variant: for other types it is a name hosts lacks.
      let v = entry === 0 ? -1 : table.variant(entry, q.qtype);
      if (v < 0) {
        entry = wildcard(q);
        v = entry === 0 ? -1 : table.variant(entry, q.qtype);
      }
      if (v < 0) {
        if (passes(q)) return NEXT;
        w.start(q, RCODE.SERVFAIL, 0);
        return RCODE.SERVFAIL;
      }
      if (unsupported && q.qtype !== QTYPE.A && q.qtype !== QTYPE.AAAA && passes(q)) return NEXT;
      if (q.qtype === QTYPE.ANY) {
        w.start(q, RCODE.NOERROR, FLAG_AA);
        w.appendRecords(RFC8482_HINFO, 0, RFC8482_HINFO.length, 1, 0, 0);
        return RCODE.NOERROR;
      }
      return write(table, q, w, entry, v);
    },
  };
}

/** Copies the variant's precomputed sections into the response. */
function write(table: TableReader, q: Query, w: ResponseWriter, entry: number, v: number): number {
  const u8 = table.u8;
  const rcode = variantRcode(u8, v);
  w.start(q, rcode, (variantFlags(u8, v) & V_FLAG_AA) !== 0 ? FLAG_AA : 0);
  const data = variantData(u8, v, entry);
  w.appendRecords(u8, data, data + variantLen(u8, v), variantAn(u8, v), variantNs(u8, v), variantAr(u8, v));
  return rcode;
}
