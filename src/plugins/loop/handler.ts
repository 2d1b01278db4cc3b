// loop (worker side): counts arrivals of this server's probe query in the shared state and,
// as CoreDNS's loop does, passes the probe on to the next plugin (forward), which is how a loop
// brings it back. Any other query costs one type comparison.
import { QTYPE, RCODE } from '../../dns/constants.ts';
import { NEXT, type Handler } from '../../plugin/types.ts';
import { MAX_ADDR, MAX_SEEN, S_ADDR, S_ADDR_LEN, S_CLAIMED, S_COUNT, S_DETECTED, S_OFF, S_PORT } from './state.ts';

export interface LoopConfig {
  /** Lower-cased wire form of the probe name. */
  probe: number[];
  state: SharedArrayBuffer;
}

export default function create(config: LoopConfig): Handler {
  const probe = Uint8Array.from(config.probe);
  const st = new Int32Array(config.state);
  return {
    serve(q, w, r) {
      if (q.qtype !== QTYPE.HINFO || Atomics.load(st, S_OFF) !== 0) return NEXT;
      if (q.nameLen !== probe.length) return NEXT;
      for (let i = 0; i < probe.length; i++) if (q.lower[i] !== probe[i]) return NEXT;
      if (Atomics.add(st, S_COUNT, 1) + 1 <= MAX_SEEN) return NEXT;
      if (Atomics.compareExchange(st, S_CLAIMED, 0, 1) === 0) {
        const a = q.remoteAddress.startsWith('::ffff:') && q.remoteAddress.includes('.') ? q.remoteAddress.slice(7) : q.remoteAddress;
        const n = Math.min(a.length, MAX_ADDR);
        for (let i = 0; i < n; i++) Atomics.store(st, S_ADDR + i, a.charCodeAt(i));
        Atomics.store(st, S_ADDR_LEN, n);
        Atomics.store(st, S_PORT, q.remotePort);
        Atomics.store(st, S_DETECTED, 1);
      }
      // The primary stops the server now (CoreDNS exits on the spot). Sending the probe round
      // once more would only feed the loop until then, so it ends here.
      r.error = 'plugin/loop: forwarding loop detected';
      w.start(q, RCODE.SERVFAIL, 0);
      return RCODE.SERVFAIL;
    },
  };
}
