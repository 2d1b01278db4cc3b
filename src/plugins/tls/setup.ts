// tls CERT KEY [CA] { client_auth ...; keylog FILE }: the certificate a tls:// (DNS over TLS,
// RFC 7858) or https:// (DNS over HTTPS, RFC 8484) server block presents, and whether it asks
// clients for theirs. Like CoreDNS's tls plugin it only configures the server; it never sits in
// the chain. The files are read and checked here, on the primary, so a bad certificate is a
// Corefile error at start-up (or a failed reload), never a worker that cannot listen.
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { Token } from '../../corefile/index.ts';
import { fsReason } from '../../corefile/errors.ts';
import type { PluginDefinition } from '../../plugin/types.ts';
import { eachOption, fail } from '../../plugin/args.ts';
import type { ClientAuth, WorkerTlsConfig } from '../../worker/config.ts';

const CLIENT_AUTH: readonly ClientAuth[] = ['nocert', 'request', 'require', 'verify_if_given', 'require_and_verify'];

export const tls: PluginDefinition = {
  name: 'tls',
  summary: 'the certificate of tls:// (DNS over TLS) and https:// (DNS over HTTPS) server blocks',
  setup(ctx) {
    const d = ctx.directive;
    const transport = ctx.block.transport ?? 'dns';
    if (transport === 'dns') {
      // CoreDNS accepts the directive here and ignores it; a certificate that silently does
      // nothing is worse than an error.
      fail(d.name, `tls has no effect in a dns:// server block (${ctx.block.key})`, 'serve DNS over TLS with a tls://ZONE[:PORT] block (default port 853) or DNS over HTTPS with https://ZONE[:PORT] (default 443)');
    }
    if (d.args.length < 2 || d.args.length > 3) {
      fail(d.args[3] ?? d.name, d.args.length < 2 ? 'tls needs a certificate and a key file' : 'too many arguments for tls', 'usage: tls CERT KEY [CA]');
    }
    const [certTok, keyTok, caTok] = d.args as [Token, Token, Token | undefined];
    let clientAuth: ClientAuth = 'nocert';
    let keylog: string | undefined;
    eachOption(d, {
      client_auth(o) {
        if (o.args.length !== 1) fail(o.name, 'client_auth needs one value', `client_auth ${CLIENT_AUTH.join('|')}`);
        const v = o.args[0]!;
        if (!(CLIENT_AUTH as readonly string[]).includes(v.text)) {
          const hint = v.text === 'require_any' ? "CoreDNS's name for it is 'require'" : `one of ${CLIENT_AUTH.join(', ')}`;
          fail(v, `unknown authentication type '${v.text}'`, hint);
        }
        clientAuth = v.text as ClientAuth;
      },
      keylog(o) {
        if (o.args.length !== 1) fail(o.name, 'keylog needs one file', 'keylog /tmp/tls-keys.log (debugging only: it discloses every session key)');
        keylog = o.args[0]!.text;
      },
    });
    const config: WorkerTlsConfig = { ...readPair(certTok, keyTok), clientAuth };
    if (caTok) config.ca = readCa(caTok);
    if (keylog !== undefined) config.keylog = keylog;
    return { tls: config };
  },
};

function readText(t: Token, what: string): string {
  try {
    return readFileSync(t.text, 'utf8');
  } catch (err) {
    fail(t, `cannot read the ${what} file '${t.text}': ${fsReason(err)}`, 'a path relative to the directory kdns was started in, readable by its user');
  }
}

/** The certificate (chain) and its key, checked to belong together. */
function readPair(certTok: Token, keyTok: Token): { cert: string; key: string } {
  const cert = readText(certTok, 'certificate');
  const key = readText(keyTok, 'key');
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch {
    fail(certTok, `'${certTok.text}' holds no PEM certificate`, 'the first of CERT KEY [CA] is the certificate: -----BEGIN CERTIFICATE-----');
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    const encrypted = /passphrase|encrypted/i.test((err as Error).message);
    fail(keyTok, encrypted ? `the key in '${keyTok.text}' is encrypted` : `'${keyTok.text}' holds no PEM private key`, encrypted ? 'give tls an unencrypted key (openssl pkey -in KEY -out KEY.plain)' : 'the second of CERT KEY [CA] is the private key: -----BEGIN PRIVATE KEY-----');
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    fail(keyTok, `the key in '${keyTok.text}' does not match the certificate in '${certTok.text}'`, `the certificate is for ${leaf.subject.replaceAll('\n', ', ')}; give tls that certificate's own key`);
  }
  try {
    // What the workers will do with them: catches what the checks above do not (an unusable chain).
    createSecureContext({ cert, key });
  } catch (err) {
    fail(certTok, `'${certTok.text}' and '${keyTok.text}' cannot be used for TLS: ${(err as Error).message}`);
  }
  return { cert, key };
}

function readCa(t: Token): string {
  const ca = readText(t, 'CA');
  try {
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no certificate');
    createSecureContext({ ca });
  } catch {
    fail(t, `'${t.text}' holds no PEM CA certificate`, 'the third of CERT KEY [CA] is the CA that client certificates are checked against');
  }
  return ca;
}
