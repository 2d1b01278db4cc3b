// The wire-format pieces the local plugin answers with, made once: every record's owner is a
// compression pointer into the question (RFC 1035 4.1.4), written per query, so each piece is
// what follows an owner name (type, class, TTL, RDATA).
import { QTYPE } from '../../dns/constants.ts';
import { nameToWire } from '../../dns/name.ts';

/** As CoreDNS's local: a week, for the records and as the SOA's minimum (the negative TTL). */
export const LOCAL_TTL = 604800;

/** type, class IN, TTL, RDLENGTH, then RDATA. */
export function recordAfterOwner(type: number, rdata: Uint8Array, ttl = LOCAL_TTL): Uint8Array {
  const out = new Uint8Array(10 + rdata.length);
  out[0] = type >> 8;
  out[1] = type & 0xff;
  out[3] = 1; // IN, whatever the query's class (CoreDNS answers a CH query for localhost the same)
  new DataView(out.buffer).setUint32(4, ttl);
  out[8] = rdata.length >> 8;
  out[9] = rdata.length & 0xff;
  out.set(rdata, 10);
  return out;
}

const LOCALHOST = nameToWire('localhost.');

/** `localhost. root.localhost. 1 0 0 0 604800`. */
function soaRdata(): Uint8Array {
  const rname = nameToWire('root.localhost.');
  const out = new Uint8Array(LOCALHOST.length + rname.length + 20);
  out.set(LOCALHOST, 0);
  out.set(rname, LOCALHOST.length);
  const v = new DataView(out.buffer, LOCALHOST.length + rname.length);
  v.setUint32(0, 1); // serial
  v.setUint32(16, LOCAL_TTL); // minimum; refresh, retry and expire stay 0
  return out;
}

export const LOCAL_RECORDS = {
  a: recordAfterOwner(QTYPE.A, new Uint8Array([127, 0, 0, 1])),
  aaaa: recordAfterOwner(QTYPE.AAAA, new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])),
  soa: recordAfterOwner(QTYPE.SOA, soaRdata()),
  ns: recordAfterOwner(QTYPE.NS, LOCALHOST),
  ptr: recordAfterOwner(QTYPE.PTR, LOCALHOST),
};
