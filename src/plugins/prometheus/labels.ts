// Label values of the server metrics, as CoreDNS writes them (plugin/metrics/vars), and the
// tables that turn a query's numbers into label indexes without allocating.

/** Query types CoreDNS counts by name (vars/monitor.go); every other type is "other". */
export const TYPES = [
  'A', 'AAAA', 'CNAME', 'DNSKEY', 'DS', 'MX', 'NSEC3', 'NSEC', 'NS', 'PTR', 'RRSIG', 'SOA', 'SRV', 'TXT',
  'HTTPS', 'IXFR', 'AXFR', 'ANY', 'other',
] as const;
const TYPE_CODES: Record<string, number> = {
  A: 1, AAAA: 28, CNAME: 5, DNSKEY: 48, DS: 43, MX: 15, NSEC3: 50, NSEC: 47, NS: 2, PTR: 12, RRSIG: 46,
  SOA: 6, SRV: 33, TXT: 16, HTTPS: 65, IXFR: 251, AXFR: 252, ANY: 255,
};
export const OTHER_TYPE = TYPES.length - 1;
/** qtype (< 256; all the named ones are) -> index into TYPES. */
export const TYPE_INDEX = new Uint8Array(256).fill(OTHER_TYPE);
TYPES.forEach((t, i) => {
  if (t !== 'other') TYPE_INDEX[TYPE_CODES[t]!] = i;
});

/**
 * Rcode label values, index = rcode (miekg/dns RcodeToString; CoreDNS's rcode.ToString writes
 * RCODEn for the unnamed ones). Rcodes from 24 up, which nothing here sends, share the last slot.
 */
export const RCODES = [
  'NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET',
  'NOTAUTH', 'NOTZONE', 'DSOTYPENI', 'RCODE12', 'RCODE13', 'RCODE14', 'RCODE15', 'BADSIG', 'BADKEY',
  'BADTIME', 'BADMODE', 'BADNAME', 'BADALG', 'BADTRUNC', 'BADCOOKIE', 'other',
] as const;
export const OTHER_RCODE = RCODES.length - 1;

export const PROTOS = ['udp', 'tcp'] as const;
/** CoreDNS's family label: 1 = IPv4 (IPv4-mapped IPv6 included), 2 = IPv6. */
export const FAMILIES = ['1', '2'] as const;

/**
 * Plugins CoreDNS does not put in the chain (they only configure the server or serve HTTP), so
 * they never write a response and coredns_plugin_enabled does not list them.
 */
export const NOT_HANDLERS = new Set(['root', 'tls', 'quic', 'timeouts', 'multisocket', 'reload', 'bind', 'debug', 'ready', 'health', 'pprof']);

/** True for an IPv6 client that is not an IPv4-mapped one (`::ffff:1.2.3.4`). */
export function isIPv6(address: string): boolean {
  if (address.indexOf(':') < 0) return false;
  return !(address.startsWith('::ffff:') && address.indexOf('.') > 0);
}
