// bufsize: caps the UDP payload size a query's EDNS0 OPT advertises (RFC 6891 6.2.5) at SIZE, so
// that neither kdns's answer nor an upstream's (forward sends the query's own bytes) is larger
// than a path without fragmentation carries (DNS Flag Day 2020: 1232). A smaller size stays;
// a query without EDNS keeps its 512 bytes. As CoreDNS's bufsize.
import { findOpt } from '../../dns/message.ts';
import { NEXT, type Handler } from '../../plugin/types.ts';

export interface BufsizeConfig {
  size: number;
}

export default function create(config: BufsizeConfig): Handler {
  const size = config.size;
  return {
    serve(q) {
      if (!q.edns || q.udpSize <= size) return NEXT;
      q.udpSize = size;
      // The OPT's CLASS field holds the size: rewrite it in the message itself, for the plugins
      // that pass the query's bytes on. The parser accepted the message, so its records are whole.
      const opt = findOpt(q.msg, q.len, q.questionEnd);
      if (opt >= 0) {
        q.msg[opt + 3] = size >> 8;
        q.msg[opt + 4] = size & 0xff;
      }
      return NEXT;
    },
  };
}
