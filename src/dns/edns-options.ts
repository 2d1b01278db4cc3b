// A query's EDNS0 options (RFC 6891 6.1.2) read out as a list and written back as a new
// message: for the plugins that change what the query asks of the plugins after them (rewrite's
// edns0 rules). Off the hot path: only queries such a rule picks come here.
import { QTYPE } from './constants.ts';

export interface EdnsOption {
  code: number;
  data: Uint8Array;
}

/** The UDP size of an OPT record added to a query that had none (CoreDNS's rewrite uses 4096). */
export const ADDED_OPT_UDP_SIZE = 4096;

/** The options of the OPT record at `opt` (from findOpt), in order; data are views into `msg`. */
export function readOptions(msg: Uint8Array, len: number, opt: number): EdnsOption[] {
  const out: EdnsOption[] = [];
  if (opt < 0) return out;
  const end = Math.min(len, opt + 11 + ((msg[opt + 9]! << 8) | msg[opt + 10]!));
  for (let o = opt + 11; o + 4 <= end; ) {
    const size = (msg[o + 2]! << 8) | msg[o + 3]!;
    if (o + 4 + size > end) break; // a truncated last option is dropped, not carried on
    out.push({ code: (msg[o]! << 8) | msg[o + 1]!, data: msg.subarray(o + 4, o + 4 + size) });
    o += 4 + size;
  }
  return out;
}

/**
 * A copy of the query `msg[0..len)` whose OPT record carries `options`: the record at `opt` keeps
 * its UDP size, version and flags; with `opt` -1 an OPT is added at the end of the additional
 * section (UDP size 4096, no flags) and ARCOUNT grows by one.
 */
export function withOptions(msg: Uint8Array, len: number, opt: number, options: readonly EdnsOption[]): Buffer {
  let rdlen = 0;
  for (const o of options) rdlen += 4 + o.data.length;
  const oldEnd = opt < 0 ? len : opt + 11 + ((msg[opt + 9]! << 8) | msg[opt + 10]!);
  const at = opt < 0 ? len : opt;
  const out = Buffer.allocUnsafe(at + 11 + rdlen + (len - oldEnd));
  out.set(msg.subarray(0, at), 0);
  if (opt < 0) {
    out[at] = 0; // the root name
    out.writeUInt16BE(QTYPE.OPT, at + 1);
    out.writeUInt16BE(ADDED_OPT_UDP_SIZE, at + 3);
    out.writeUInt32BE(0, at + 5); // extended rcode, version 0, no flags
    out.writeUInt16BE(((msg[10]! << 8) | msg[11]!) + 1, 10);
  } else {
    out.set(msg.subarray(opt, opt + 9), at);
  }
  out.writeUInt16BE(rdlen, at + 9);
  let p = at + 11;
  for (const o of options) {
    out.writeUInt16BE(o.code, p);
    out.writeUInt16BE(o.data.length, p + 2);
    out.set(o.data, p + 4);
    p += 4 + o.data.length;
  }
  out.set(msg.subarray(oldEnd, len), p);
  return out;
}
