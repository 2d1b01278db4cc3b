// loadbalance: sees every response a later plugin writes (NEXT_POST) and turns its A/AAAA and MX
// records round before it is sent. One turn counter per (name, type) bucket, per worker.
import { QTYPE, RCODE } from '../../dns/constants.ts';
import { TCP_PREFIX } from '../../dns/response.ts';
import { NEXT_POST, type Handler } from '../../plugin/types.ts';
import { RoundRobin } from './round-robin.ts';

/** Counter buckets: 4096 x 4 bytes per worker; names that share a bucket share its turns. */
const BUCKET_BITS = 12;

// One set of scratch arrays per worker thread, shared by every server block's loadbalance.
let shared: RoundRobin | null = null;

export default function create(): Handler {
  const rr = (shared ??= new RoundRobin());
  const turns = new Uint32Array(1 << BUCKET_BITS);
  return {
    serve() {
      return NEXT_POST;
    },
    post(q, w) {
      // CoreDNS leaves everything but NOERROR alone, and zone transfers.
      if (w.rcode !== RCODE.NOERROR || w.an + w.ns + w.ar < 2) return;
      if (q.qtype === QTYPE.AXFR || q.qtype === QTYPE.IXFR) return;
      // Separate counters for A and AAAA of one name: a stub asks both at once, and a shared
      // counter would then advance by two per lookup and skip every other address.
      const bucket = Math.imul(q.hash ^ q.qtype, 0x9e3779b1) >>> (32 - BUCKET_BITS);
      const turn = turns[bucket]!;
      if (rr.apply(w.buf, TCP_PREFIX, TCP_PREFIX + q.questionEnd, w.end, w.an, w.ns, w.ar, turn)) {
        turns[bucket] = turn + 1;
      }
    },
  };
}
