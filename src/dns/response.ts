// Hot-path response writing into one preallocated buffer per worker.
// Two bytes are kept free in front of every message so TCP can prepend its length prefix
// (RFC 1035 4.2.2) without a copy; UDP sends from offset 2.
import {
  CLASSIC_UDP_SIZE, FLAG_CD, FLAG_QR, FLAG_RD, FLAG_TC, HEADER_SIZE, MAX_UDP_SIZE,
  OUR_UDP_SIZE, QTYPE,
} from './constants.ts';
import type { Query } from './query.ts';

export const TCP_PREFIX = 2;
const OPT_SIZE = 11;

export class ResponseWriter {
  readonly buf: Buffer;
  /** End of the message written so far (absolute offset in buf, prefix included). */
  end = TCP_PREFIX;
  an = 0;
  ns = 0;
  ar = 0;
  /** Full rcode (may exceed 15: the high bits go to the OPT record). */
  rcode = 0;
  flags = 0;
  /**
   * EDNS options (code, length, data) for the OPT record finish() writes, set by a plugin for
   * this response only (nsid); null: none. start() clears it.
   */
  ednsOptions: Uint8Array | null = null;

  constructor(size = 65535 + TCP_PREFIX) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /**
   * Starts a reply to `q`: header with the query's ID, opcode, RD and CD (as a resolver echoes
   * them), QR set, then the question copied byte for byte so the client sees its own case.
   */
  start(q: Query, rcode: number, extraFlags: number): void {
    const b = this.buf;
    const m = q.msg;
    b[2] = m[0]!;
    b[3] = m[1]!;
    this.flags = FLAG_QR | (q.opcode << 11) | (q.flags & (FLAG_RD | FLAG_CD)) | extraFlags;
    this.rcode = rcode;
    this.an = this.ns = this.ar = 0;
    this.ednsOptions = null;
    let end = TCP_PREFIX + HEADER_SIZE;
    if (q.questionOk) {
      // Byte loop rather than set(subarray()): no view object per query.
      for (let i = HEADER_SIZE, stop = q.questionEnd; i < stop; i++) b[end++] = m[i]!;
    }
    this.end = end;
  }

  /** Appends ready-made record bytes and adds their counts. */
  appendRecords(src: Uint8Array, from: number, to: number, an: number, ns: number, ar: number): void {
    const b = this.buf;
    let o = this.end;
    for (let i = from; i < to; i++) b[o++] = src[i]!;
    this.end = o;
    this.an += an;
    this.ns += ns;
    this.ar += ar;
  }

  /**
   * Appends all of `body` (a cached answer's records) and adds their counts. One memmove: a
   * whole-array set() needs no view object, and beats a byte loop past a few dozen bytes.
   */
  appendItemBody(body: Uint8Array, an: number, ns: number, ar: number): void {
    this.buf.set(body, this.end);
    this.end += body.length;
    this.an += an;
    this.ns += ns;
    this.ar += ar;
  }

  /** Writes a 16-bit value at the current end (used for dynamic compression pointers). */
  appendU16(v: number): void {
    this.buf[this.end] = v >> 8;
    this.buf[this.end + 1] = v & 0xff;
    this.end += 2;
  }

  /**
   * Finishes the message: header counts, the OPT record when the query had EDNS0, and
   * truncation (TC, sections dropped) when the result is larger than the client can take.
   * Returns the message length (without the TCP prefix).
   */
  finish(q: Query): number {
    const limit = sizeLimit(q);
    const optSize = q.edns ? OPT_SIZE + (this.ednsOptions?.length ?? 0) : 0;
    if (this.end - TCP_PREFIX + optSize > limit) {
      // RFC 2181 9 / RFC 1035 4.2.1: drop the sections and set TC; the client retries over TCP.
      this.flags |= FLAG_TC;
      this.an = this.ns = this.ar = 0;
      this.end = q.questionOk ? TCP_PREFIX + q.questionEnd : TCP_PREFIX + HEADER_SIZE;
    }
    if (q.edns) this.writeOpt(q);
    const b = this.buf;
    const flags = this.flags | (this.rcode & 0xf);
    b[4] = flags >> 8;
    b[5] = flags & 0xff;
    b[6] = 0;
    b[7] = q.questionOk ? 1 : 0;
    b[8] = this.an >> 8;
    b[9] = this.an & 0xff;
    b[10] = this.ns >> 8;
    b[11] = this.ns & 0xff;
    b[12] = this.ar >> 8;
    b[13] = this.ar & 0xff;
    return this.end - TCP_PREFIX;
  }

  /** OPT pseudo-RR (RFC 6891 6.1.2): our UDP size, extended rcode, version 0, DO echoed. */
  private writeOpt(q: Query): void {
    const b = this.buf;
    let o = this.end;
    b[o++] = 0; // root owner
    b[o++] = 0;
    b[o++] = QTYPE.OPT;
    b[o++] = OUR_UDP_SIZE >> 8;
    b[o++] = OUR_UDP_SIZE & 0xff;
    b[o++] = this.rcode >> 4; // extended rcode, upper 8 bits
    b[o++] = 0; // version
    b[o++] = q.doBit ? 0x80 : 0;
    b[o++] = 0;
    const options = this.ednsOptions;
    const rdlen = options === null ? 0 : options.length;
    b[o++] = rdlen >> 8; // rdlength
    b[o++] = rdlen & 0xff;
    if (options !== null) {
      b.set(options, o);
      o += rdlen;
    }
    this.end = o;
    this.ar++;
  }

  /** Writes the TCP length prefix and returns the frame length (prefix included). */
  frameForTcp(msgLen: number): number {
    this.buf[0] = msgLen >> 8;
    this.buf[1] = msgLen & 0xff;
    return msgLen + TCP_PREFIX;
  }
}

/** Largest message this client can take (RFC 6891 6.2.3-6.2.5; 65535 over TCP). */
export function sizeLimit(q: Query): number {
  if (q.tcp) return 65535;
  if (!q.edns) return CLASSIC_UDP_SIZE;
  return q.udpSize > MAX_UDP_SIZE ? MAX_UDP_SIZE : q.udpSize;
}
