// A worker's TCP listener for one address and port (RFC 7766): two-byte length-prefixed
// messages, several queries per connection (answered as they complete, in any order), an idle
// timeout and a cap on open connections. Stopping stops reading, lets every connection finish
// the answers it owes, then closes it, so a busy connection moves to the new workers of a reload
// instead of holding the old ones (and the old configuration) forever.
import net from 'node:net';
import type { ListenerRoute, WorkerRuntime } from './runtime.ts';
import { listenShared } from './listen.ts';
import { StreamConnections } from './stream.ts';
import type { StreamListener } from './stream-listener.ts';

export interface TcpOptions {
  maxConnections: number;
  idleTimeoutMs: number;
}

export async function openTcp(rt: WorkerRuntime, route: ListenerRoute, opts: TcpOptions): Promise<StreamListener> {
  const { address, port } = route.config;
  const idleMs = route.config.tcpIdleTimeoutMs ?? opts.idleTimeoutMs;
  const connections = new StreamConnections(rt, route);
  const server = net.createServer({ noDelay: true }, (sock) => {
    sock.setTimeout(idleMs, () => sock.destroy());
    sock.on('error', () => sock.destroy());
    connections.serve(sock);
  });
  server.maxConnections = opts.maxConnections;
  await listenShared(server, address, port);
  return connections.listener(server);
}
