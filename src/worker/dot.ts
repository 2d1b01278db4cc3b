// A worker's DNS-over-TLS listener (RFC 7858) for one address and port: TLS around the same
// length-prefixed stream as TCP (RFC 7858 3.3), several queries per connection answered as they
// complete, in any order; an idle timeout and a cap on open connections. Without a `tls`
// directive the block speaks the same stream unencrypted, as CoreDNS does (a TLS-terminating
// proxy in front). Stopping stops reading, lets every connection finish the answers it owes,
// then closes it.
import net from 'node:net';
import tls from 'node:tls';
import type { ListenerRoute, WorkerRuntime } from './runtime.ts';
import type { TcpOptions } from './tcp.ts';
import { listenShared } from './listen.ts';
import { StreamConnections } from './stream.ts';
import { acceptsPeer, logKeys, tlsServerOptions } from './tls-server.ts';
import type { StreamListener } from './stream-listener.ts';

export async function openDot(rt: WorkerRuntime, route: ListenerRoute, opts: TcpOptions): Promise<StreamListener> {
  const { address, port, tls: settings } = route.config;
  const idleMs = route.config.tcpIdleTimeoutMs ?? opts.idleTimeoutMs;
  const connections = new StreamConnections(rt, route);
  const serve = (sock: net.Socket): void => {
    sock.setTimeout(idleMs, () => sock.destroy());
    sock.on('error', () => sock.destroy());
    if (settings && !acceptsPeer(settings, sock as tls.TLSSocket)) {
      sock.destroy();
      return;
    }
    connections.serve(sock);
  };
  let server: net.Server;
  if (settings) {
    // A handshake that never finishes must not hold a connection slot longer than an idle one.
    const s = tls.createServer({ ...tlsServerOptions(settings, route.config.tlsTicketKeys), handshakeTimeout: idleMs, noDelay: true }, serve);
    s.on('tlsClientError', () => {
      // A failed handshake concerns one client; the socket is already destroyed.
    });
    logKeys(s, settings);
    server = s;
  } else {
    server = net.createServer({ noDelay: true }, serve);
  }
  server.maxConnections = opts.maxConnections;
  await listenShared(server, address, port);
  return connections.listener(server);
}
