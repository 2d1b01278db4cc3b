// log: one line per query, in CoreDNS's format, written after the response is sent.
import { CLASSIC_UDP_SIZE, FLAG_AA, FLAG_AD, FLAG_CD, FLAG_QR, FLAG_RA, FLAG_RD, FLAG_TC, className, rcodeName, typeName } from '../../dns/constants.ts';
import { isSubdomain } from '../../dns/name.ts';
import type { Query } from '../../dns/query.ts';
import type { ResponseWriter } from '../../dns/response.ts';
import type { Handler, RequestState, WorkerEnv } from '../../plugin/types.ts';
import { responseClass } from '../../dns/classify.ts';
import type { LogRule } from './setup.ts';

export default function create(rule: LogRule, env: WorkerEnv): Handler {
  const all = rule.classes.includes('all');
  const meta = env.metadata;
  // {/label}: a metadata value, '-' when there is none (CoreDNS's replacer).
  const parts = compile(rule.format, (label) => (q) => meta?.value(q, label) ?? '-');
  return {
    observe(q, w, r) {
      if (!all && !rule.classes.includes(responseClass(w.rcode, w.an))) return;
      const name = q.nameText();
      if (!rule.zones.some((z) => isSubdomain(name, z))) return;
      let line = '[INFO] ';
      for (const p of parts) line += typeof p === 'string' ? p : p(q, w, r, name);
      env.log(line);
    },
  };
}

type Field = (q: Query, w: ResponseWriter, r: RequestState, name: string) => string;

const FIELDS: Record<string, Field> = {
  remote: (q) => remoteText(q.remoteAddress),
  port: (q) => String(q.remotePort),
  '>id': (q) => String(q.id),
  type: (q) => typeName(q.qtype),
  class: (q) => className(q.qclass),
  name: (_q, _w, _r, name) => name,
  proto: (q) => (q.tcp ? 'tcp' : 'udp'),
  size: (q) => String(q.len),
  '>do': (q) => String(q.doBit),
  '>bufsize': (q) => String(q.edns ? q.udpSize : CLASSIC_UDP_SIZE),
  rcode: (_q, w) => rcodeName(w.rcode),
  '>rflags': (_q, w) => flagsText(w.flags),
  rsize: (_q, _w, r) => String(r.responseLen),
  duration: (_q, _w, r) => seconds(performance.now() - r.start),
  '>opcode': (q) => String(q.opcode),
};

/** Splits a format into literal text and field readers once, so each line is a simple join. */
function compile(format: string, metadataField: (label: string) => Field): Array<string | Field> {
  const out: Array<string | Field> = [];
  const re = /\{([^{}]+)\}/g;
  let last = 0;
  for (let m = re.exec(format); m; m = re.exec(format)) {
    if (m.index > last) out.push(format.slice(last, m.index));
    const f = m[1]!.startsWith('/') ? metadataField(m[1]!.slice(1)) : Object.hasOwn(FIELDS, m[1]!) ? FIELDS[m[1]!] : undefined;
    out.push(f ?? `{${m[1]}}`);
    last = re.lastIndex;
  }
  if (last < format.length) out.push(format.slice(last));
  return out;
}

/** IPv6 in brackets (RFC 3986); IPv4 clients of a dual-stack socket as plain IPv4. */
function remoteText(address: string): string {
  if (address.startsWith('::ffff:') && address.indexOf(':', 7) < 0) return address.slice(7);
  return address.includes(':') ? `[${address}]` : address;
}

function flagsText(flags: number): string {
  const out: string[] = [];
  if (flags & FLAG_QR) out.push('qr');
  if (flags & FLAG_AA) out.push('aa');
  if (flags & FLAG_TC) out.push('tc');
  if (flags & FLAG_RD) out.push('rd');
  if (flags & FLAG_RA) out.push('ra');
  if (flags & FLAG_AD) out.push('ad');
  if (flags & FLAG_CD) out.push('cd');
  return out.join(',');
}

/** Go's Duration.Seconds() printed with the shortest exact decimal, as CoreDNS logs it. */
function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(9).replace(/0+$/, '').replace(/\.$/, '')}s`;
}
