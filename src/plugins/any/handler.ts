// any: RFC 8482 4.2 — an ANY query gets one synthesized HINFO record instead of every RRset,
// so the server can't be used to amplify traffic. Other queries go on down the chain.
import { QTYPE, RCODE } from '../../dns/constants.ts';
import { NEXT, type Handler } from '../../plugin/types.ts';
import { RFC8482_HINFO } from '../../table/answer.ts';

export default function create(): Handler {
  return {
    serve(q, w) {
      if (q.qtype !== QTYPE.ANY) return NEXT;
      w.start(q, RCODE.NOERROR, 0);
      w.appendRecords(RFC8482_HINFO, 0, RFC8482_HINFO.length, 1, 0, 0);
      return RCODE.NOERROR;
    },
  };
}
