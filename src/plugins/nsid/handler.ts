// nsid: answers a query that asks for the name server identifier (an empty NSID option, RFC
// 5001) with this server's identifier in the response's OPT record, so an operator can tell
// which replica (pod) answered. Queries without the option are not touched.
import { findOpt, hasEdnsOption } from '../../dns/message.ts';
import { NEXT, NEXT_POST, type Handler } from '../../plugin/types.ts';

/** RFC 5001 2.3: the NSID option code. */
export const EDNS_NSID = 3;

export interface NsidConfig {
  /** The identifier's bytes (UTF-8 of the Corefile's DATA, or the host name). */
  data: Uint8Array;
}

export default function create(config: NsidConfig): Handler {
  const option = new Uint8Array(4 + config.data.length);
  option[1] = EDNS_NSID;
  option[2] = config.data.length >> 8;
  option[3] = config.data.length & 0xff;
  option.set(config.data, 4);
  return {
    serve(q) {
      if (!q.edns) return NEXT;
      const opt = findOpt(q.msg, q.len, q.questionEnd);
      return opt >= 0 && hasEdnsOption(q.msg, q.len, opt, EDNS_NSID) ? NEXT_POST : NEXT;
    },
    post(_q, w) {
      w.ednsOptions = option;
    },
  };
}
