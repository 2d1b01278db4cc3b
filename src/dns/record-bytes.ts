// Resource records made once at start-up by plugins that answer with fixed records (local,
// chaos): the part after the owner name (RFC 1035 4.1.3). The owner is written per query as a
// compression pointer into the question (QNAME_POINTER, or one to a suffix of it).

/** TYPE, CLASS, TTL, RDLENGTH, then RDATA. */
export function recordAfterOwner(type: number, cls: number, ttl: number, rdata: Uint8Array): Uint8Array {
  const out = new Uint8Array(10 + rdata.length);
  const v = new DataView(out.buffer);
  v.setUint16(0, type);
  v.setUint16(2, cls);
  v.setUint32(4, ttl);
  v.setUint16(8, rdata.length);
  out.set(rdata, 10);
  return out;
}
