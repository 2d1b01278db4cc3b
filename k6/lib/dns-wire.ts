// DNS wire format for the k6 scripts: encode a query, parse a response (header, RCODE with the
// EDNS extended bits, answer count, answers, the smallest TTL). Plain TypeScript on
// Uint8Array/DataView: no k6 import, no Node API (no Buffer, no TextEncoder), so the same file
// runs in k6 and is unit tested under Node (test/k6-scripts.test.ts).

export const QTYPES: Readonly<Record<string, number>> = {
  A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, HINFO: 13, MX: 15, TXT: 16, AAAA: 28, SRV: 33, NAPTR: 35,
  DS: 43, RRSIG: 46, NSEC: 47, DNSKEY: 48, NSEC3: 50, SVCB: 64, HTTPS: 65, OPT: 41, IXFR: 251, AXFR: 252, ANY: 255, CAA: 257,
};

const TYPE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(QTYPES).map(([k, v]) => [v, k]));

/** RCODE names, 0-23 (RFC 6895 registry); the extended ones need EDNS. */
export const RCODES: readonly string[] = [
  'NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE',
  'DSOTYPENI', 'RCODE12', 'RCODE13', 'RCODE14', 'RCODE15', 'BADVERS', 'BADKEY', 'BADTIME', 'BADMODE', 'BADNAME', 'BADALG', 'BADTRUNC', 'BADCOOKIE',
];

export function rcodeName(code: number): string {
  return RCODES[code] ?? `RCODE${code}`;
}

/** `A`, `aaaa`, `TYPE65` or a number -> the type code. Throws on an unknown name. */
export function qtypeCode(type: string | number): number {
  if (typeof type === 'number') return type;
  const t = type.toUpperCase();
  const known = QTYPES[t];
  if (known !== undefined) return known;
  const m = /^TYPE(\d{1,5})$/.exec(t);
  if (m && Number(m[1]) < 65536) return Number(m[1]);
  throw new Error(`unknown query type ${type}`);
}

export function typeName(code: number): string {
  return TYPE_NAMES[code] ?? `TYPE${code}`;
}

export interface QueryOptions {
  /** Message ID; RFC 8484 asks DoH GET clients for 0, so caches see the same URL. Default 0. */
  id?: number;
  /** Recursion desired, default true (as dig and dnsperf send). */
  rd?: boolean;
  /** Add an OPT record advertising this UDP payload size (e.g. 1232); default none. */
  edns?: number;
  /** DNSSEC OK bit (implies EDNS, 1232 unless `edns` is given). */
  dnssecOk?: boolean;
  /** RFC 8467 padding: pad the message to a multiple of this many bytes (implies EDNS), e.g. 128. */
  padTo?: number;
  /** Class, default 1 (IN). */
  qclass?: number;
}

/** Wire form of a domain name (ASCII only; a trailing dot is optional; `.` is the root). */
export function encodeName(name: string): number[] {
  const out: number[] = [];
  const n = name.endsWith('.') ? name.slice(0, -1) : name;
  if (n !== '') {
    for (const label of n.split('.')) {
      if (label.length === 0 || label.length > 63) throw new Error(`bad label in ${JSON.stringify(name)}`);
      out.push(label.length);
      for (let i = 0; i < label.length; i++) {
        const c = label.charCodeAt(i);
        if (c > 0x7e || c < 0x21) throw new Error(`name ${JSON.stringify(name)} is not printable ASCII (use its punycode form)`);
        out.push(c);
      }
    }
  }
  out.push(0);
  if (out.length > 255) throw new Error(`name ${JSON.stringify(name)} is longer than 255 bytes`);
  return out;
}

/** A query message: header, one question, optionally an OPT record. */
export function encodeQuery(name: string, type: string | number, opts: QueryOptions = {}): Uint8Array {
  const id = (opts.id ?? 0) & 0xffff;
  const rd = opts.rd ?? true;
  const wantOpt = opts.edns !== undefined || opts.dnssecOk === true || (opts.padTo ?? 0) > 0;
  const bytes: number[] = [id >> 8, id & 0xff, rd ? 0x01 : 0x00, 0x00, 0, 1, 0, 0, 0, 0, 0, wantOpt ? 1 : 0];
  bytes.push(...encodeName(name));
  const qt = qtypeCode(type);
  const qc = opts.qclass ?? 1;
  bytes.push(qt >> 8, qt & 0xff, qc >> 8, qc & 0xff);
  if (wantOpt) {
    const size = opts.edns ?? 1232;
    // OPT: root name, TYPE 41, CLASS = UDP size, TTL = ext-rcode/version/DO, RDLEN (+ padding option)
    const opt = [0, 0, 41, size >> 8, size & 0xff, 0, 0, opts.dnssecOk ? 0x80 : 0, 0];
    const padTo = opts.padTo ?? 0;
    if (padTo > 0) {
      const base = bytes.length + opt.length + 2 + 4; // + RDLEN + option code/length
      const pad = (padTo - (base % padTo)) % padTo;
      const rdlen = 4 + pad;
      opt.push(rdlen >> 8, rdlen & 0xff, 0, 12, pad >> 8, pad & 0xff);
      for (let i = 0; i < pad; i++) opt.push(0);
    } else {
      opt.push(0, 0);
    }
    bytes.push(...opt);
  }
  return new Uint8Array(bytes);
}

export interface DnsHeader {
  id: number;
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  ad: boolean;
  cd: boolean;
  /** The 4 header bits only; see ParsedMessage.rcode for the extended RCODE. */
  rcode: number;
  qdcount: number;
  ancount: number;
  nscount: number;
  arcount: number;
}

export function toBytes(msg: Uint8Array | ArrayBuffer): Uint8Array {
  return msg instanceof Uint8Array ? msg : new Uint8Array(msg);
}

export function parseHeader(msg: Uint8Array | ArrayBuffer): DnsHeader {
  const b = toBytes(msg);
  if (b.length < 12) throw new Error(`DNS message too short (${b.length} bytes)`);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const flags = v.getUint16(2);
  return {
    id: v.getUint16(0),
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    rd: (flags & 0x0100) !== 0,
    ra: (flags & 0x0080) !== 0,
    ad: (flags & 0x0020) !== 0,
    cd: (flags & 0x0010) !== 0,
    rcode: flags & 0xf,
    qdcount: v.getUint16(4),
    ancount: v.getUint16(6),
    nscount: v.getUint16(8),
    arcount: v.getUint16(10),
  };
}

export interface ResourceRecord {
  name: string;
  type: number;
  typeName: string;
  class: number;
  ttl: number;
  rdlength: number;
  /** A/AAAA: the address; CNAME/NS/PTR: the target name; SRV: `priority weight port target`; MX: `pref exchange`; SOA: `mname rname serial refresh retry expire minimum`; TXT: the strings joined by spaces; else undefined. */
  data?: string;
}

export interface Question {
  name: string;
  type: number;
  typeName: string;
  class: number;
}

export interface ParsedMessage {
  header: DnsHeader;
  question: Question | null;
  answers: ResourceRecord[];
  authority: ResourceRecord[];
  /** Additional records other than OPT. */
  additional: ResourceRecord[];
  /** Header RCODE with the OPT record's extended bits. */
  rcode: number;
  rcodeName: string;
  /** The OPT record's UDP payload size, null without EDNS. */
  ednsUdpSize: number | null;
  /** Smallest TTL among the answers; null when there are none. */
  minTtl: number | null;
  /** Negative-caching TTL (RFC 2308: min of the SOA's TTL and MINIMUM) when the authority has a SOA. */
  negativeTtl: number | null;
  /** Bytes of the message. */
  size: number;
}

/** Reads a (possibly compressed) name at `off`; returns it and the offset after it in place. */
export function readName(b: Uint8Array, off: number): { name: string; next: number } {
  const labels: string[] = [];
  let next = -1;
  let jumps = 0;
  let i = off;
  for (;;) {
    if (i >= b.length) throw new Error('name runs past the end of the message');
    const l = b[i]!;
    if (l === 0) {
      i++;
      break;
    }
    if ((l & 0xc0) === 0xc0) {
      if (i + 1 >= b.length) throw new Error('truncated compression pointer');
      if (next < 0) next = i + 2;
      if (++jumps > 64) throw new Error('compression pointer loop');
      i = ((l & 0x3f) << 8) | b[i + 1]!;
      continue;
    }
    if (l & 0xc0) throw new Error(`bad label type 0x${l.toString(16)}`);
    if (i + 1 + l > b.length) throw new Error('label runs past the end of the message');
    let s = '';
    for (let k = i + 1; k <= i + l; k++) {
      const c = b[k]!;
      s += c === 0x2e || c === 0x5c ? `\\${String.fromCharCode(c)}` : c > 0x20 && c < 0x7f ? String.fromCharCode(c) : `\\${String(c).padStart(3, '0')}`;
    }
    labels.push(s);
    i += l + 1;
  }
  return { name: labels.length ? `${labels.join('.')}.` : '.', next: next < 0 ? i : next };
}

function ipv6(b: Uint8Array, off: number): string {
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(((b[off + i]! << 8) | b[off + i + 1]!).toString(16));
  // Compress the longest run of zero groups (RFC 5952).
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (parts[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && parts[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return parts.join(':');
  return `${parts.slice(0, best).join(':')}::${parts.slice(best + bestLen).join(':')}`;
}

function rdata(b: Uint8Array, v: DataView, type: number, off: number, len: number): string | undefined {
  switch (type) {
    case 1:
      return len === 4 ? `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}` : undefined;
    case 28:
      return len === 16 ? ipv6(b, off) : undefined;
    case 2:
    case 5:
    case 12:
      return readName(b, off).name;
    case 15:
      return `${v.getUint16(off)} ${readName(b, off + 2).name}`;
    case 33:
      return `${v.getUint16(off)} ${v.getUint16(off + 2)} ${v.getUint16(off + 4)} ${readName(b, off + 6).name}`;
    case 6: {
      const m = readName(b, off);
      const r = readName(b, m.next);
      const n = [0, 4, 8, 12, 16].map((k) => v.getUint32(r.next + k));
      return `${m.name} ${r.name} ${n.join(' ')}`;
    }
    case 16: {
      const parts: string[] = [];
      for (let i = off; i < off + len; ) {
        const l = b[i]!;
        let s = '';
        for (let k = i + 1; k <= i + l && k < off + len; k++) s += String.fromCharCode(b[k]!);
        parts.push(s);
        i += l + 1;
      }
      return parts.join(' ');
    }
    default:
      return undefined;
  }
}

/** Parses a whole message. Throws on a malformed one (truncated sections, bad names). */
export function parseMessage(msg: Uint8Array | ArrayBuffer): ParsedMessage {
  const b = toBytes(msg);
  const header = parseHeader(b);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let off = 12;
  let question: Question | null = null;
  for (let q = 0; q < header.qdcount; q++) {
    const n = readName(b, off);
    if (n.next + 4 > b.length) throw new Error('question runs past the end of the message');
    const type = v.getUint16(n.next);
    if (q === 0) question = { name: n.name, type, typeName: typeName(type), class: v.getUint16(n.next + 2) };
    off = n.next + 4;
  }
  const section = (count: number): ResourceRecord[] => {
    const out: ResourceRecord[] = [];
    for (let i = 0; i < count; i++) {
      const n = readName(b, off);
      if (n.next + 10 > b.length) throw new Error('record header runs past the end of the message');
      const type = v.getUint16(n.next);
      const cls = v.getUint16(n.next + 2);
      const ttl = v.getUint32(n.next + 4);
      const rdlength = v.getUint16(n.next + 8);
      const start = n.next + 10;
      if (start + rdlength > b.length) throw new Error('record data runs past the end of the message');
      out.push({ name: n.name, type, typeName: typeName(type), class: cls, ttl, rdlength, data: rdata(b, v, type, start, rdlength) });
      off = start + rdlength;
    }
    return out;
  };
  const answers = section(header.ancount);
  const authority = section(header.nscount);
  const extra = section(header.arcount);
  const opt = extra.find((r) => r.type === 41);
  // OPT: CLASS = UDP size, TTL = extended RCODE (8 bits) | version | flags.
  const rcode = opt ? ((opt.ttl >>> 24) << 4) | header.rcode : header.rcode;
  let minTtl: number | null = null;
  for (const a of answers) if (minTtl === null || a.ttl < minTtl) minTtl = a.ttl;
  const soa = authority.find((r) => r.type === 6);
  const soaMin = soa?.data ? Number(soa.data.split(' ')[6]) : NaN;
  return {
    header,
    question,
    answers,
    authority,
    additional: extra.filter((r) => r.type !== 41),
    rcode,
    rcodeName: rcodeName(rcode),
    ednsUdpSize: opt ? opt.class : null,
    minTtl,
    negativeTtl: soa ? Math.min(soa.ttl, Number.isFinite(soaMin) ? soaMin : soa.ttl) : null,
    size: b.length,
  };
}

export interface QuerySpec {
  name: string;
  type: string;
}

/**
 * dnsperf's query-file format: `name TYPE` per line (TYPE defaults to A). Blank lines, `#`
 * comments (as bench/ reads them) and `;` lines (as dnsperf skips them) are ignored.
 */
export function parseQueryList(text: string): QuerySpec[] {
  const out: QuerySpec[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line || line.startsWith(';')) continue;
    const [name, type] = line.split(/\s+/);
    out.push({ name: name!, type: (type ?? 'A').toUpperCase() });
  }
  return out;
}

/**
 * Names given inline: `name[:TYPE]` or `name TYPE`, separated by commas or new lines, e.g.
 * `kubernetes.default.svc.cluster.local,kube-dns.kube-system.svc.cluster.local:SRV`.
 */
export function parseNameList(text: string): QuerySpec[] {
  return text
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const m = /^(\S+?)(?:[:\s]+([A-Za-z0-9]+))?$/.exec(s);
      if (!m) throw new Error(`bad name ${JSON.stringify(s)}`);
      return { name: m[1]!, type: (m[2] ?? 'A').toUpperCase() };
    });
}

/** Base64url without padding (RFC 4648 §5), as RFC 8484 GET `?dns=` wants. k6 has `b64encode(buf, 'rawurl')`; this is the same for places without it. */
export function base64url(bytes: Uint8Array): string {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += abc[n >> 18]! + abc[(n >> 12) & 63]! + abc[(n >> 6) & 63]! + abc[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += abc[n >> 18]! + abc[(n >> 12) & 63]!;
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += abc[n >> 18]! + abc[(n >> 12) & 63]! + abc[(n >> 6) & 63]!;
  }
  return out;
}
