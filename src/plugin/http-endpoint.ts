// The HTTP listeners of health, ready and prometheus: CoreDNS-style addresses (`:8080`,
// `127.0.0.1:8181`, `[::1]:9153`), one server per address shared by every server block that
// names it, and listen errors turned into one clear line.
import http from 'node:http';
import type { Token } from '../corefile/index.ts';
import { ListenError } from '../server/port-check.ts';
import { fail } from './args.ts';

export type Route = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export interface HttpAddress {
  /** undefined = every address (CoreDNS's `:8080`). */
  host: string | undefined;
  port: number;
  text: string;
}

export function parseHttpAddress(t: Token | undefined, fallback: string): HttpAddress {
  const text = t?.text ?? fallback;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*))?:(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    if (t) fail(t, `'${text}' is not a listen address`, 'write it as :8080, 127.0.0.1:8080 or [::1]:8080');
    throw new Error(`bad default address ${fallback}`);
  }
  const host = m[1] ?? (m[2] || undefined);
  return { host, port, text };
}

interface Shared {
  server: http.Server;
  routes: Map<string, Route>;
  users: number;
  listening: Promise<void> | null;
}

const servers = new Map<string, Shared>();

/** An HTTP path served on `addr` while started; several plugins may share one address. */
export class HttpEndpoint {
  private readonly addr: HttpAddress;
  private readonly path: string;
  private readonly route: Route;
  private shared: Shared | null = null;

  constructor(addr: HttpAddress, path: string, route: Route) {
    this.addr = addr;
    this.path = path;
    this.route = route;
  }

  async start(): Promise<void> {
    const key = `${this.addr.host ?? ''}:${this.addr.port}`;
    let s = servers.get(key);
    if (!s) {
      const routes = new Map<string, Route>();
      const server = http.createServer((req, res) => {
        const path = (req.url ?? '/').split('?')[0]!;
        const r = routes.get(path);
        if (r) r(req, res);
        else res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found\n');
      });
      server.keepAliveTimeout = 5000;
      s = { server, routes, users: 0, listening: null };
      servers.set(key, s);
    }
    s.users++;
    // Several blocks may name the same path on one address (each with its own ready set): the first wins.
    if (!s.routes.has(this.path)) s.routes.set(this.path, this.route);
    this.shared = s;
    s.listening ??= new Promise<void>((resolve, reject) => {
      s.server.once('error', (err: NodeJS.ErrnoException) => {
        servers.delete(key);
        const where = this.addr.text;
        if (err.code === 'EADDRINUSE') reject(new ListenError(`listen tcp ${where}: address already in use (${this.path} cannot be served)`));
        else if (err.code === 'EACCES') reject(new ListenError(`listen tcp ${where}: permission denied`));
        else reject(new ListenError(`listen tcp ${where}: ${err.message}`));
      });
      s.server.listen({ host: this.addr.host, port: this.addr.port }, () => resolve());
    });
    await s.listening;
  }

  async stop(): Promise<void> {
    const s = this.shared;
    if (!s) return;
    this.shared = null;
    if (--s.users > 0) return;
    for (const [k, v] of servers) if (v === s) servers.delete(k);
    await new Promise<void>((resolve) => {
      s.server.close(() => resolve());
      s.server.closeAllConnections();
    });
  }
}
