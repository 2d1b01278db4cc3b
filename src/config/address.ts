// Server block keys: `[SCHEME://]ZONE[:PORT]`, where ZONE may also be a CIDR that stands for a
// reverse zone (10.0.0.0/8 -> 10.in-addr.arpa.), as CoreDNS reads them. The scheme picks the
// transport: dns:// (UDP and TCP), tls:// (DNS over TLS, RFC 7858) or https:// (DNS over HTTPS,
// RFC 8484).
import { isIP } from 'node:net';
import { type Token, errorAt } from '../corefile/index.ts';
import { canonicalName } from '../dns/name.ts';
import { ipv6Nibbles } from '../dns/ip.ts';
import type { Transport } from '../worker/config.ts';

export interface ServerAddress {
  transport: Transport;
  zone: string;
  port: number;
}

const SCHEMES: Record<string, Transport | 'unsupported'> = {
  'dns': 'dns', 'tls': 'tls', 'https': 'https', 'grpc': 'unsupported', 'quic': 'unsupported', 'https3': 'unsupported',
};

/**
 * Ports of keys that name none. As in CoreDNS, -dns.port only changes the one of dns:// keys;
 * tls:// and https:// keep the ports of RFC 7858 (853) and HTTPS (443).
 */
const STANDARD_PORTS: Record<Exclude<Transport, 'dns'>, number> = { tls: 853, https: 443 };

export function parseServerKey(t: Token, defaultPort: number): ServerAddress[] {
  let text = t.text;
  let scheme = 'dns';
  const m = /^([a-z0-9]+):\/\//i.exec(text);
  if (m) {
    scheme = m[1]!.toLowerCase();
    text = text.slice(m[0].length);
  }
  const transport = SCHEMES[scheme];
  if (!transport) throw errorAt(t, `unknown scheme '${scheme}://'`, 'use dns:// (or no scheme), tls:// or https://');
  if (transport === 'unsupported') throw errorAt(t, `${scheme}:// servers are not supported yet`, 'use dns:// (or no scheme), tls:// or https://');
  // The port follows the zone, or the prefix length of a CIDR (whose IPv6 address has colons).
  const m2 = (text.includes('/') ? /^(.+\/\d+)(?::(\d*))?$/ : /^([^:]*)(?::(\d*))?$/).exec(text);
  if (!m2) throw errorAt(t, `'${t.text}' is not a server block key`, 'write [SCHEME://]ZONE[:PORT], e.g. cluster.local:53');
  const host = m2[1]!;
  let port = transport === 'dns' ? defaultPort : STANDARD_PORTS[transport];
  if (m2[2] !== undefined) {
    port = Number(m2[2]);
    if (m2[2] === '' || port < 1 || port > 65535) throw errorAt(t, `port '${m2[2]}' is not valid`, 'ports are 1 to 65535');
  }
  if (host === '') throw errorAt(t, 'server block key has no zone', "write '.' for the root zone, e.g. .:53");
  if (host.includes('/')) return reverseZones(t, host).map((zone) => ({ transport, zone, port }));
  if (!/^[a-z0-9._*-]+$/i.test(host) && host !== '.') throw errorAt(t, `'${host}' is not a valid zone name`);
  return [{ transport, zone: canonicalName(host), port }];
}

/** CIDR -> reverse zones on octet (IPv4) or nibble (IPv6) boundaries, like CoreDNS. */
function reverseZones(t: Token, cidr: string): string[] {
  const [ip, bitsText] = cidr.split('/') as [string, string];
  const family = isIP(ip);
  const bits = Number(bitsText);
  if (!family || !/^\d+$/.test(bitsText) || bits > (family === 4 ? 32 : 128)) {
    throw errorAt(t, `'${cidr}' is not a valid CIDR`, 'e.g. 10.0.0.0/8 or fd00::/64');
  }
  if (family === 4) {
    const octets = ip.split('.').map(Number);
    const whole = Math.floor(bits / 8);
    const extra = bits % 8;
    const base = octets.slice(0, whole);
    if (extra === 0) return [canonicalName([...base].reverse().join('.') + (whole ? '.' : '') + 'in-addr.arpa')];
    const start = octets[whole]! & (0xff << (8 - extra));
    const out: string[] = [];
    for (let v = start; v < start + (1 << (8 - extra)); v++) out.push(canonicalName([...base, v].reverse().join('.') + '.in-addr.arpa'));
    return out;
  }
  const nibbles = ipv6Nibbles(ip);
  const whole = Math.floor(bits / 4);
  const extra = bits % 4;
  const base = nibbles.slice(0, whole);
  const make = (n: string[]): string => canonicalName([...n].reverse().join('.') + (n.length ? '.' : '') + 'ip6.arpa');
  if (extra === 0) return [make(base)];
  const start = parseInt(nibbles[whole]!, 16) & (0xf << (4 - extra));
  const out: string[] = [];
  for (let v = start; v < start + (1 << (4 - extra)); v++) out.push(make([...base, v.toString(16)]));
  return out;
}
