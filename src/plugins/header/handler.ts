// header: puts the AA, RA and RD bits of queries (before the later plugins see them, and as
// forward sends them on) and of responses into the state the rules say, as CoreDNS's header.
import { NEXT, NEXT_POST, type Handler } from '../../plugin/types.ts';
import { type FlagMasks, applyMasks } from './rules.ts';

export interface HeaderConfig {
  query: FlagMasks;
  response: FlagMasks;
}

export default function create(config: HeaderConfig): Handler {
  const { query, response } = config;
  const touchesQuery = query.set !== 0 || query.clear !== 0;
  const touchesResponse = response.set !== 0 || response.clear !== 0;
  return {
    serve(q) {
      if (touchesQuery) {
        // The parsed flags (what start() echoes: RD) and the message's own bytes (what forward
        // sends) change together.
        q.flags = applyMasks(q.flags, query);
        q.msg[2] = q.flags >> 8;
        q.msg[3] = q.flags & 0xff;
      }
      return touchesResponse ? NEXT_POST : NEXT;
    },
    post(_q, w) {
      w.flags = applyMasks(w.flags, response);
    },
  };
}
