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
    if (len > 0) socket.send(rt.w.buf, TCP_PREFIX, len, rinfo.port, rinfo.address);
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
