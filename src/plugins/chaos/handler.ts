// chaos: TXT answers in the CHAOS class (RFC 1035 3.2.4) for the names servers use to tell
// what they are: version.bind and version.server (the version), authors.bind (one record per
// author), hostname.bind and id.server (the host's name, RFC 4892). Anything else passes on.
import { HEADER_SIZE, QCLASS, QTYPE, RCODE } from '../../dns/constants.ts';
import { nameToWire } from '../../dns/name.ts';
import { NEXT, type Handler } from '../../plugin/types.ts';

export interface ChaosConfig {
  version: string;
  authors: string[];
  hostname: string;
}

const QNAME_POINTER = 0xc000 | HEADER_SIZE;

/** One CH TXT record at the question's name, TTL 0 (CoreDNS's), `text` in 255-byte strings. */
function txtRecord(text: string): Uint8Array {
  const bytes = Buffer.from(text, 'utf8');
  const strings: Uint8Array[] = [];
  for (let at = 0; at < bytes.length || strings.length === 0; at += 255) strings.push(bytes.subarray(at, at + 255));
  const rdlen = strings.reduce((n, s) => n + 1 + s.length, 0);
  const out = new Uint8Array(12 + rdlen);
  out[0] = QNAME_POINTER >> 8;
  out[1] = QNAME_POINTER & 0xff;
  out[3] = QTYPE.TXT;
  out[5] = QCLASS.CH;
  out[10] = rdlen >> 8;
  out[11] = rdlen & 0xff;
  let o = 12;
  for (const s of strings) {
    out[o++] = s.length;
    out.set(s, o);
    o += s.length;
  }
  return out;
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
        if (a.name.length !== q.nameLen || !sameBytes(q.lower, a.name)) continue;
        w.start(q, RCODE.NOERROR, 0);
        for (const rr of a.records) w.appendRecords(rr, 0, rr.length, 1, 0, 0);
        return RCODE.NOERROR;
      }
      return NEXT;
    },
  };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
