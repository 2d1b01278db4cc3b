// The wire-format pieces the local plugin answers with, made once: every record's owner is a
// compression pointer into the question (RFC 1035 4.1.4), written per query, so each piece is
// what follows an owner name (type, class, TTL, RDATA).
import { QCLASS, QTYPE } from '../../dns/constants.ts';
import { nameToWire } from '../../dns/name.ts';
import { recordAfterOwner } from '../../dns/record-bytes.ts';

/** As CoreDNS's local: a week, for the records and as the SOA's minimum (the negative TTL). */
export const LOCAL_TTL = 604800;

/** Class IN whatever the query's (CoreDNS answers a CH query for localhost the same). */
const record = (type: number, rdata: Uint8Array): Uint8Array => recordAfterOwner(type, QCLASS.IN, LOCAL_TTL, rdata);

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
  a: record(QTYPE.A, new Uint8Array([127, 0, 0, 1])),
  aaaa: record(QTYPE.AAAA, new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])),
  soa: record(QTYPE.SOA, soaRdata()),
  ns: record(QTYPE.NS, LOCALHOST),
  ptr: record(QTYPE.PTR, LOCALHOST),
};
