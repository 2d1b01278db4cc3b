// Address helpers shared by reverse zones, PTR names and whoami (off the hot path).
import { isIP } from 'node:net';

/** The eight 16-bit groups of an IPv6 address, `::` expanded, zone index dropped. */
export function ipv6Groups(ip: string): number[] {
  const zone = ip.indexOf('%');
  const text = zone >= 0 ? ip.slice(0, zone) : ip;
  const [head, tail] = text.includes('::') ? (text.split('::') as [string, string]) : [text, null];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const parts = tail === null ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return parts.map((g) => parseInt(g, 16) || 0);
}

/** The 32 hex nibbles of an IPv6 address, most significant first. */
export function ipv6Nibbles(ip: string): string[] {
  return ipv6Groups(ip).flatMap((g) => g.toString(16).padStart(4, '0').split(''));
}

/** in-addr.arpa / ip6.arpa name of an address (RFC 1035 3.5, RFC 3596 2.5). */
export function reverseName(ip: string): string {
  // One join, not a join and a concatenation: a flat string, not a rope (see flatName in the
  // kubernetes plugin's records.ts).
  if (isIP(ip) === 4) return [...ip.split('.').reverse(), 'in-addr', 'arpa', ''].join('.');
  return [...ipv6Nibbles(ip).reverse(), 'ip6', 'arpa', ''].join('.');
}
