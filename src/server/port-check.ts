// Before workers bind with SO_REUSEPORT (which would silently share a port with another
// process of the same user that also set it), bind each listener plainly once to find out
// whether the port is really free, and turn failures into one clear line. On a reload, ports the
// running server already holds are skipped: the new workers join its SO_REUSEPORT group.
import dgram from 'node:dgram';
import net from 'node:net';
import { isIP } from 'node:net';
import type { WorkerListenerConfig } from '../worker/config.ts';

export class ListenError extends Error {
  /** The DNS port that could not be bound (absent for HTTP endpoints). */
  readonly port: number | undefined;

  constructor(message: string, port?: number) {
    super(message);
    this.port = port;
  }
}

/** `held`: listeners of our own running server (a reload); their ports are not probed. */
export async function checkListenersFree(listeners: WorkerListenerConfig[], held: WorkerListenerConfig[] = []): Promise<void> {
  const ours = new Set(held.map((h) => h.port));
  for (const l of listeners) {
    if (ours.has(l.port)) continue;
    // DoT and DoH listen on TCP only.
    await probe(l.address, l.port, l.transport === 'dns');
  }
}

async function probe(address: string, port: number, udp: boolean): Promise<void> {
  const where = `${isIP(address) === 6 ? `[${address}]` : address}:${port}`;
  const explain = (proto: string, err: NodeJS.ErrnoException): ListenError => {
    if (err.code === 'EADDRINUSE') return new ListenError(`listen ${proto} ${where}: address already in use (${udp ? 'another DNS server, or another kdns,' : 'another server (web, DNS, or another kdns)'} is running on port ${port})`, port);
    if (err.code === 'EACCES') return new ListenError(`listen ${proto} ${where}: permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE; ${udp ? 'try -dns.port 1053' : 'or name a port in the key, e.g. tls://.:8853'})`, port);
    if (err.code === 'EADDRNOTAVAIL') return new ListenError(`listen ${proto} ${where}: address not available on this machine (check 'bind')`, port);
    return new ListenError(`listen ${proto} ${where}: ${err.message}`, port);
  };
  try {
    if (udp) await udpProbe(address, port);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (address === '::' && (e.code === 'EAFNOSUPPORT' || e.code === 'EADDRNOTAVAIL')) return probe('0.0.0.0', port, udp);
    throw explain('udp', e);
  }
  try {
    await tcpProbe(address, port);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (!udp && address === '::' && (e.code === 'EAFNOSUPPORT' || e.code === 'EADDRNOTAVAIL')) return probe('0.0.0.0', port, udp);
    throw explain('tcp', e);
  }
}

function udpProbe(address: string, port: number): Promise<void> {
  const s = dgram.createSocket({ type: isIP(address) === 6 ? 'udp6' : 'udp4', ipv6Only: false });
  return new Promise((resolve, reject) => {
    s.once('error', (err) => {
      s.close();
      reject(err);
    });
    s.bind({ address, port }, () => s.close(() => resolve()));
  });
}

function tcpProbe(address: string, port: number): Promise<void> {
  const s = net.createServer();
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.listen({ host: address, port, ipv6Only: false }, () => s.close(() => resolve()));
  });
}
