// Records held as dns-packet objects (made from text, or decoded to be rewritten), appended to a
// response being written: the slow path of the plugins that answer with records they build per
// query (template, rewrite). dns-packet writes them without compression, so no pointer can refer
// to a question of another length or to bytes outside them.
import dnsPacket from 'dns-packet';
import { HEADER_SIZE } from './constants.ts';
import { skipName } from './message.ts';
import { TCP_PREFIX, type ResponseWriter } from './response.ts';

export interface PacketSections {
  answers?: dnsPacket.Answer[];
  authorities?: dnsPacket.Answer[];
  additionals?: dnsPacket.Answer[];
}

/** Appends the records of `s` after what `w` holds and adds their counts. */
export function appendPacketRecords(w: ResponseWriter, s: PacketSections): void {
  // A message of their own behind a placeholder question, whose bytes are then skipped.
  const msg = dnsPacket.encode({ type: 'response', questions: [{ name: 'x', type: 'A', class: 'IN' }], ...s });
  const from = skipName(msg, HEADER_SIZE, msg.length) + 4;
  w.appendRecords(msg, from, msg.length, s.answers?.length ?? 0, s.authorities?.length ?? 0, s.additionals?.length ?? 0);
}

/**
 * The sections a plugin wrote into `w` (not finished: no header counts, no OPT yet), decoded:
 * the slow path of the plugins that rewrite another plugin's answer (rewrite, autopath).
 */
export function decodeSections(w: ResponseWriter, id: number): dnsPacket.Packet {
  const head = Buffer.alloc(HEADER_SIZE);
  head.writeUInt16BE(id, 0);
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(w.an, 6);
  head.writeUInt16BE(w.ns, 8);
  head.writeUInt16BE(w.ar, 10);
  return dnsPacket.decode(Buffer.concat([head, w.buf.subarray(TCP_PREFIX + HEADER_SIZE, w.end)]));
}
