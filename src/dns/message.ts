// Reads a whole DNS response (from an upstream, or one a plugin wrote) without decoding it into
// objects: where each record starts, its type and where its TTL sits, the OPT record, the full
// rcode. Forward uses it to check and relay upstream answers, cache to store them and count
// their TTLs down. Pointers are never followed, so a malicious message cannot loop us.
import { HEADER_SIZE, QTYPE } from './constants.ts';

/** Largest number of records we index in one message (a 64 KiB message holds at most ~5k). */
const MAX_RECORDS = 8192;

export class MessageScan {
  id = 0;
  flags = 0;
  /** rcode with the OPT's upper 8 bits folded in (RFC 6891 6.1.3). */
  rcode = 0;
  qdcount = 0;
  an = 0;
  ns = 0;
  ar = 0;
  /** Offset just past the question section. */
  questionEnd = HEADER_SIZE;
  /** Offset just past the last record. */
  end = 0;
  /** Record i starts at starts[i]; its TTL is at ttlAt[i]; its type is types[i]. */
  readonly starts = new Int32Array(MAX_RECORDS);
  readonly ttlAt = new Int32Array(MAX_RECORDS);
  readonly types = new Uint16Array(MAX_RECORDS);
  /** Index of the OPT record among the records, or -1. */
  opt = -1;
  /** Requestor/responder UDP size and DO bit from the OPT. */
  udpSize = 0;
  doBit = false;

  get count(): number {
    return this.an + this.ns + this.ar;
  }

  /** End offset of record i. */
  recordEnd(i: number): number {
    return i + 1 < this.count ? this.starts[i + 1]! : this.end;
  }

  ttl(msg: Uint8Array, i: number): number {
    const o = this.ttlAt[i]!;
    return ((msg[o]! << 24) | (msg[o + 1]! << 16) | (msg[o + 2]! << 8) | msg[o + 3]!) >>> 0;
  }
}

/** Steps over a (possibly compressed) name; returns the offset after it or -1. */
export function skipName(msg: Uint8Array, o: number, len: number): number {
  for (let n = 0; n < 128; n++) {
    if (o >= len) return -1;
    const l = msg[o]!;
    if (l === 0) return o + 1;
    if ((l & 0xc0) === 0xc0) return o + 2 <= len ? o + 2 : -1;
    if ((l & 0xc0) !== 0) return -1;
    o += 1 + l;
  }
  return -1;
}

/**
 * Skips one resource record starting at `o` (owner may be compressed); returns the offset after
 * it, or -1 when the record runs past `len`. Pointers are not followed, so loops cannot hang us.
 */
export function skipRecord(msg: Uint8Array, o: number, len: number): number {
  o = skipName(msg, o, len);
  if (o < 0 || o + 10 > len) return -1;
  const rdlen = (msg[o + 8]! << 8) | msg[o + 9]!;
  o += 10 + rdlen;
  return o > len ? -1 : o;
}

/**
 * Offset of the OPT record (RFC 6891 6.1.2) among a parsed query's records after its question
 * (`from`: the question's end), or -1. For the plugins that read or change it in place.
 */
export function findOpt(msg: Uint8Array, len: number, from: number): number {
  let o = from;
  const records = ((msg[6]! << 8) | msg[7]!) + ((msg[8]! << 8) | msg[9]!) + ((msg[10]! << 8) | msg[11]!);
  for (let i = 0; i < records && o >= 0; i++) {
    if (o + 11 <= len && msg[o] === 0 && ((msg[o + 1]! << 8) | msg[o + 2]!) === QTYPE.OPT) return o;
    o = skipRecord(msg, o, len);
  }
  return -1;
}

/** Does the OPT record at `opt` carry an option with this code (RFC 6891 6.1.2)? */
export function hasEdnsOption(msg: Uint8Array, len: number, opt: number, code: number): boolean {
  const end = Math.min(len, opt + 11 + ((msg[opt + 9]! << 8) | msg[opt + 10]!));
  for (let o = opt + 11; o + 4 <= end; o += 4 + ((msg[o + 2]! << 8) | msg[o + 3]!)) {
    if (((msg[o]! << 8) | msg[o + 1]!) === code) return true;
  }
  return false;
}

/**
 * Scans `msg[0..len)` into `out`. Returns false when the message is malformed (truncated
 * records, bad labels, more than one OPT, more than one question).
 */
export function scanMessage(msg: Uint8Array, len: number, out: MessageScan): boolean {
  if (len < HEADER_SIZE) return false;
  out.id = (msg[0]! << 8) | msg[1]!;
  out.flags = (msg[2]! << 8) | msg[3]!;
  out.rcode = out.flags & 0xf;
  out.qdcount = (msg[4]! << 8) | msg[5]!;
  out.an = (msg[6]! << 8) | msg[7]!;
  out.ns = (msg[8]! << 8) | msg[9]!;
  out.ar = (msg[10]! << 8) | msg[11]!;
  out.opt = -1;
  out.udpSize = 0;
  out.doBit = false;
  if (out.qdcount > 1 || out.count > MAX_RECORDS) return false;
  let o = HEADER_SIZE;
  if (out.qdcount === 1) {
    o = skipName(msg, o, len);
    if (o < 0 || o + 4 > len) return false;
    o += 4;
  }
  out.questionEnd = o;
  const n = out.count;
  for (let i = 0; i < n; i++) {
    out.starts[i] = o;
    o = skipName(msg, o, len);
    if (o < 0 || o + 10 > len) return false;
    const type = (msg[o]! << 8) | msg[o + 1]!;
    out.types[i] = type;
    out.ttlAt[i] = o + 4;
    const rdlen = (msg[o + 8]! << 8) | msg[o + 9]!;
    if (type === QTYPE.OPT) {
      if (out.opt >= 0 || i < out.an + out.ns) return false; // RFC 6891 6.1.1: one, in additional
      out.opt = i;
      out.udpSize = (msg[o + 2]! << 8) | msg[o + 3]!;
      out.rcode |= msg[o + 4]! << 4;
      out.doBit = (msg[o + 6]! & 0x80) !== 0;
    }
    o += 10 + rdlen;
    if (o > len) return false;
  }
  out.end = o;
  return true;
}

/** Does the question of `msg` (scanned) equal the query's lower-cased wire name, type and class? */
export function sameQuestion(msg: Uint8Array, lowerName: Uint8Array, nameLen: number, qtype: number, qclass: number): boolean {
  let o = HEADER_SIZE;
  for (let i = 0; i < nameLen; i++, o++) {
    let b = msg[o];
    if (b === undefined) return false;
    if (b >= 0x41 && b <= 0x5a) b |= 0x20;
    if (b !== lowerName[i]) return false;
  }
  return ((msg[o]! << 8) | msg[o + 1]!) === qtype && ((msg[o + 2]! << 8) | msg[o + 3]!) === qclass;
}

/**
 * A copy of the query message `msg[0..len)` with another question (wire name, type, class) in
 * place of the one ending at `questionEnd`: header and OPT kept, so the plugins after the one
 * that made it see the client's flags and EDNS0. Off the hot path (rewrite, autopath).
 */
export function replaceQuestion(msg: Uint8Array, len: number, questionEnd: number, name: Uint8Array, type: number, cls: number): Buffer {
  const rest = msg.subarray(questionEnd, len);
  const out = Buffer.allocUnsafe(HEADER_SIZE + name.length + 4 + rest.length);
  out.set(msg.subarray(0, HEADER_SIZE), 0);
  out.set(name, HEADER_SIZE);
  let at = HEADER_SIZE + name.length;
  out.writeUInt16BE(type, at);
  out.writeUInt16BE(cls, at + 2);
  at += 4;
  out.set(rest, at);
  return out;
}
