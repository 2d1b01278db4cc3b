// A scriptable upstream DNS server that runs inside the test process (UDP and TCP on loopback):
// kdns forwards to it, and tests choose per name how it misbehaves and read which queries arrived.
import dgram from 'node:dgram';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import dnsPacket from 'dns-packet';
import { type RecordSpec, Zone, encodeWithin, norm, optOf, truncated, udpLimit } from './zone.ts';

export type { RecordSpec };

export type Malformation = 'garbage' | 'short' | 'wrong-id' | 'wrong-question' | 'no-qr';
export type Behaviour = 'answer' | 'drop' | 'truncate' | 'close' | `delay ${number}` | `rcode ${string}` | `malformed ${Malformation}`;
export type Transport = 'udp' | 'tcp';

export interface QueryRecord {
  name: string;
  type: string;
  transport: Transport;
  id: number;
  rd: boolean;
  do: boolean;
  edns: boolean;
  /** EDNS UDP size the query advertised, when it had EDNS. */
  udpSize?: number;
  /** Its EDNS options in order: code and data as hex. */
  options?: Array<{ code: number; data: string }>;
  /** TCP connection number (1, 2, ...) so tests can see reuse and pipelining. */
  conn?: number;
  time: number;
}

export interface QueryFilter {
  name?: string;
  type?: string;
  transport?: Transport;
}

export interface FaultServerOptions {
  port?: number;
  /** Owner of the SOA in negative answers. */
  zone?: string;
  /** TTL and minimum of that SOA. */
  negativeTtl?: number;
}

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];
const DEFAULT = '';

interface Rule {
  behaviour: Behaviour;
  left: number;
}

interface Reply {
  transport: Transport;
  conn?: number;
  send(b: Buffer): void;
  close(): void;
}

export class FaultServer {
  readonly port: number;
  private readonly udp: dgram.Socket;
  private readonly tcp: net.Server;
  private readonly zone: Zone;
  private readonly rules = new Map<string, Rule>();
  private readonly log: QueryRecord[] = [];
  private readonly sockets = new Set<net.Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private conns = 0;

  constructor(udp: dgram.Socket, tcp: net.Server, opts: FaultServerOptions) {
    this.udp = udp;
    this.tcp = tcp;
    this.port = udp.address().port;
    this.zone = new Zone(opts.zone ?? 'test', opts.negativeTtl ?? 30);
    udp.on('error', () => {}); // a reply to a vanished client must not crash the test process
    udp.on('message', (msg, rinfo) => this.handle(msg, { transport: 'udp', send: (b) => udp.send(b, rinfo.port, rinfo.address), close: () => {} }));
    tcp.on('connection', (sock) => this.accept(sock));
  }

  /** `127.0.0.1:PORT`, as a forward target. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Replaces the records of `name` (case-insensitive); an empty list makes it NODATA for every type. */
  setRecords(name: string, records: RecordSpec[]): void {
    this.zone.set(name, records);
  }

  /** Removes `name`: it answers NXDOMAIN again. */
  deleteRecords(name: string): void {
    this.zone.delete(name);
  }

  /** Gives `name` n A (or TXT) records: more than 512 bytes from about 30 A or 8 TXT records. */
  large(name: string, n = 40, type: 'A' | 'TXT' = 'A'): void {
    const recs = Array.from({ length: n }, (_, i) => ({ type, data: type === 'A' ? `10.0.${i >> 8}.${i & 255}` : `record ${i} ${'x'.repeat(60)}` }));
    this.setRecords(name, recs);
  }

  /**
   * Sets how queries for `name` (or, without a name, all others) are treated, for the next
   * `times` of them (then back to the default, or to 'answer' for the default itself).
   */
  behave(behaviour: Behaviour, opts: { name?: string; times?: number } = {}): void {
    const [kind, arg] = behaviour.split(' ');
    if (kind === 'rcode' && !RCODES.includes(arg!)) throw new Error(`unknown rcode ${arg}`);
    if (kind === 'delay' && !(Number(arg) >= 0)) throw new Error(`bad delay ${arg}`);
    this.rules.set(opts.name === undefined ? DEFAULT : norm(opts.name), { behaviour, left: opts.times ?? Infinity });
  }

  queries(filter: QueryFilter = {}): QueryRecord[] {
    return this.log.filter(
      (q) => (filter.name === undefined || norm(q.name) === norm(filter.name)) && (filter.type === undefined || q.type === filter.type) && (filter.transport === undefined || q.transport === filter.transport),
    );
  }

  count(name?: string): number {
    return this.queries({ name }).length;
  }

  /** Forgets the queries seen and every behaviour (records stay). */
  reset(): void {
    this.log.length = 0;
    this.rules.clear();
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    for (const s of this.sockets) s.destroy();
    await Promise.all([new Promise<void>((r) => this.udp.close(() => r())), new Promise<void>((r) => this.tcp.close(() => r()))]);
  }

  private accept(sock: net.Socket): void {
    const reply: Reply = {
      transport: 'tcp',
      conn: ++this.conns,
      send: (b) => {
        if (sock.destroyed) return;
        const len = Buffer.alloc(2);
        len.writeUInt16BE(b.length);
        sock.write(Buffer.concat([len, b]));
      },
      close: () => sock.destroy(),
    };
    this.sockets.add(sock);
    sock.on('close', () => this.sockets.delete(sock));
    sock.on('error', () => {});
    let buf = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        this.handle(msg, reply);
      }
    });
  }

  private handle(msg: Buffer, reply: Reply): void {
    let q: dnsPacket.DecodedPacket;
    try {
      q = dnsPacket.decode(msg);
    } catch {
      return; // not a query we can read: a real server would FORMERR, tests never need it
    }
    const question = q.questions?.[0];
    if (q.type !== 'query' || !question) return;
    const opt = optOf(q);
    this.log.push({
      name: question.name, type: question.type, transport: reply.transport, id: q.id!, rd: q.flag_rd, do: opt?.flag_do ?? false, edns: !!opt,
      udpSize: opt?.udpPayloadSize, options: opt?.options.map((o) => ({ code: o.code, data: Buffer.from(o.data ?? []).toString('hex') })),
      conn: reply.conn, time: Date.now(),
    });
    const [kind, arg] = this.take(question.name).split(' ') as [string, string | undefined];
    const normal = (): Buffer => (reply.transport === 'udp' ? encodeWithin(this.zone.answer(q), udpLimit(q)) : dnsPacket.encode(this.zone.answer(q)));
    switch (kind) {
      case 'answer':
        return reply.send(normal());
      case 'drop':
        return;
      case 'close':
        return reply.close();
      case 'delay': {
        const t = setTimeout(() => {
          this.timers.delete(t);
          reply.send(normal());
        }, Number(arg));
        this.timers.add(t);
        return;
      }
      case 'truncate':
        return reply.send(reply.transport === 'udp' ? truncated(this.zone.answer(q)) : normal());
      case 'rcode':
        return reply.send(dnsPacket.encode(this.zone.answer(q, RCODES.indexOf(arg!))));
      case 'malformed':
        return reply.send(malformed(arg as Malformation, q, normal(), this.zone));
    }
  }

  /** The rule for `name` (else the default), counting one use. */
  private take(name: string): Behaviour {
    const key = this.rules.has(norm(name)) ? norm(name) : DEFAULT;
    const rule = this.rules.get(key);
    if (!rule) return 'answer';
    if (--rule.left <= 0) this.rules.delete(key);
    return rule.behaviour;
  }
}

function malformed(how: Malformation, q: dnsPacket.DecodedPacket, normal: Buffer, zone: Zone): Buffer {
  switch (how) {
    case 'garbage': // right ID, so the requester has to parse the rest to reject it
      return Buffer.concat([normal.subarray(0, 2), randomBytes(40)]);
    case 'short':
      return normal.subarray(0, 5);
    case 'wrong-id': {
      const b = Buffer.from(normal);
      b.writeUInt16BE((q.id! + 1) & 0xffff, 0);
      return b;
    }
    case 'no-qr': {
      const b = Buffer.from(normal);
      b[2]! &= 0x7f;
      return b;
    }
    case 'wrong-question': {
      const name = `wrong-question.${q.questions![0]!.name}`;
      return dnsPacket.encode({ ...zone.answer(q), questions: [{ ...q.questions![0]!, name }], answers: [{ name, type: 'A', class: 'IN', ttl: 60, data: '192.0.2.66' }] });
    }
  }
}

/** Starts a fault server on 127.0.0.1, UDP and TCP on the same port (`opts.port`, else a free one). */
export async function startFaultServer(opts: FaultServerOptions = {}): Promise<FaultServer> {
  for (;;) {
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(opts.port ?? 0, '127.0.0.1', () => resolve());
    });
    const tcp = net.createServer();
    const err = await new Promise<Error | null>((resolve) => {
      tcp.once('error', resolve);
      tcp.listen(udp.address().port, '127.0.0.1', () => resolve(null));
    });
    if (!err) return new FaultServer(udp, tcp, opts);
    udp.close();
    // Someone holds the TCP side of the port UDP got: try another, unless the caller chose it.
    if (opts.port !== undefined) throw err;
  }
}
