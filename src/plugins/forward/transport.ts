// A worker's sockets to one upstream: a few connected UDP sockets with many queries in flight on
// each, and a few persistent TCP (or TLS) connections with queries pipelined on them. Queries
// are matched to answers by a random 16-bit ID per socket or connection (the caller then checks
// the question). Idle sockets and connections close after `expire`.
import dgram from 'node:dgram';
import { getRandomValues } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import type { TlsFiles } from './config.ts';
import type { Upstream } from './upstream.ts';

/** One query sent on a carrier; the forwarder's attempts extend it. */
export interface Sent {
  id: number;
  carrier: Carrier | null;
}

export interface Carrier {
  /** Stops matching answers to `s` (its exchange is over, or it failed). */
  forget(s: Sent): void;
  /** `udp 127.0.0.1:40000->127.0.0.1:53`, for error messages. */
  describe(): string;
  /** Sends no new queries on it (TCP: after a timeout); it closes once nothing is in flight. */
  retire(): void;
}

/** What carriers report to. */
export interface Receiver {
  /** A message whose ID is `s`'s arrived; the receiver checks the rest and forgets `s`. */
  answer(s: Sent, msg: Buffer): void;
  /** `s` can get no answer on its carrier (already forgotten). `retry`: a reused TCP connection closed under it. */
  failed(s: Sent, error: string, retry: boolean): void;
}

const UDP_SOCKETS = 4;
const TCP_CONNS = 4;
/** A TCP connection gets a sibling once it has this many queries in flight. */
const PIPELINE = 32;
/** IDs a carrier tries before it says it is full (it never is, with the worker's in-flight cap). */
const ID_TRIES = 16;
/** The most queries in flight on one carrier. */
const MAX_PER_CARRIER = 16384;

const idPool = new Uint16Array(4096);
let idAt = idPool.length;
/** A random query ID (RFC 5452 4.3), from the CSPRNG in batches. */
export function randomId(): number {
  if (idAt === idPool.length) {
    getRandomValues(idPool);
    idAt = 0;
  }
  return idPool[idAt++]!;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;
/** Upstreams are IP literals: no resolver round trip for connect(). */
function literalLookup(address: string, _opts: unknown, callback: LookupCallback): void {
  callback(null, address, net.isIP(address.replace(/%.*$/, '')) === 6 ? 6 : 4);
}

function errText(err: NodeJS.ErrnoException): string {
  if (err.code === 'ECONNREFUSED') return 'connection refused';
  if (err.code === 'ECONNRESET') return 'connection reset by peer';
  if (err.code === 'EPIPE') return 'broken pipe';
  return err.message;
}

/**
 * Where a send on an open socket or connection (a hit) or on a new one (a miss) is counted:
 * slots of coredns_proxy_conn_cache_{hits,misses}_total in the worker's metrics block.
 */
export interface ConnCacheSlots {
  slots: Float64Array;
  udpHit: number;
  udpMiss: number;
  /** TCP, or TLS for a tls:// upstream. */
  streamHit: number;
  streamMiss: number;
}

const NO_CONN_CACHE: ConnCacheSlots = { slots: new Float64Array(1), udpHit: 0, udpMiss: 0, streamHit: 0, streamMiss: 0 };

export class UpstreamSockets {
  readonly upstream: Upstream;
  private readonly receiver: Receiver;
  private readonly expireMs: number;
  private readonly connectTimeoutMs: number;
  private readonly tlsOptions: tls.ConnectionOptions | null;
  private readonly udp: Array<UdpSocket | null> = new Array<UdpSocket | null>(UDP_SOCKETS).fill(null);
  private udpNext = 0;
  /** Open TCP/TLS connections, retired ones (draining, no new queries) included. */
  private readonly tcp = new Set<TcpConn>();
  private closed = false;
  private readonly cc: ConnCacheSlots;

  constructor(upstream: Upstream, receiver: Receiver, opts: { expireMs: number; connectTimeoutMs: number; tls: TlsFiles; connCache?: ConnCacheSlots }) {
    this.upstream = upstream;
    this.receiver = receiver;
    this.cc = opts.connCache ?? NO_CONN_CACHE;
    this.expireMs = opts.expireMs;
    this.connectTimeoutMs = opts.connectTimeoutMs;
    this.tlsOptions = upstream.tls ? tlsConnectOptions(upstream, opts.tls) : null;
  }

  /**
   * Sends the message in `buf` (2 free bytes, then `len` bytes of DNS message; its ID is set
   * here) over UDP, or over TCP (TLS for tls:// upstreams, which never use UDP).
   */
  send(s: Sent, buf: Buffer, len: number, tcp: boolean): void {
    if (this.closed) return this.later(s, 'forwarder is shutting down');
    if (tcp || this.tlsOptions) this.pickTcp().send(s, buf, len);
    else this.pickUdp().send(s, buf, len);
  }

  /** Reports a failure asynchronously, so callers never see their own callback re-entered. */
  later(s: Sent, error: string): void {
    queueMicrotask(() => this.receiver.failed(s, error, false));
  }

  private pickUdp(): UdpSocket {
    const i = this.udpNext;
    this.udpNext = (i + 1) % UDP_SOCKETS;
    let u = this.udp[i];
    if (!u || u.closed) {
      this.udp[i] = u = new UdpSocket(this, i);
      this.cc.slots[this.cc.udpMiss] += 1;
    } else {
      this.cc.slots[this.cc.udpHit] += 1;
    }
    return u;
  }

  private pickTcp(): TcpConn {
    let best: TcpConn | null = null;
    let active = 0;
    for (const c of this.tcp) {
      if (c.retired) continue;
      active++;
      if (best === null || c.pending.size < best.pending.size) best = c;
    }
    if (best === null || (best.pending.size >= PIPELINE && active < TCP_CONNS)) {
      best = new TcpConn(this, this.tlsOptions);
      this.tcp.add(best);
      this.cc.slots[this.cc.streamMiss] += 1;
    } else {
      this.cc.slots[this.cc.streamHit] += 1;
    }
    return best;
  }

  dropUdp(u: UdpSocket): void {
    if (this.udp[u.slot] === u) this.udp[u.slot] = null;
  }

  dropTcp(c: TcpConn): void {
    this.tcp.delete(c);
  }

  get expire(): number {
    return this.expireMs;
  }

  get connectTimeout(): number {
    return this.connectTimeoutMs;
  }

  get to(): Receiver {
    return this.receiver;
  }

  close(): void {
    this.closed = true;
    for (const u of this.udp) u?.close(null);
    for (const c of [...this.tcp]) c.close(null);
  }
}

/** Node TLS options for a tls:// upstream: CoreDNS's `tls` files and `tls_servername`. */
export function tlsConnectOptions(u: Upstream, files: TlsFiles): tls.ConnectionOptions {
  const o: tls.ConnectionOptions = { host: u.host, port: u.port };
  // Without tls_servername the certificate is checked against the upstream's IP (as Go's
  // crypto/tls does with an IP address); SNI carries no IP address (RFC 6066 3).
  if (files.servername) o.servername = files.servername;
  if (files.ca) o.ca = files.ca;
  if (files.cert && files.key) {
    o.cert = files.cert;
    o.key = files.key;
  }
  return o;
}

/**
 * What UDP sockets and TCP connections to an upstream share: the queries in flight by ID, and
 * closing once idle for `expire` (0: as soon as nothing is in flight).
 */
abstract class CarrierBase implements Carrier {
  lastUsed = performance.now();
  readonly pending = new Map<number, Sent>();
  protected readonly owner: UpstreamSockets;
  private timer: NodeJS.Timeout | null = null;
  abstract close(error: string | null): void;
  abstract forget(s: Sent): void;
  abstract describe(): string;
  abstract retire(): void;

  constructor(owner: UpstreamSockets) {
    this.owner = owner;
  }

  /**
   * Gives `s` a free ID on this carrier, written into the query at `buf[2..3]`, and waits for
   * its answer. False when no ID is free: the query is handed back to try elsewhere.
   */
  protected claim(s: Sent, buf: Buffer): boolean {
    const id = this.freeId();
    if (id < 0) {
      this.owner.later(s, `too many queries in flight to ${this.owner.upstream.name}`);
      return false;
    }
    buf[2] = id >> 8;
    buf[3] = id & 0xff;
    s.id = id;
    s.carrier = this;
    this.pending.set(id, s);
    this.lastUsed = performance.now();
    return true;
  }

  protected armIdle(expireMs: number): void {
    if (expireMs <= 0) return;
    const check = (): void => {
      this.timer = null;
      const idle = performance.now() - this.lastUsed;
      if (this.pending.size === 0 && idle >= expireMs) this.close(null);
      else this.timer = setTimeout(check, this.pending.size > 0 ? expireMs : Math.max(1, expireMs - idle)).unref();
    };
    this.timer = setTimeout(check, expireMs).unref();
  }

  protected clearIdle(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** A free random ID on this carrier, or -1. */
  protected freeId(): number {
    if (this.pending.size >= MAX_PER_CARRIER) return -1;
    for (let i = 0; i < ID_TRIES; i++) {
      const id = randomId();
      if (!this.pending.has(id)) return id;
    }
    return -1;
  }
}

class UdpSocket extends CarrierBase {
  readonly slot: number;
  closed = false;
  private readonly socket: dgram.Socket;
  /** Sends made before connect() completed (dgram refuses them until then). */
  private queue: Array<{ s: Sent; buf: Buffer; len: number }> | null = [];

  constructor(owner: UpstreamSockets, slot: number) {
    super(owner);
    this.slot = slot;
    const u = owner.upstream;
    this.socket = dgram.createSocket({ type: u.host.includes(':') ? 'udp6' : 'udp4', lookup: literalLookup as unknown as dgram.SocketOptions['lookup'] });
    this.socket.on('message', (msg) => this.receive(msg));
    this.socket.on('error', (err: NodeJS.ErrnoException) => {
      // A connected UDP socket reports ICMP errors (port unreachable: ECONNREFUSED) here, and
      // failed sends. They cannot be tied to one query: every query in flight on it has failed.
      // Before connect() completed, the socket is unusable (no IPv6 on the host...).
      const error = `${this.queue !== null ? 'dial' : 'read'} ${this.describe()}: ${errText(err)}`;
      if (this.queue !== null) this.close(error);
      else this.failAll(error);
    });
    this.socket.connect(u.port, u.host, () => {
      const q = this.queue ?? [];
      this.queue = null;
      for (const e of q) if (this.pending.get(e.s.id) === e.s) this.write(e.s, e.buf, e.len);
    });
    this.armIdle(owner.expire);
  }

  describe(): string {
    let local = '';
    try {
      const a = this.socket.address();
      local = `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}->`;
    } catch {
      // not bound yet
    }
    return `udp ${local}${this.owner.upstream.name}`;
  }

  send(s: Sent, buf: Buffer, len: number): void {
    if (!this.claim(s, buf)) return;
    if (this.queue !== null) this.queue.push({ s, buf, len });
    else this.write(s, buf, len);
  }

  private write(s: Sent, buf: Buffer, len: number): void {
    try {
      // No callback: a failed send comes back as an 'error' event (see the constructor).
      this.socket.send(buf, 2, len);
    } catch (err) {
      this.pending.delete(s.id);
      this.owner.later(s, `write ${this.describe()}: ${(err as Error).message}`);
    }
  }

  private receive(msg: Buffer): void {
    if (msg.length < 2) return;
    const s = this.pending.get((msg[0]! << 8) | msg[1]!);
    // An ID nobody waits for: a late answer to a forgotten query, or a forgery. Dropped.
    if (s === undefined) return;
    this.lastUsed = performance.now();
    this.owner.to.answer(s, msg);
  }

  forget(s: Sent): void {
    if (this.pending.get(s.id) === s) this.pending.delete(s.id);
    if (this.pending.size === 0 && this.owner.expire <= 0) this.close(null);
  }

  retire(): void {
    // A UDP timeout says nothing about the socket.
  }

  private failAll(error: string): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const s of all) this.owner.to.failed(s, error, false);
  }

  close(error: string | null): void {
    if (this.closed) return;
    this.closed = true;
    this.clearIdle();
    this.owner.dropUdp(this);
    this.queue = null;
    try {
      this.socket.close();
    } catch {
      // already closed
    }
    if (error !== null) this.failAll(error);
    else this.pending.clear();
  }
}

class TcpConn extends CarrierBase {
  closed = false;
  private readonly socket: net.Socket;
  private readonly tls: boolean;
  /** Answers received: a connection that answered before and then closes was a reused one. */
  private answered = 0;
  private connected = false;
  retired = false;
  private data: Buffer | null = null;
  private connectTimer: NodeJS.Timeout | null;
  private error: string | null = null;

  constructor(owner: UpstreamSockets, tlsOptions: tls.ConnectionOptions | null) {
    super(owner);
    this.tls = tlsOptions !== null;
    const u = owner.upstream;
    if (tlsOptions) {
      this.socket = tls.connect({ ...tlsOptions, lookup: literalLookup as unknown as net.LookupFunction });
      this.socket.once('secureConnect', () => this.onConnect());
    } else {
      this.socket = net.connect({ host: u.host, port: u.port, noDelay: true, lookup: literalLookup as unknown as net.LookupFunction });
      this.socket.once('connect', () => this.onConnect());
    }
    this.socket.setNoDelay(true);
    this.connectTimer = setTimeout(() => {
      this.connectTimer = null;
      this.close(`dial ${this.proto} ${u.name}: i/o timeout`);
    }, owner.connectTimeout).unref();
    this.socket.on('data', (chunk: Buffer) => this.receive(chunk));
    this.socket.on('error', (err: NodeJS.ErrnoException) => {
      const verb = this.connected ? 'read' : 'dial';
      this.error ??= this.tls && !this.connected ? `tls: ${err.message}` : `${verb} ${this.describe()}: ${errText(err)}`;
    });
    this.socket.on('close', () => this.close(this.error ?? `read ${this.describe()}: connection closed by the upstream`));
    this.armIdle(owner.expire);
  }

  private get proto(): string {
    return this.tls ? 'tcp-tls' : 'tcp';
  }

  private onConnect(): void {
    this.connected = true;
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.connectTimer = null;
  }

  describe(): string {
    const s = this.socket;
    const local = s.localAddress ? `${s.localAddress.includes(':') ? `[${s.localAddress}]` : s.localAddress}:${s.localPort}->` : '';
    return `${this.proto} ${local}${this.owner.upstream.name}`;
  }

  send(s: Sent, buf: Buffer, len: number): void {
    if (!this.claim(s, buf)) return;
    buf[0] = len >> 8;
    buf[1] = len & 0xff;
    // The stream may keep `buf` queued; the caller gives every attempt its own buffer.
    this.socket.write(buf.subarray(0, len + 2));
  }

  private receive(chunk: Buffer): void {
    let data = this.data === null ? chunk : Buffer.concat([this.data, chunk]);
    this.data = null;
    let o = 0;
    while (data.length - o >= 2) {
      const len = (data[o]! << 8) | data[o + 1]!;
      if (data.length - o - 2 < len) break;
      const msg = data.subarray(o + 2, o + 2 + len);
      o += 2 + len;
      if (len < 2) continue;
      const s = this.pending.get((msg[0]! << 8) | msg[1]!);
      if (s === undefined) continue; // unknown ID: ignored, as over UDP
      this.answered++;
      this.lastUsed = performance.now();
      this.owner.to.answer(s, msg);
      if (this.closed) return;
    }
    if (o < data.length) {
      data = data.subarray(o);
      this.data = Buffer.from(data);
    }
  }

  forget(s: Sent): void {
    if (this.pending.get(s.id) === s) this.pending.delete(s.id);
    if (this.pending.size === 0 && (this.retired || this.owner.expire <= 0)) this.close(null);
  }

  retire(): void {
    if (this.retired) return;
    this.retired = true;
    if (this.pending.size === 0) this.close(null);
  }

  /** Closes the connection; queries still in flight fail with `error` (retried when it had answered before). */
  close(error: string | null): void {
    if (this.closed) return;
    this.closed = true;
    this.clearIdle();
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.owner.dropTcp(this);
    this.socket.destroy();
    const all = [...this.pending.values()];
    this.pending.clear();
    if (error === null) return;
    // CoreDNS retries on a new connection when a cached one turns out closed (ErrCachedClosed).
    const reused = this.answered > 0;
    for (const s of all) this.owner.to.failed(s, error, reused);
  }
}
