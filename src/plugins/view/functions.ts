// The request functions view's expressions call, as CoreDNS documents them (plugin/view README,
// plugin/pkg/expression): each reads the query kdns parsed, nothing is decoded again.
import { NetMatcher, parseNet } from '../../dns/address-match.ts';
import { className, typeName } from '../../dns/constants.ts';
import type { Query } from '../../dns/query.ts';
import { EvalError, type ExprFunction, type Value } from './expression.ts';

/** Largest DNS message: what CoreDNS's bufsize() gives a TCP query. */
const TCP_SIZE = 65535;

/** Node reports IPv4 clients of a dual-stack socket as ::ffff:a.b.c.d; CoreDNS gives a.b.c.d. */
export function clientIp(ip: string): string {
  return ip.length > 7 && ip.startsWith('::ffff:') && ip.includes('.', 7) ? ip.slice(7) : ip;
}

/** Networks written as strings, compiled once each (incidr's CIDR is nearly always a literal). */
const nets = new Map<string, NetMatcher | null>();

function incidr(ip: string, cidr: string): boolean {
  let m = nets.get(cidr);
  if (m === undefined) {
    const net = parseNet(cidr);
    m = net === null ? null : new NetMatcher([net]);
    if (nets.size < 1024) nets.set(cidr, m);
  }
  if (m === null) throw new EvalError(`incidr: '${cidr}' is not a network`);
  return m.matches(ip);
}

export interface RequestContext {
  /** The server block's port (server_port()). */
  serverPort: number;
  /** A metadata label's value for this query, '' when there is none. */
  metadata(q: Query, label: string): string;
}

export function requestFunctions(ctx: RequestContext): Record<string, ExprFunction> {
  const fn = (args: number, call: (q: Query, a: Value[]) => Value): ExprFunction => ({ args, call });
  const text = (v: Value, what: string): string => {
    if (typeof v !== 'string') throw new EvalError(`${what}: not a string`);
    return v;
  };
  return {
    bufsize: fn(0, (q) => (q.tcp ? TCP_SIZE : q.udpSize)),
    class: fn(0, (q) => className(q.qclass)),
    client_ip: fn(0, (q) => clientIp(q.remoteAddress)),
    do: fn(0, (q) => q.doBit),
    id: fn(0, (q) => q.id),
    name: fn(0, (q) => q.nameText()),
    opcode: fn(0, (q) => q.opcode),
    port: fn(0, (q) => String(q.remotePort)),
    proto: fn(0, (q) => (q.tcp ? 'tcp' : 'udp')),
    server_ip: fn(0, (q) => clientIp(q.localAddress)),
    server_port: fn(0, () => String(ctx.serverPort)),
    size: fn(0, (q) => q.len),
    type: fn(0, (q) => typeName(q.qtype)),
    incidr: fn(2, (_q, a) => incidr(clientIp(text(a[0]!, 'incidr')), text(a[1]!, 'incidr'))),
    metadata: fn(1, (q, a) => ctx.metadata(q, text(a[0]!, 'metadata'))),
  };
}
