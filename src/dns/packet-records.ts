// Records held as dns-packet objects (made from text, or decoded to be rewritten), appended to a
// response being written: the slow path of the plugins that answer with records they build per
// query (template, rewrite). dns-packet writes them without compression, so no pointer can refer
// to a question of another length or to bytes outside them.
import dnsPacket from 'dns-packet';
import { HEADER_SIZE } from './constants.ts';
import { skipName } from './message.ts';
import type { ResponseWriter } from './response.ts';

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
