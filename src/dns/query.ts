// Hot-path query parsing: header, question and EDNS0 OPT read straight from the received
// buffer into one reusable object per worker. Nothing here allocates per query.
import { CLASSIC_UDP_SIZE, FLAG_QR, HEADER_SIZE, OPCODE_QUERY, QTYPE, RCODE } from './constants.ts';
import { FNV_OFFSET, FNV_PRIME, MAX_LABEL, MAX_NAME_WIRE } from './name.ts';
import { skipName, skipRecord } from './message.ts';

/** What the server should do with a packet after parsing. */
export const PARSE_OK = 0;
/** Not answerable at all (no readable header, or a response): drop silently. */
export const PARSE_DROP = -1;
// Any other result is an rcode to answer with (FORMERR, NOTIMP, BADVERS).

/** Scratch for nameText(): a name's text is at most 254 bytes (RFC 1035 3.1, 255 on the wire). */
const NAME_TEXT = Buffer.allocUnsafe(256);

export class Query {
  /** Raw message and its length; valid only during the synchronous handling of one packet. */
  msg: Uint8Array = new Uint8Array(0);
  len = 0;
  id = 0;
  flags = 0;
  opcode = 0;
  qdcount = 0;
  /** Offset just past the question (qname + type + class); 12 when there is no question. */
  questionEnd = HEADER_SIZE;
  /** Wire length of the question name including the root label. */
  nameLen = 0;
  /** Lower-cased wire name (first nameLen bytes are valid). */
  readonly lower = new Uint8Array(MAX_NAME_WIRE + 1);
  /** Start offset, within the name, of each label; labelCount of them, the root excluded. */
  readonly labelStarts = new Uint8Array(128);
  labelCount = 0;
  hash = 0;
  qtype = 0;
  qclass = 0;
  // EDNS0 (RFC 6891)
  edns = false;
  ednsVersion = 0;
  /** Requestor's UDP payload size, already clamped to at least 512. */
  udpSize = CLASSIC_UDP_SIZE;
  doBit = false;
  /** Transport: true for TCP (no size limit but 65535), false for UDP. */
  tcp = false;
  /** Client address as given by the socket layer (string from Node; not copied). */
  remoteAddress = '';
  remotePort = 0;
  /**
   * The address of the listener that received it, as configured ('::' for every address): which
   * of a block's `bind` addresses it came in on (the `server` label of metrics).
   */
  localAddress = '';
  /** Set by the parser when the question itself could be read (for echoing it in errors). */
  questionOk = false;
  /**
   * The message as the client sent it, when a plugin (rewrite) has replaced `msg` with another
   * question for the plugins after it; null otherwise. The parser clears it; copies keep it.
   */
  clientMsg: Uint8Array | null = null;

  /**
   * Lower-cased text form of the name (`a.b.`, bytes as latin1, nothing escaped): one string,
   * made from scratch space in one step (the labels are laid out there first).
   */
  nameText(): string {
    if (this.nameLen <= 1) return '.';
    const lower = this.lower;
    let o = 0;
    let i = 0;
    for (let l = lower[0]!; l !== 0; l = lower[i]!) {
      for (let k = 1; k <= l; k++) NAME_TEXT[o++] = lower[i + k]!;
      NAME_TEXT[o++] = 0x2e;
      i += l + 1;
    }
    return NAME_TEXT.toString('latin1', 0, o);
  }
}

/** Is the query's (lower-cased) name exactly `wire`, a name in lower-case wire form? */
export function isQueryName(q: Query, wire: Uint8Array): boolean {
  if (q.nameLen !== wire.length) return false;
  for (let i = 0; i < wire.length; i++) if (q.lower[i] !== wire[i]) return false;
  return true;
}

/** Is the label at offset `at` of the query's (lower-cased) name `label` (length byte first)? */
export function isLabelAt(q: Query, at: number, label: readonly number[]): boolean {
  for (let i = 0; i < label.length; i++) if (q.lower[at + i] !== label[i]) return false;
  return true;
}

/**
 * Parses `msg[0..len)` into `q`. Returns PARSE_OK, PARSE_DROP or an rcode to answer with.
 * The question name must not be compressed: in a query it is the first name in the message, so
 * any pointer there is malformed (and refusing them is what keeps compression loops out).
 */
export function parseQuery(msg: Uint8Array, len: number, q: Query): number {
  q.msg = msg;
  q.len = len;
  q.questionOk = false;
  q.edns = false;
  q.ednsVersion = 0;
  q.doBit = false;
  q.udpSize = CLASSIC_UDP_SIZE;
  q.nameLen = 0;
  q.labelCount = 0;
  q.questionEnd = HEADER_SIZE;
  q.clientMsg = null;
  if (len < HEADER_SIZE) return PARSE_DROP;
  q.id = (msg[0]! << 8) | msg[1]!;
  const flags = (msg[2]! << 8) | msg[3]!;
  q.flags = flags;
  if ((flags & FLAG_QR) !== 0) return PARSE_DROP; // never answer a response
  q.opcode = (flags >> 11) & 0xf;
  const qdcount = (msg[4]! << 8) | msg[5]!;
  q.qdcount = qdcount;
  if (q.opcode !== OPCODE_QUERY) return RCODE.NOTIMP;
  if (qdcount !== 1) return RCODE.FORMERR;

  // Question name: lower-case into q.lower and hash in one pass.
  const lower = q.lower;
  let o = HEADER_SIZE;
  let n = 0;
  let h = FNV_OFFSET;
  let labels = 0;
  for (;;) {
    if (o >= len) return RCODE.FORMERR;
    const l = msg[o]!;
    if (l === 0) break;
    if (l > MAX_LABEL) return RCODE.FORMERR; // compression pointer or bad label type
    if (o + 1 + l >= len || n + 1 + l >= MAX_NAME_WIRE) return RCODE.FORMERR;
    if (labels === 128) return RCODE.FORMERR;
    q.labelStarts[labels++] = n;
    lower[n++] = l;
    h = Math.imul(h ^ l, FNV_PRIME);
    o++;
    for (const end = o + l; o < end; o++) {
      let b = msg[o]!;
      if (b >= 0x41 && b <= 0x5a) b |= 0x20;
      lower[n++] = b;
      h = Math.imul(h ^ b, FNV_PRIME);
    }
  }
  lower[n++] = 0;
  h = Math.imul(h ^ 0, FNV_PRIME);
  o++;
  if (o + 4 > len) return RCODE.FORMERR;
  q.nameLen = n;
  q.labelCount = labels;
  q.hash = h | 0;
  q.qtype = (msg[o]! << 8) | msg[o + 1]!;
  q.qclass = (msg[o + 2]! << 8) | msg[o + 3]!;
  o += 4;
  q.questionEnd = o;
  q.questionOk = true;

  // Answer and authority sections are not expected in a query; step over them if present.
  let skip = ((msg[6]! << 8) | msg[7]!) + ((msg[8]! << 8) | msg[9]!);
  while (skip-- > 0) {
    o = skipRecord(msg, o, len);
    if (o < 0) return RCODE.FORMERR;
  }
  let arcount = (msg[10]! << 8) | msg[11]!;
  while (arcount-- > 0) {
    if (o + 11 <= len && msg[o] === 0 && ((msg[o + 1]! << 8) | msg[o + 2]!) === QTYPE.OPT) {
      if (q.edns) return RCODE.FORMERR; // more than one OPT (RFC 6891 6.1.1)
      q.edns = true;
      const size = (msg[o + 3]! << 8) | msg[o + 4]!;
      q.udpSize = size < CLASSIC_UDP_SIZE ? CLASSIC_UDP_SIZE : size; // RFC 6891 6.2.5
      q.ednsVersion = msg[o + 6]!;
      q.doBit = (msg[o + 7]! & 0x80) !== 0;
    }
    o = skipRecord(msg, o, len);
    if (o < 0) return RCODE.FORMERR;
  }
  if (q.edns && q.ednsVersion > 0) return RCODE.BADVERS;
  return PARSE_OK;
}
