// Hot path: answer a query from a record table by copying precomputed bytes.
import { FLAG_AA, HEADER_SIZE, QTYPE, RCODE } from '../dns/constants.ts';
import type { Query } from '../dns/query.ts';
import type { ResponseWriter } from '../dns/response.ts';
import { QTYPE_ZONE_NEGATIVE, V_FLAG_AA, V_FLAG_ZONE_SOA } from './layout.ts';
import {
  type TableReader, variantAn, variantAr, variantData, variantFlags, variantLen, variantNs, variantRcode,
} from './reader.ts';
import type { ZoneMatcher } from './zone-match.ts';

/**
 * RFC 8482 4.2 minimal answer to ANY: one synthesized HINFO "RFC8482" "" at the query name
 * (owner written as a pointer to the question). TTL 8482 as CoreDNS's any plugin uses.
 */
export const RFC8482_HINFO = new Uint8Array([
  0xc0, 0x0c, 0, QTYPE.HINFO, 0, 1, 0, 0, 0x21, 0x22, 0, 9,
  7, 0x52, 0x46, 0x43, 0x38, 0x34, 0x38, 0x32, 0,
]);

/**
 * Writes the answer for `q` (already known to be inside zone number `zone` of `zones`) and
 * returns its rcode. Unknown names get NXDOMAIN with the zone's SOA in authority (RFC 2308).
 */
export function answerFromTable(table: TableReader, zones: ZoneMatcher, zone: number, q: Query, w: ResponseWriter): number {
  return answerEntry(table, zones, zone, q, w, table.find(q));
}

/** As answerFromTable, for a caller that has already looked the name up (`entry`, 0 = none). */
export function answerEntry(table: TableReader, zones: ZoneMatcher, zone: number, q: Query, w: ResponseWriter, entry: number): number {
  const u8 = table.u8;
  if (entry === 0) {
    w.start(q, RCODE.NXDOMAIN, FLAG_AA);
    appendZoneSoa(table, zones, zone, q, w);
    return RCODE.NXDOMAIN;
  }
  if (q.qtype === QTYPE.ANY) {
    w.start(q, RCODE.NOERROR, FLAG_AA);
    w.appendRecords(RFC8482_HINFO, 0, RFC8482_HINFO.length, 1, 0, 0);
    return RCODE.NOERROR;
  }
  const v = table.variant(entry, q.qtype);
  if (v < 0) {
    w.start(q, RCODE.NOERROR, FLAG_AA);
    return RCODE.NOERROR;
  }
  const rcode = variantRcode(u8, v);
  const flags = variantFlags(u8, v);
  w.start(q, rcode, (flags & V_FLAG_AA) !== 0 ? FLAG_AA : 0);
  const data = variantData(u8, v, entry);
  w.appendRecords(u8, data, data + variantLen(u8, v), variantAn(u8, v), variantNs(u8, v), variantAr(u8, v));
  if ((flags & V_FLAG_ZONE_SOA) !== 0) appendZoneSoa(table, zones, zone, q, w);
  return rcode;
}

/**
 * Appends the zone's SOA to the authority section of a response already started (negative
 * answers, RFC 2308 3). The apex is a suffix of the question name, so its owner is written as a
 * pointer into the question (RFC 1035 4.1.4).
 */
export function appendZoneSoa(table: TableReader, zones: ZoneMatcher, zone: number, q: Query, w: ResponseWriter): void {
  const u8 = table.u8;
  const apexWire = zones.wire[zone]!;
  const apex = table.findName(apexWire, apexWire.length, zones.hash[zone]!);
  const v = apex === 0 ? -1 : table.exactVariant(apex, QTYPE_ZONE_NEGATIVE);
  if (v < 0) return;
  w.appendU16(0xc000 | (HEADER_SIZE + q.nameLen - apexWire.length));
  const data = variantData(u8, v, apex);
  w.appendRecords(u8, data, data + variantLen(u8, v), 0, 1, 0);
}
