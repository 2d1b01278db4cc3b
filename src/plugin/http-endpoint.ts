// The HTTP listeners of health, ready and prometheus: CoreDNS-style addresses (`:8080`,
// `127.0.0.1:8181`, `[::1]:9153`), one server per address shared by every server block that
// names it, and listen errors turned into one clear line.
import http from 'node:http';
import type { Token } from '../corefile/index.ts';
import { ListenError } from '../server/port-check.ts';
import { fail } from './args.ts';

/**
 * Answers one request. `older` hands it to the registration this one replaced on the same address
 * and path (null when there is none): during a reload the new configuration's route serves from
 * the moment it starts, and may defer to the running one until it is fully up (`ready`).
 */
export type Route = (req: http.IncomingMessage, res: http.ServerResponse, older: (() => void) | null) => void;

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
  /** Registrations by path, oldest first; the newest serves. */
  routes: Map<string, Route[]>;
  users: number;
  listening: Promise<void> | null;
}

const servers = new Map<string, Shared>();

function dispatch(list: Route[], i: number, req: http.IncomingMessage, res: http.ServerResponse): void {
  list[i]!(req, res, i > 0 ? () => dispatch(list, i - 1, req, res) : null);
}

/**
 * An HTTP path served on `addr` while started. Several plugins and server blocks may share one
 * address (one server, counted users); on one path the newest registration serves, so across a
 * reload the new configuration takes over an address both name while the server stays up, and
 * the old configuration's stop removes only its own route.
 */
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
      const routes = new Map<string, Route[]>();
      const server = http.createServer((req, res) => {
        const path = (req.url ?? '/').split('?')[0]!;
        const list = routes.get(path);
        if (list && list.length > 0) dispatch(list, list.length - 1, req, res);
        else res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found\n');
      });
      server.keepAliveTimeout = 5000;
      s = { server, routes, users: 0, listening: null };
      servers.set(key, s);
    }
    const shared = s;
    shared.users++;
    let list = shared.routes.get(this.path);
    if (!list) shared.routes.set(this.path, (list = []));
    list.push(this.route);
    this.shared = shared;
    shared.listening ??= new Promise<void>((resolve, reject) => {
      shared.server.once('error', (err: NodeJS.ErrnoException) => {
        if (servers.get(key) === shared) servers.delete(key);
        const where = this.addr.text;
        if (err.code === 'EADDRINUSE') reject(new ListenError(`listen tcp ${where}: address already in use (${this.path} cannot be served)`));
        else if (err.code === 'EACCES') reject(new ListenError(`listen tcp ${where}: permission denied`));
        else reject(new ListenError(`listen tcp ${where}: ${err.message}`));
      });
      shared.server.listen({ host: this.addr.host, port: this.addr.port }, () => resolve());
    });
    try {
      await shared.listening;
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  async stop(): Promise<void> {
    const s = this.shared;
    if (!s) return;
    this.shared = null;
    const list = s.routes.get(this.path);
    const at = list ? list.lastIndexOf(this.route) : -1;
    if (at >= 0) list!.splice(at, 1);
    if (list && list.length === 0) s.routes.delete(this.path);
    if (--s.users > 0) return;
    for (const [k, v] of servers) if (v === s) servers.delete(k);
    if (!s.server.listening) return;
    await new Promise<void>((resolve) => {
      s.server.close(() => resolve());
      s.server.closeAllConnections();
    });
  }
}
