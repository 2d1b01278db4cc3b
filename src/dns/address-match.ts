// Client address against a list of networks, for the plugins that act on the source of every
// query (acl): the address string Node gives is read character by character into scratch
// words, with no split, no object and no allocation per query.
import { isIP } from 'node:net';

/** A network, as given in a Corefile: an address or CIDR. Kept as text in worker configs. */
export interface NetSpec {
  v6: boolean;
  /** The network's address as four 32-bit words (IPv4: words[0] only). */
  words: number[];
  prefix: number;
}

/** Parses `10.0.0.0/8`, `fd00::/8`, or a single address; null when it is neither. */
export function parseNet(text: string): NetSpec | null {
  const slash = text.indexOf('/');
  const ip = slash < 0 ? text : text.slice(0, slash);
  const family = isIP(ip);
  if (family === 0) return null;
  const max = family === 4 ? 32 : 128;
  const prefix = slash < 0 ? max : Number(text.slice(slash + 1));
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (slash >= 0 && !/^\d+$/.test(text.slice(slash + 1)))) return null;
  const scratch = new Uint32Array(4);
  const kind = parseAddress(ip, scratch);
  if (kind !== family) return null; // an IPv4-mapped IPv6 network: write it as IPv4
  const words = [...scratch];
  for (let i = 0; i < 4; i++) words[i] = (words[i]! & maskWord(prefix, i)) >>> 0;
  return { v6: family === 6, words, prefix };
}

/** Bits of word `i` that a /prefix keeps. */
function maskWord(prefix: number, i: number): number {
  const bits = Math.max(0, Math.min(32, prefix - i * 32));
  return bits === 0 ? 0 : bits === 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
}

/**
 * Reads an address into `out`: 4 (IPv4, or IPv4-mapped IPv6 such as Node reports on dual-stack
 * sockets: out[0]), 6 (out[0..3]), 0 when it is not an address. A `%zone` suffix is ignored.
 */
export function parseAddress(ip: string, out: Uint32Array): 0 | 4 | 6 {
  const n = ip.length;
  let colon = false;
  for (let i = 0; i < n; i++) if (ip.charCodeAt(i) === 0x3a) { colon = true; break; }
  if (!colon) {
    const v = parseV4(ip, 0, n);
    if (v < 0) return 0;
    out[0] = v;
    return 4;
  }
  // IPv6: up to 8 groups, one `::`, perhaps a dotted IPv4 tail (RFC 4291 2.2).
  const groups = GROUPS;
  let count = 0;
  let gap = -1;
  let i = 0;
  if (n >= 2 && ip.charCodeAt(0) === 0x3a && ip.charCodeAt(1) === 0x3a) {
    gap = 0;
    i = 2;
  }
  let end = n;
  for (let k = 0; k < n; k++) if (ip.charCodeAt(k) === 0x25) { end = k; break; } // %zone
  while (i < end) {
    let j = i;
    let value = 0;
    let dotted = false;
    while (j < end) {
      const c = ip.charCodeAt(j);
      if (c === 0x3a) break;
      if (c === 0x2e) dotted = true;
      const d = hexDigit(c);
      if (d < 0 && c !== 0x2e) return 0;
      if (!dotted) value = value * 16 + d;
      j++;
    }
    if (dotted) {
      if (count > 6) return 0;
      const v4 = parseV4(ip, i, j);
      if (v4 < 0) return 0;
      groups[count++] = v4 >>> 16;
      groups[count++] = v4 & 0xffff;
      i = j;
      break;
    }
    if (j === i || j - i > 4 || count >= 8) return 0;
    groups[count++] = value;
    if (j >= end) { i = j; break; }
    // j is at a colon: `::` marks the gap.
    if (j + 1 < end && ip.charCodeAt(j + 1) === 0x3a) {
      if (gap >= 0) return 0;
      gap = count;
      i = j + 2;
    } else {
      i = j + 1;
      if (i >= end) return 0; // a trailing single colon
    }
  }
  if (i < end) return 0;
  if (gap < 0 ? count !== 8 : count > 7) return 0;
  // Spread the groups around the gap into the eight places.
  const fill = 8 - count;
  for (let g = 7, src = count - 1; g >= 0; g--) {
    if (gap >= 0 && g >= gap && g < gap + fill) FULL[g] = 0;
    else FULL[g] = groups[src--]!;
  }
  // ::ffff:a.b.c.d is the IPv4 address a.b.c.d (RFC 4291 2.5.5.2).
  if (FULL[0] === 0 && FULL[1] === 0 && FULL[2] === 0 && FULL[3] === 0 && FULL[4] === 0 && FULL[5] === 0xffff) {
    out[0] = ((FULL[6]! << 16) | FULL[7]!) >>> 0;
    return 4;
  }
  for (let w = 0; w < 4; w++) out[w] = ((FULL[2 * w]! << 16) | FULL[2 * w + 1]!) >>> 0;
  return 6;
}

const GROUPS = new Uint16Array(8);
const FULL = new Uint16Array(8);

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** `a.b.c.d` between from and to as an unsigned 32-bit number, -1 when it is not one. */
function parseV4(s: string, from: number, to: number): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 0x30 && c <= 0x39) {
      part = part * 10 + (c - 0x30);
      if (++digits > 3 || part > 255) return -1;
    } else return -1;
  }
  if (digits === 0 || dots !== 3) return -1;
  return value * 256 + part;
}

const BYTES_WORDS = new Uint32Array(4);

/**
 * An address's bytes in network order into `out` (16 bytes long at least): 4 (IPv4, also
 * IPv4-mapped IPv6), 16 (IPv6), 0 when it is not an address. Allocation-free.
 */
export function addressBytes(ip: string, out: Uint8Array): 0 | 4 | 16 {
  const kind = parseAddress(ip, BYTES_WORDS);
  if (kind === 0) return 0;
  const n = kind === 4 ? 1 : 4;
  for (let w = 0; w < n; w++) {
    const v = BYTES_WORDS[w]!;
    out[4 * w] = v >>> 24;
    out[4 * w + 1] = (v >>> 16) & 0xff;
    out[4 * w + 2] = (v >>> 8) & 0xff;
    out[4 * w + 3] = v & 0xff;
  }
  return n === 1 ? 4 : 16;
}

/** Networks compiled for matching; `matches` parses the address once per call. */
export class NetMatcher {
  private readonly v4: Array<{ net: number; mask: number }> = [];
  private readonly v6: Array<{ words: Uint32Array; masks: Uint32Array }> = [];
  private readonly scratch = new Uint32Array(4);
  /** The last address asked about and its answer: a client sends many queries in a row. */
  private lastIp = '';
  private lastResult = false;

  constructor(nets: NetSpec[]) {
    for (const n of nets) {
      if (!n.v6) this.v4.push({ net: n.words[0]! >>> 0, mask: maskWord(n.prefix, 0) });
      else this.v6.push({ words: Uint32Array.from(n.words), masks: Uint32Array.from([0, 1, 2, 3], (i) => maskWord(n.prefix, i)) });
    }
  }

  /** Is `ip` (as Node reports a client's address) in one of the networks? */
  matches(ip: string): boolean {
    if (ip === this.lastIp) return this.lastResult;
    const result = this.lookup(ip);
    this.lastIp = ip;
    this.lastResult = result;
    return result;
  }

  private lookup(ip: string): boolean {
    const s = this.scratch;
    const kind = parseAddress(ip, s);
    if (kind === 4) {
      const a = s[0]!;
      const v4 = this.v4;
      for (let i = 0; i < v4.length; i++) if (((a & v4[i]!.mask) >>> 0) === v4[i]!.net) return true;
      return false;
    }
    if (kind === 6) {
      for (let i = 0; i < this.v6.length; i++) {
        const n = this.v6[i]!;
        let k = 0;
        while (k < 4 && ((s[k]! & n.masks[k]!) >>> 0) === n.words[k]) k++;
        if (k === 4) return true;
      }
    }
    return false;
  }
}
