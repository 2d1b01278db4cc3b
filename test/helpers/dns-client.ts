// A small DNS client for tests: real UDP and TCP sockets on loopback, dns-packet for encoding.
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import { type Reply, decodeReply } from './decode.ts';

export type { Reply };

export interface QueryOptions {
  type?: string;
  cls?: string;
  id?: number;
  /** EDNS0: the OPT record's UDP size, version, DO bit and options (raw data per code). */
  edns?: { udpSize?: number; version?: number; do?: boolean; options?: Array<{ code: number; data: Buffer }> } | false;
  rd?: boolean;
  timeoutMs?: number;
  /** Source address to send from (a loopback address: 127.0.0.N, ::1). */
  from?: string;
}

export function encodeQuery(name: string, opts: QueryOptions = {}): Buffer {
  const additionals: dnsPacket.Answer[] = [];
  if (opts.edns) {
    additionals.push({
      type: 'OPT', name: '.', udpPayloadSize: opts.edns.udpSize ?? 1232,
      extendedRcode: 0, ednsVersion: opts.edns.version ?? 0, flags: opts.edns.do ? dnsPacket.DNSSEC_OK : 0, flag_do: !!opts.edns.do, options: opts.edns.options ?? [],
    } as unknown as dnsPacket.Answer);
  }
  return dnsPacket.encode({
    id: opts.id ?? Math.floor(Math.random() * 65535),
    type: 'query',
    flags: opts.rd === false ? 0 : dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type: (opts.type ?? 'A') as 'A', class: (opts.cls ?? 'IN') as 'IN' }],
    additionals,
  });
}

/** Sends raw bytes over UDP and resolves with the raw reply, or null after the timeout. */
export function udpRaw(port: number, msg: Uint8Array, timeoutMs = 1000, host = '127.0.0.1', from?: string): Promise<Buffer | null> {
  const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  return new Promise((resolve) => {
    const send = (): void => void s.send(msg, port, host);
    const timer = setTimeout(() => {
      s.close();
      resolve(null);
    }, timeoutMs);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(m);
    });
    if (from === undefined) send();
    else s.bind(0, from, send);
  });
}

export async function udpQuery(port: number, name: string, opts: QueryOptions = {}): Promise<Reply> {
  const reply = await udpRaw(port, encodeQuery(name, opts), opts.timeoutMs ?? 2000, opts.from?.includes(':') ? '::1' : '127.0.0.1', opts.from);
  if (reply === null) throw new Error(`no UDP answer for ${name}`);
  return decodeReply(reply);
}

/** One TCP connection that can carry several queries (RFC 7766 pipelining). */
export class TcpConnection {
  private readonly sock: net.Socket;
  private buf = Buffer.alloc(0);
  private readonly waiting: Array<(m: Buffer) => void> = [];
  readonly closed: Promise<void>;

  /** `connect`: another stream to carry the same framing (DNS over TLS: a tls.connect socket). */
  constructor(port: number, host = '127.0.0.1', connect?: () => net.Socket, from?: string) {
    this.sock = connect ? connect() : net.connect({ port, host, localAddress: from });
    this.sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= 2 && this.buf.length >= 2 + this.buf.readUInt16BE(0)) {
        const len = this.buf.readUInt16BE(0);
        const msg = this.buf.subarray(2, 2 + len);
        this.buf = this.buf.subarray(2 + len);
        this.waiting.shift()?.(Buffer.from(msg));
      }
    });
    this.closed = new Promise((resolve) => this.sock.on('close', () => resolve()));
    this.sock.on('error', () => {});
  }

  connected(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.sock.connecting) return resolve();
      this.sock.once('connect', () => resolve());
      this.sock.once('error', reject);
    });
  }

  /** Writes raw bytes (tests use it for broken framing). */
  writeRaw(bytes: Uint8Array): void {
    this.sock.write(bytes);
  }

  send(msg: Uint8Array): void {
    const frame = Buffer.alloc(2 + msg.length);
    frame.writeUInt16BE(msg.length, 0);
    frame.set(msg, 2);
    this.sock.write(frame);
  }

  next(timeoutMs = 2000): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no TCP answer')), timeoutMs);
      this.waiting.push((m) => {
        clearTimeout(timer);
        resolve(m);
      });
    });
  }

  async query(name: string, opts: QueryOptions = {}): Promise<Reply> {
    this.send(encodeQuery(name, opts));
    return decodeReply(await this.next(opts.timeoutMs));
  }

  close(): void {
    this.sock.destroy();
  }
}

export async function tcpQuery(port: number, name: string, opts: QueryOptions = {}): Promise<Reply> {
  const c = new TcpConnection(port, opts.from?.includes(':') ? '::1' : '127.0.0.1', undefined, opts.from);
  try {
    return await c.query(name, opts);
  } finally {
    c.close();
  }
}
