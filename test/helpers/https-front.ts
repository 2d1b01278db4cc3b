// TLS in front of a plain-HTTP test server (the fake API server), as a real API server serves:
// optionally refusing clients without a certificate signed by the test CA.
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Certificates } from './certificates.ts';

export interface HttpsFront {
  port: number;
  close(): Promise<void>;
}

export async function httpsFront(targetPort: number, c: Certificates, opts: { requireClientCert?: boolean } = {}): Promise<HttpsFront> {
  const requireCert = opts.requireClientCert ?? false;
  const proxy = createHttpsServer({ key: readFileSync(c.serverKey), cert: readFileSync(c.server), ca: readFileSync(c.ca), requestCert: requireCert, rejectUnauthorized: requireCert }, (req, res) => {
    const up = httpRequest({ host: '127.0.0.1', port: targetPort, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  return {
    port: (proxy.address() as { port: number }).port,
    close: async () => {
      proxy.closeAllConnections();
      await new Promise((r) => proxy.close(r));
    },
  };
}
