// A worker's UDP socket for one address and port. Every worker binds the same port with
// SO_REUSEPORT, so the kernel spreads clients across workers.
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { ResponseWriter, TCP_PREFIX } from '../dns/response.ts';
import type { ListenerRoute, WorkerRuntime } from './runtime.ts';

/** SO_RCVBUF: the default (~208 KiB) already drops datagrams in bursts of a few ms at 60k q/s. */
const RECV_BUFFER = 4 << 20;

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;
/**
 * dgram passes every send() destination through `lookup`; the default (dns.lookup) answers even
 * an IP literal on the next tick, which would defer the send past the point where the worker
 * reuses its response buffer. Replies always go to `rinfo.address`, an IP literal.
 */
function literalLookup(address: string, _family: unknown, callback: LookupCallback): void {
  callback(null, address, isIP(address) === 6 ? 6 : 4);
}

/** Answers held while a socket drains (a connected socket cannot send to other addresses). */
const draining = new WeakMap<dgram.Socket, Array<{ msg: Buffer; port: number; address: string }>>();
const DRAIN_MS = 20;
/** Past forward's 5 s deadline, so even its SERVFAIL for a silent upstream is delivered. */
const DRAIN_LIMIT_MS = 6000;
/** Sockets draining in this worker; 0 on the hot path, so it skips the WeakMap lookup. */
let drainingCount = 0;

/** Sends an answer on a listener's socket, or holds it while the socket drains. */
export function sendAnswer(socket: dgram.Socket, buf: Uint8Array, offset: number, len: number, port: number, address: string): void {
  const held = drainingCount === 0 ? undefined : draining.get(socket);
  if (held) held.push({ msg: Buffer.from(buf.subarray(offset, offset + len)), port, address });
  else socket.send(buf, offset, len, port, address);
}

/**
 * Closes a listener without dropping the datagrams already queued on it, nor the answers still
 * on their way from upstream. The new workers of a reload share the port (SO_REUSEPORT):
 * connecting this socket to itself takes it out of the group's choice (Linux gives unconnected
 * traffic to unconnected members only), so new queries go to them while this one reads and
 * answers what it had. A connected socket cannot send elsewhere, so answers are held and sent
 * every DRAIN_MS (disconnect, send, connect again: whatever arrives in between is still read
 * and answered). Once the worker owes no UDP answer (or after DRAIN_LIMIT_MS) the last send and
 * the close happen in one synchronous step. If connect fails, it drains and closes anyway.
 */
export async function drainAndClose(socket: dgram.Socket, rt: WorkerRuntime): Promise<void> {
  const held: Array<{ msg: Buffer; port: number; address: string }> = [];
  draining.set(socket, held);
  drainingCount++;
  const me = socket.address();
  const self = me.address === '::' ? '::1' : me.address === '0.0.0.0' ? '127.0.0.1' : me.address;
  const connect = (): void => {
    try {
      // No callback: a failure is an 'error' event (ignored) and the socket stays as it was.
      socket.connect(me.port, self);
    } catch {
      // Not connected: it goes on receiving until it closes, as before.
    }
  };
  const flush = (): void => {
    try {
      socket.disconnect();
    } catch {
      // It never connected.
    }
    for (const h of held.splice(0)) {
      try {
        socket.send(h.msg, h.port, h.address);
      } catch {
        // Closing anyway.
      }
    }
  };
  connect();
  const start = Date.now();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, DRAIN_MS));
    const done = rt.udpInflight <= 0 || Date.now() - start >= DRAIN_LIMIT_MS;
    if (done) break;
    if (held.length > 0) {
      flush();
      connect();
    }
  }
  draining.delete(socket);
  drainingCount--;
  flush();
  socket.close();
}

export async function openUdp(rt: WorkerRuntime, route: ListenerRoute): Promise<dgram.Socket> {
  const { address, port } = route.config;
  const socket = await bindUdp(address, port).catch((err: NodeJS.ErrnoException) => {
    // '::' means every address; without IPv6 on the host that is 0.0.0.0.
    if (address === '::' && (err.code === 'EAFNOSUPPORT' || err.code === 'EADDRNOTAVAIL')) return bindUdp('0.0.0.0', port);
    throw err;
  });
  socket.on('message', (msg, rinfo) => {
    const q = rt.q;
    q.tcp = false;
    q.remoteAddress = rinfo.address;
    q.remotePort = rinfo.port;
    rt.udpSocket = socket;
    const len = rt.handle(route, msg, msg.length);
    if (len > 0) sendAnswer(socket, rt.w.buf, TCP_PREFIX, len, rinfo.port, rinfo.address);
    rt.observe(len);
    // Node sends synchronously unless the socket buffer is full; then it queues a reference to
    // our buffer. Never write into a buffer a queued send still points at.
    if (len > 0 && socket.getSendQueueCount() > 0) rt.w = new ResponseWriter();
  });
  socket.on('error', () => {
    // Send errors (e.g. an unreachable client) concern one packet; the socket stays open.
  });
  return socket;
}

function bindUdp(address: string, port: number): Promise<dgram.Socket> {
  const v6 = isIP(address) === 6;
  const socket = dgram.createSocket({
    type: v6 ? 'udp6' : 'udp4', reusePort: true, ipv6Only: false, recvBufferSize: RECV_BUFFER,
    lookup: literalLookup as unknown as dgram.SocketOptions['lookup'],
  });
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      socket.close();
      reject(err);
    };
    socket.once('error', onError);
    socket.bind({ address, port }, () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}
