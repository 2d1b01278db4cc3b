// chaos: TXT answers in the CHAOS class (RFC 1035 3.2.4) for the names servers use to tell
// what they are: version.bind and version.server (the version), authors.bind (one record per
// author), hostname.bind and id.server (the host's name, RFC 4892). Anything else passes on.
import { QCLASS, QNAME_POINTER, QTYPE, RCODE } from '../../dns/constants.ts';
import { isQueryName } from '../../dns/query.ts';
import { nameToWire } from '../../dns/name.ts';
import { recordAfterOwner } from '../../dns/record-bytes.ts';
import { NEXT, type Handler } from '../../plugin/types.ts';

export interface ChaosConfig {
  version: string;
  authors: string[];
  hostname: string;
}

/** A CH TXT record after its owner, TTL 0 (CoreDNS's), `text` in strings of at most 255 bytes. */
function txtRecord(text: string): Uint8Array {
  const bytes = Buffer.from(text, 'utf8');
  const strings: Uint8Array[] = [];
  for (let at = 0; at < bytes.length || strings.length === 0; at += 255) strings.push(bytes.subarray(at, at + 255));
  const rdata = new Uint8Array(strings.reduce((n, s) => n + 1 + s.length, 0));
  let o = 0;
  for (const s of strings) {
    rdata[o++] = s.length;
    rdata.set(s, o);
    o += s.length;
  }
  return recordAfterOwner(QTYPE.TXT, QCLASS.CH, 0, rdata);
}

export default function create(config: ChaosConfig): Handler {
  const version = txtRecord(config.version);
  const host = txtRecord(config.hostname);
  const authors = config.authors.map(txtRecord);
  const answers: Array<{ name: Uint8Array; records: Uint8Array[] }> = [
    { name: nameToWire('version.bind.'), records: [version] },
    { name: nameToWire('version.server.'), records: [version] },
    { name: nameToWire('authors.bind.'), records: authors },
    { name: nameToWire('hostname.bind.'), records: [host] },
    { name: nameToWire('id.server.'), records: [host] },
  ];
  return {
    serve(q, w) {
      if (q.qclass !== QCLASS.CH || q.qtype !== QTYPE.TXT) return NEXT;
      for (const a of answers) {
        if (!isQueryName(q, a.name)) continue;
        w.start(q, RCODE.NOERROR, 0);
        for (const rr of a.records) {
          w.appendU16(QNAME_POINTER); // the owner: the question's name, as the client wrote it
          w.appendRecords(rr, 0, rr.length, 1, 0, 0);
        }
        return RCODE.NOERROR;
      }
      return NEXT;
    },
  };
}
