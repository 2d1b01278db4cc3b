// How long an HTTP cache may keep a DoH response (RFC 8484 5.1): no longer than the smallest TTL
// of its records, and for a negative answer no longer than its SOA's MINIMUM. The same rule as
// CoreDNS's dnsutil.MinimalTTL: errors and answers without records get 5 s, nothing over 1 h.
import { QTYPE, RCODE } from './constants.ts';
import { MessageScan, scanMessage } from './message.ts';

const MINIMAL_TTL = 5;
const MAXIMUM_TTL = 3600;

let scan: MessageScan | null = null;

/** Seconds for `Cache-Control: max-age` of the response `msg[0..len)`. */
export function freshnessLifetime(msg: Uint8Array, len: number): number {
  scan ??= new MessageScan();
  const s = scan;
  if (!scanMessage(msg, len, s)) return MINIMAL_TTL;
  if (s.rcode !== RCODE.NOERROR && s.rcode !== RCODE.NXDOMAIN) return MINIMAL_TTL;
  if (s.count - (s.opt >= 0 ? 1 : 0) === 0) return MINIMAL_TTL;
  let min = MAXIMUM_TTL;
  for (let i = 0; i < s.count; i++) {
    if (i === s.opt) continue;
    const ttl = s.ttl(msg, i);
    if (ttl < min) min = ttl;
    if (s.types[i] === QTYPE.SOA && i >= s.an && i < s.an + s.ns) {
      // SOA RDATA ends with MINIMUM, the negative-caching TTL (RFC 2308 5).
      const end = s.recordEnd(i);
      const minimum = ((msg[end - 4]! << 24) | (msg[end - 3]! << 16) | (msg[end - 2]! << 8) | msg[end - 1]!) >>> 0;
      if (minimum < min) min = minimum;
    }
  }
  return min;
}
