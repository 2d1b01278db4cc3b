// DNS wire constants (RFC 1035, RFC 6891, RFC 3596, RFC 2782).

export const HEADER_SIZE = 12;
/** A compression pointer (RFC 1035 4.1.4) to the question's name, right after the header. */
export const QNAME_POINTER = 0xc000 | HEADER_SIZE;

export const QTYPE = {
  A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, HINFO: 13, MX: 15, TXT: 16, AAAA: 28, SRV: 33,
  OPT: 41, DS: 43, RRSIG: 46, NSEC: 47, DNSKEY: 48, AXFR: 252, IXFR: 251, ANY: 255,
} as const;

export const QCLASS = { IN: 1, CH: 3, HS: 4, NONE: 254, ANY: 255 } as const;

export const RCODE = {
  NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5,
  // Extended rcode (needs EDNS): 16 = BADVERS (RFC 6891 6.1.3).
  BADVERS: 16,
} as const;

export const OPCODE_QUERY = 0;

// Header flag bits in the 16-bit flags word.
export const FLAG_QR = 0x8000;
export const FLAG_AA = 0x0400;
export const FLAG_TC = 0x0200;
export const FLAG_RD = 0x0100;
export const FLAG_RA = 0x0080;
export const FLAG_AD = 0x0020;
export const FLAG_CD = 0x0010;

// EDNS0: the DO bit sits in the OPT TTL's flags half (RFC 3225).
export const EDNS_DO = 0x8000;

/** UDP payload size we advertise in our OPT (the DNS flag day 2020 value, same as CoreDNS). */
export const OUR_UDP_SIZE = 1232;
/** Largest UDP payload we ever send, whatever a client advertises. */
export const MAX_UDP_SIZE = 4096;
/** Classic DNS UDP limit for clients without EDNS (RFC 1035 4.2.1). */
export const CLASSIC_UDP_SIZE = 512;

const typeNames = new Map<number, string>();
for (const [name, value] of Object.entries(QTYPE)) typeNames.set(value, name);
const classNames = new Map<number, string>();
for (const [name, value] of Object.entries(QCLASS)) classNames.set(value, name);
const rcodeNames = new Map<number, string>();
for (const [name, value] of Object.entries(RCODE)) rcodeNames.set(value, name);

/** Presentation form of a type (RFC 3597 TYPEnnn for unknown ones). */
export function typeName(type: number): string {
  return typeNames.get(type) ?? `TYPE${type}`;
}
export function className(cls: number): string {
  return classNames.get(cls) ?? `CLASS${cls}`;
}
export function rcodeName(rcode: number): string {
  return rcodeNames.get(rcode) ?? `RCODE${rcode}`;
}
export function typeFromName(name: string): number | undefined {
  const upper = name.toUpperCase();
  const known = (QTYPE as Record<string, number>)[upper];
  if (known !== undefined) return known;
  const m = /^TYPE(\d{1,5})$/.exec(upper);
  return m && Number(m[1]) < 65536 ? Number(m[1]) : undefined;
}
