// forward's TO arguments: `1.2.3.4`, `1.2.3.4:5353`, `[::1]:53`, `dns://...`, `tls://...` (port
// 853), or a resolv.conf-style file whose `nameserver` lines give the upstreams (port 53), as
// CoreDNS's parse.HostPortOrFile reads them.
import { statSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Token } from '../../corefile/index.ts';
import { fail } from '../../plugin/args.ts';
import { readResolvConfFile } from '../../config/resolv-conf.ts';

export interface Upstream {
  /** IP literal (IPv6 without brackets, a `%zone` kept). */
  host: string;
  port: number;
  tls: boolean;
  /** How logs and errors name it: `127.0.0.1:53`, `[::1]:53`, `tls://9.9.9.9:853`. */
  name: string;
}

const DNS_PORT = 53;
const TLS_PORT = 853;

/** Upstreams named by one TO token (several for a resolv.conf file). */
export function parseTo(t: Token): Upstream[] {
  let text = t.text;
  let tls = false;
  const scheme = /^([a-z0-9]+):\/\//i.exec(text);
  if (scheme) {
    const s = scheme[1]!.toLowerCase();
    if (s === 'tls') tls = true;
    else if (s !== 'dns') {
      fail(t, `'${s}://' is not supported as a destination protocol in forward`, 'kdns forwards over dns:// (UDP/TCP) and tls:// (DNS over TLS)');
    }
    text = text.slice(scheme[0].length);
  }
  const addr = hostPort(text);
  if (addr) {
    const port = addr.port ?? (tls ? TLS_PORT : DNS_PORT);
    if (!(port >= 1 && port <= 65535)) fail(t, `port '${addr.port}' is not valid`, 'ports are 1 to 65535');
    return [upstream(addr.host, port, tls)];
  }
  // Not an address: CoreDNS then tries it as a resolv.conf file.
  let isFile = false;
  try {
    isFile = statSync(text).isFile();
  } catch {
    // falls through to the error below
  }
  if (!isFile) fail(t, `not an IP address or file: '${text}'`, 'write an address (1.2.3.4, 1.2.3.4:5353, [::1]:53, tls://9.9.9.9) or a resolv.conf path');
  return readResolvConf(t, text);
}

function upstream(host: string, port: number, tls: boolean): Upstream {
  const hp = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return { host, port, tls, name: tls ? `tls://${hp}` : hp };
}

/** `ip`, `ip:port`, `[ip6]` or `[ip6]:port`; null when it is not an IP address. */
function hostPort(text: string): { host: string; port: number | null } | null {
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracket) return isAddress(bracket[1]!) ? { host: bracket[1]!, port: bracket[2] !== undefined ? Number(bracket[2]) : null } : null;
  if (isAddress(text)) return { host: text, port: null };
  const m = /^([^:]+):(\d+)$/.exec(text);
  if (m && isIP(m[1]!) === 4) return { host: m[1]!, port: Number(m[2]) };
  return null;
}

/** An IP literal; IPv6 may carry a `%zone` (link-local). */
function isAddress(s: string): boolean {
  const pct = s.indexOf('%');
  return isIP(pct >= 0 ? s.slice(0, pct) : s) !== 0 && (pct < 0 || isIP(s.slice(0, pct)) === 6);
}

/**
 * The `nameserver` lines of a resolv.conf (port 53), as miekg/dns's ClientConfigFromFile reads
 * them; `#` and `;` start comments. Other keywords are ignored.
 */
export function readResolvConf(t: Token, path: string): Upstream[] {
  const file = readResolvConfFile(path);
  if ('error' in file) fail(t, `cannot read ${path}: ${file.error}`);
  const out: Upstream[] = [];
  for (const { words, line } of file.lines) {
    if (words[0] !== 'nameserver' || words.length < 2) continue;
    const ns = words[1]!;
    if (!isAddress(ns)) fail(t, `${path}:${line}: nameserver '${ns}' is not an IP address`);
    out.push(upstream(ns, DNS_PORT, false));
  }
  if (out.length === 0) fail(t, `no nameservers found in ${path}`, 'a resolv.conf names its servers on `nameserver ADDRESS` lines');
  return out;
}
