// Zone-file style resource records (RFC 1035 5.1) -> dns-packet record objects. Used to read
// inline records from the Corefile; off the hot path.
import { isIP } from 'node:net';
import { canonicalName } from './name.ts';
import type { RR } from '../table/entry.ts';

export class RRTextError extends Error {
  /** Index of the offending word in the line. */
  readonly word: number;
  constructor(message: string, word: number) {
    super(message);
    this.word = word;
  }
}

const CLASSES = new Set(['IN', 'CH', 'HS']);
const TYPES = new Set(['A', 'AAAA', 'CNAME', 'NS', 'PTR', 'MX', 'TXT', 'SRV', 'SOA', 'HINFO', 'CAA']);

/** Resolves `@` and relative names against the origin. */
export function absoluteName(name: string, origin: string): string {
  if (name === '@') return canonicalName(origin);
  if (name.endsWith('.')) return canonicalName(name);
  const o = canonicalName(origin);
  return canonicalName(o === '.' ? `${name}.` : `${name}.${o}`);
}

/** Parses `OWNER [TTL] [CLASS] TYPE RDATA...` (TTL and CLASS in either order). */
export function parseRRText(words: string[], origin: string, defaultTtl: number): RR {
  if (words.length < 3) throw new RRTextError('a record needs at least an owner, a type and data', Math.max(0, words.length - 1));
  const owner = absoluteName(words[0]!, origin);
  let i = 1;
  let ttl = defaultTtl;
  let cls = 'IN';
  for (let k = 0; k < 2; k++) {
    const w = words[i]!;
    if (/^\d+$/.test(w)) {
      ttl = Number(w);
      if (ttl > 0x7fffffff) throw new RRTextError(`TTL ${w} is too large`, i);
      i++;
    } else if (CLASSES.has(w.toUpperCase())) {
      cls = w.toUpperCase();
      i++;
    }
  }
  const type = (words[i] ?? '').toUpperCase();
  if (!TYPES.has(type)) {
    throw new RRTextError(`unsupported or missing record type '${words[i] ?? ''}'`, Math.min(i, words.length - 1));
  }
  const typeAt = i;
  const rdata = words.slice(i + 1);
  const need = (n: number, what: string): void => {
    if (rdata.length !== n) throw new RRTextError(`${type} needs ${what}`, typeAt);
  };
  const int = (s: string, at: number, max: number): number => {
    if (!/^\d+$/.test(s) || Number(s) > max) throw new RRTextError(`'${s}' is not a number from 0 to ${max}`, typeAt + 1 + at);
    return Number(s);
  };
  let data: unknown;
  switch (type) {
    case 'A':
      need(1, 'one IPv4 address');
      if (isIP(rdata[0]!) !== 4) throw new RRTextError(`'${rdata[0]}' is not an IPv4 address`, typeAt + 1);
      data = rdata[0];
      break;
    case 'AAAA':
      need(1, 'one IPv6 address');
      if (isIP(rdata[0]!) !== 6) throw new RRTextError(`'${rdata[0]}' is not an IPv6 address`, typeAt + 1);
      data = rdata[0];
      break;
    case 'CNAME':
    case 'NS':
    case 'PTR':
      need(1, 'one domain name');
      data = absoluteName(rdata[0]!, origin);
      break;
    case 'MX':
      need(2, 'a preference and an exchange name');
      data = { preference: int(rdata[0]!, 0, 65535), exchange: absoluteName(rdata[1]!, origin) };
      break;
    case 'TXT':
      if (rdata.length === 0) throw new RRTextError('TXT needs at least one string', typeAt);
      data = rdata;
      break;
    case 'SRV':
      need(4, 'priority, weight, port and target');
      data = {
        priority: int(rdata[0]!, 0, 65535), weight: int(rdata[1]!, 1, 65535),
        port: int(rdata[2]!, 2, 65535), target: absoluteName(rdata[3]!, origin),
      };
      break;
    case 'SOA':
      need(7, 'mname, rname, serial, refresh, retry, expire and minimum');
      data = {
        mname: absoluteName(rdata[0]!, origin), rname: absoluteName(rdata[1]!, origin),
        serial: int(rdata[2]!, 2, 0xffffffff), refresh: int(rdata[3]!, 3, 0x7fffffff), retry: int(rdata[4]!, 4, 0x7fffffff),
        expire: int(rdata[5]!, 5, 0x7fffffff), minimum: int(rdata[6]!, 6, 0x7fffffff),
      };
      break;
    case 'HINFO':
      need(2, 'a CPU and an OS string');
      data = { cpu: rdata[0], os: rdata[1] };
      break;
    case 'CAA':
      need(3, 'flags, tag and value');
      data = { flags: int(rdata[0]!, 0, 255), tag: rdata[1], value: rdata[2] };
      break;
  }
  return { name: owner, type, ttl, class: cls, data };
}
