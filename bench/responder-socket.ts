// The UDP socket of the bench's stand-in DNS servers (bench/minimal-responder.ts,
// bench/upstream-responder.ts): finds the end of each query's question and sends what `answer`
// makes of it, synchronously. The servers differ only in their answers.

import dgram from 'node:dgram';
import net from 'node:net';

// dgram resolves the destination of every send() through `lookup`; the default
// (dns.lookup) defers IP literals to the next tick. A synchronous pass-through
// keeps the reply path synchronous. `rinfo.address` is always an IP literal.
type LookupCb = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;
function syncLookup(address: string, _opts: unknown, cb: LookupCb): void {
  cb(null, address, net.isIPv6(address) ? 6 : 4);
}

export interface ResponderSocketOptions {
  host: string;
  port: number;
  /** SO_REUSEPORT, for one socket per thread on the same port. */
  reusePort?: boolean;
  /** SO_RCVBUF in bytes; 0 = the OS default. */
  rcvbuf: number;
  /** Prefix of socket error lines on stderr. */
  name: string;
}

/**
 * A bound UDP socket that replies to every query with `answer(query, qend)`, `qend` being the
 * offset just past its question. Too short, responses and compressed or cut-off questions get
 * no reply.
 */
export function bindResponder(o: ResponderSocketOptions, answer: (query: Buffer, qend: number) => Buffer): Promise<dgram.Socket> {
  const sock = dgram.createSocket({
    type: net.isIPv6(o.host) ? 'udp6' : 'udp4',
    reusePort: o.reusePort ?? false,
    lookup: syncLookup as unknown as dgram.SocketOptions['lookup'],
    ...(o.rcvbuf > 0 ? { recvBufferSize: o.rcvbuf } : {}),
  });
  sock.on('message', (msg, rinfo) => {
    const len = msg.length;
    if (len < 12 || msg[2]! & 0x80) return; // too short, or a response
    // find the end of the question: labels, then QTYPE+QCLASS
    let i = 12;
    while (i < len) {
      const l = msg[i]!;
      if (l === 0) break;
      if (l & 0xc0) return;
      i += l + 1;
    }
    const qend = i + 5;
    if (qend > len) return;
    sock.send(answer(msg, qend), rinfo.port, rinfo.address);
  });
  sock.on('error', (err) => {
    console.error(`${o.name}: ${err.message}`);
  });
  return new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(o.port, o.host, () => {
      sock.off('error', reject);
      resolve(sock);
    });
  });
}
