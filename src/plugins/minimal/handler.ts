// minimal: a successful answer goes out with its answer section only (authority and additional
// dropped), as BIND's minimal-responses and CoreDNS's minimal. Negative answers keep their SOA
// (NODATA, NXDOMAIN: RFC 2308 needs it for negative caching) and referrals their NS and glue.
// The cut happens in place on the finished sections (NEXT_POST): no copy, no decoding.
import { QTYPE, RCODE } from '../../dns/constants.ts';
import { skipName, skipRecord } from '../../dns/message.ts';
import { TCP_PREFIX, type ResponseWriter } from '../../dns/response.ts';
import { NEXT_POST, type Handler } from '../../plugin/types.ts';

/** The authority section holds an SOA (a negative answer) or an NS (a referral). */
function keepsAuthority(w: ResponseWriter, from: number): boolean {
  const b = w.buf;
  let o = from;
  for (let i = 0; i < w.ns; i++) {
    const at = skipName(b, o, w.end);
    if (at < 0 || at + 10 > w.end) return true; // unreadable: leave it as it is
    const type = (b[at]! << 8) | b[at + 1]!;
    if (type === QTYPE.SOA || type === QTYPE.NS) return true;
    o = at + 10 + ((b[at + 8]! << 8) | b[at + 9]!);
  }
  return false;
}

export default function create(): Handler {
  return {
    serve() {
      return NEXT_POST;
    },
    post(q, w) {
      if (w.rcode !== RCODE.NOERROR || (w.ns === 0 && w.ar === 0)) return;
      // The sections start after the question, as start() copied it.
      let o = TCP_PREFIX + q.questionEnd;
      if (!q.questionOk) return;
      for (let i = 0; i < w.an; i++) {
        o = skipRecord(w.buf, o, w.end);
        if (o < 0) return;
      }
      if (w.an === 0 && keepsAuthority(w, o)) return;
      w.end = o;
      w.ns = 0;
      w.ar = 0;
    },
  };
}
