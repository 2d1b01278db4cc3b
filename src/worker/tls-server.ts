// A listener's `tls` settings as Node TLS server options. CoreDNS's client_auth values are Go's
// tls.ClientAuthType; two of them (a certificate required but not verified, and one verified
// only if given) have no Node option and are checked once the handshake is done.
import { appendFile } from 'node:fs';
import type tls from 'node:tls';
import type { WorkerTlsConfig } from './config.ts';

/** `ticketKeys`: shared by every worker's listener, so a client resumes its session on any. */
export function tlsServerOptions(c: WorkerTlsConfig, ticketKeys: Uint8Array | undefined): tls.TlsOptions {
  const options: tls.TlsOptions = {
    cert: c.cert,
    key: c.key,
    // As CoreDNS: TLS 1.2 at least.
    minVersion: 'TLSv1.2',
    requestCert: c.clientAuth !== 'nocert',
    rejectUnauthorized: c.clientAuth === 'require_and_verify',
  };
  // Without a CA, Node's bundled roots check client certificates (CoreDNS: the system's).
  if (c.ca !== undefined) options.ca = c.ca;
  if (ticketKeys !== undefined) options.ticketKeys = Buffer.from(ticketKeys);
  return options;
}

/** After the handshake: may this client go on? (false: close the connection.) */
export function acceptsPeer(c: WorkerTlsConfig, sock: tls.TLSSocket): boolean {
  if (c.clientAuth === 'require') return hasCertificate(sock);
  if (c.clientAuth === 'verify_if_given') return !hasCertificate(sock) || sock.authorized;
  return true;
}

function hasCertificate(sock: tls.TLSSocket): boolean {
  const cert = sock.getPeerCertificate();
  return cert !== null && typeof cert === 'object' && Object.keys(cert).length > 0;
}

/** `keylog FILE`: every session's secrets, NSS key log format, for a packet capture's decoder. */
export function logKeys(server: tls.Server, c: WorkerTlsConfig): void {
  const file = c.keylog;
  if (file === undefined) return;
  server.on('keylog', (line: Buffer) => appendFile(file, line, () => {}));
}
