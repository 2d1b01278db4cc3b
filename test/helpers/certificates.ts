// Test certificates made with openssl: a CA, a server certificate for 127.0.0.1 (and any other
// addresses given) and a client certificate, valid for a day.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type Certificates = Record<'ca' | 'caKey' | 'server' | 'serverKey' | 'client' | 'clientKey', string>;

/** Why openssl cannot be used (for a skip), or undefined. */
export function opensslMissing(): string | undefined {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'openssl is not installed';
  }
}

/** Writes the files into `dir` and returns their paths. `names` go into the server's SAN. */
export function makeCertificates(dir: string, names: { ips?: string[]; dns?: string[] } = {}): Certificates {
  const f = (n: string) => join(dir, n);
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=kdns-test-ca']);
  const san = [...(names.ips ?? ['127.0.0.1']).map((ip) => `IP:${ip}`), ...(names.dns ?? []).map((d) => `DNS:${d}`)];
  writeFileSync(f('san.ext'), `subjectAltName=${san.join(',')}\n`);
  for (const who of ['server', 'client']) {
    run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${who}.key`, '-out', `${who}.csr`, '-subj', `/CN=${who}`]);
    run(['x509', '-req', '-in', `${who}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${who}.crt`, '-days', '1', ...(who === 'server' ? ['-extfile', 'san.ext'] : [])]);
  }
  return { ca: f('ca.crt'), caKey: f('ca.key'), server: f('server.crt'), serverKey: f('server.key'), client: f('client.crt'), clientKey: f('client.key') };
}
