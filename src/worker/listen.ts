// Binding a worker's stream listener (TCP, DoT, DoH) to its address and port with SO_REUSEPORT,
// so every worker holds its own listening socket on the same port and the kernel spreads new
// connections across them. '::' (every address) falls back to 0.0.0.0 without IPv6.
import type net from 'node:net';

export async function listenShared(server: net.Server, address: string, port: number): Promise<void> {
  await listen(server, address, port).catch((err: NodeJS.ErrnoException) => {
    if (address === '::' && (err.code === 'EAFNOSUPPORT' || err.code === 'EADDRNOTAVAIL')) return listen(server, '0.0.0.0', port);
    throw err;
  });
  server.on('error', () => {
    // Accept errors (EMFILE...) affect one connection attempt; keep listening.
  });
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
