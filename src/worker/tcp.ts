// A worker's TCP listener for one address and port (RFC 7766): two-byte length-prefixed
// messages, several queries per connection (answered as they complete, in any order), an idle
// timeout and a cap on open connections.
import net from 'node:net';
import type { ListenerRoute, WorkerRuntime } from './runtime.ts';

const MAX_FRAME = 65535;

export interface TcpOptions {
  maxConnections: number;
  idleTimeoutMs: number;
}

export async function openTcp(rt: WorkerRuntime, route: ListenerRoute, opts: TcpOptions): Promise<net.Server> {
  const { address, port } = route.config;
  const idle = { ...opts, idleTimeoutMs: route.config.tcpIdleTimeoutMs ?? opts.idleTimeoutMs };
  const server = net.createServer({ noDelay: true }, (sock) => serveConnection(rt, route, sock, idle));
  server.maxConnections = opts.maxConnections;
  await listen(server, address, port).catch((err: NodeJS.ErrnoException) => {
    if (address === '::' && (err.code === 'EAFNOSUPPORT' || err.code === 'EADDRNOTAVAIL')) return listen(server, '0.0.0.0', port);
    throw err;
  });
  server.on('error', () => {
    // Accept errors (EMFILE...) affect one connection attempt; keep listening.
  });
  return server;
}

function listen(server: net.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, reusePort: true, ipv6Only: false }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function serveConnection(rt: WorkerRuntime, route: ListenerRoute, sock: net.Socket, opts: TcpOptions): void {
  let pending: Buffer | null = null;
  sock.setTimeout(opts.idleTimeoutMs, () => sock.destroy());
  sock.on('error', () => sock.destroy());
  sock.on('data', (chunk: Buffer) => {
    let data = pending === null ? chunk : Buffer.concat([pending, chunk]);
    pending = null;
    let o = 0;
    while (data.length - o >= 2) {
      const len = data.readUInt16BE(o);
      if (len === 0) {
        // A zero-length message can't be a query; the stream is out of sync.
        sock.destroy();
        return;
      }
      if (data.length - o - 2 < len) break;
      answer(rt, route, sock, data.subarray(o + 2, o + 2 + len));
      o += 2 + len;
    }
    if (o < data.length) {
      data = data.subarray(o);
      if (data.length > MAX_FRAME + 2) {
        sock.destroy();
        return;
      }
      pending = Buffer.from(data);
    }
  });
}

function answer(rt: WorkerRuntime, route: ListenerRoute, sock: net.Socket, msg: Buffer): void {
  const q = rt.q;
  q.tcp = true;
  q.remoteAddress = sock.remoteAddress ?? '';
  q.remotePort = sock.remotePort ?? 0;
  rt.tcpSocket = sock;
  const len = rt.handle(route, msg, msg.length);
  if (len > 0 && !sock.destroyed) {
    const w = rt.w;
    const frame = w.frameForTcp(len);
    // Streams may queue a write; hand them their own copy of the shared response buffer.
    sock.write(Buffer.from(w.buf.subarray(0, frame)));
  }
  rt.observe(len);
}
