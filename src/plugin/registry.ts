// Every plugin kdns knows, and the order they run in. Like CoreDNS, the chain order is fixed by
// this list (CoreDNS's plugin.cfg order), never by the order of lines in the Corefile.
import type { PluginDefinition } from './types.ts';
import { acl } from '../plugins/acl/setup.ts';
import { any } from '../plugins/any/setup.ts';
import { autopath } from '../plugins/autopath/setup.ts';
import { bind } from '../plugins/bind/setup.ts';
import { bufsize } from '../plugins/bufsize/setup.ts';
import { cache } from '../plugins/cache/setup.ts';
import { chaos } from '../plugins/chaos/setup.ts';
import { errors } from '../plugins/errors/setup.ts';
import { forward } from '../plugins/forward/setup.ts';
import { header } from '../plugins/header/setup.ts';
import { health } from '../plugins/health/setup.ts';
import { hosts } from '../plugins/hosts/setup.ts';
import { kubernetes } from '../plugins/kubernetes/setup.ts';
import { local } from '../plugins/local/setup.ts';
import { loadbalance } from '../plugins/loadbalance/setup.ts';
import { log } from '../plugins/log/setup.ts';
import { loop } from '../plugins/loop/setup.ts';
import { minimal } from '../plugins/minimal/setup.ts';
import { nsid } from '../plugins/nsid/setup.ts';
import { prometheus } from '../plugins/prometheus/setup.ts';
import { ready } from '../plugins/ready/setup.ts';
import { records } from '../plugins/records/setup.ts';
import { reload } from '../plugins/reload/setup.ts';
import { rewrite } from '../plugins/rewrite/setup.ts';
import { template } from '../plugins/template/setup.ts';
import { timeouts } from '../plugins/timeouts/setup.ts';
import { tls } from '../plugins/tls/setup.ts';
import { whoami } from '../plugins/whoami/setup.ts';
import { k8sExternal } from '../plugins/k8s_external/setup.ts';
import { file } from '../plugins/file/setup.ts';
import { debug } from '../plugins/debug/setup.ts';
import { dns64 } from '../plugins/dns64/setup.ts';
import { view } from '../plugins/view/setup.ts';
import { metadata } from '../plugins/metadata/setup.ts';

/** CoreDNS's directive order (plugin.cfg), with the external `records` where `file` sits. */
export const DIRECTIVE_ORDER = [
  'root', 'metadata', 'geoip', 'cancel', 'tls', 'quic', 'timeouts', 'multisocket', 'reload', 'nsid',
  'bufsize', 'bind', 'debug', 'trace', 'ready', 'health', 'pprof', 'prometheus', 'errors', 'log',
  'dnstap', 'local', 'dns64', 'acl', 'any', 'chaos', 'loadbalance', 'tsig', 'cache', 'rewrite',
  'header', 'dnssec', 'autopath', 'minimal', 'template', 'transfer', 'hosts', 'route53', 'azure',
  'clouddns', 'k8s_external', 'kubernetes', 'records', 'file', 'auto', 'secondary', 'etcd', 'loop',
  'forward', 'grpc', 'erratic', 'whoami', 'on', 'sign', 'view',
];

const PLUGINS: PluginDefinition[] = [acl, any, autopath, bind, bufsize, cache, chaos, debug, dns64, errors, file, forward, header, health, hosts, k8sExternal, kubernetes, loadbalance, local, log, loop, metadata, minimal, nsid, prometheus, ready, records, reload, rewrite, template, timeouts, tls, view, whoami];

export const plugins = new Map<string, PluginDefinition>(PLUGINS.map((p) => [p.name, p]));

export function orderOf(name: string): number {
  return DIRECTIVE_ORDER.indexOf(name);
}

/** Plugins compiled in, in chain order (for `-plugins`). */
export function pluginNames(): string[] {
  return [...plugins.keys()].sort((a, b) => orderOf(a) - orderOf(b));
}
