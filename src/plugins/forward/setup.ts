// forward FROM TO... { except NAMES...; force_tcp; prefer_udp; expire DUR; max_fails N;
//   tls [CERT KEY] [CA]; tls_servername NAME; policy random|round_robin|sequential;
//   health_check DUR [no_rec] [domain NAME]; max_concurrent N; next RCODE...;
//   failfast_all_unhealthy_upstreams }
import { readFileSync } from 'node:fs';
import type { Directive, Token } from '../../corefile/index.ts';
import { parseServerKey } from '../../config/address.ts';
import { RCODE } from '../../dns/constants.ts';
import { canonicalName, nameToWire } from '../../dns/name.ts';
import { eachOption, fail, optionArgs, parseDuration, parseIntArg } from '../../plugin/args.ts';
import type { PluginDefinition, PluginInstance } from '../../plugin/types.ts';
import { TIME_BUCKETS, metrics } from '../../metrics/index.ts';
import { CONN_PROTOS, DEFAULTS, type ForwardConfig, type ForwardMetricSlots, PROXY_RCODES, type Policy, type TlsFiles, healthBuffer } from './config.ts';
import { HealthChecker } from './health.ts';
import { type Upstream, parseTo } from './upstream.ts';

/** miekg/dns's rcode names that `next` takes (RFC 1035, RFC 2136). */
const RCODES: Record<string, number> = {
  NOERROR: RCODE.NOERROR, FORMERR: RCODE.FORMERR, SERVFAIL: RCODE.SERVFAIL, NXDOMAIN: RCODE.NXDOMAIN,
  NOTIMP: RCODE.NOTIMP, NOTIMPL: RCODE.NOTIMP, REFUSED: RCODE.REFUSED, YXDOMAIN: 6, YXRRSET: 7, NXRRSET: 8,
  NOTAUTH: 9, NOTZONE: 10,
};

/** Shortest health_check interval (0 would probe in a tight loop). */
const MIN_HEALTH_CHECK_MS = 10;

// CoreDNS's plugin/pkg/proxy/metrics.go and plugin/forward/metrics.go: names, help, labels and
// buckets as there. Registered once for the process and counted whether or not the block has
// `prometheus` (CoreDNS's are promauto globals).
const PROXY_NAME = 'forward';
const requestDuration = metrics.histogram({
  name: 'coredns_proxy_request_duration_seconds',
  help: 'Histogram of the time each request took.',
  labelNames: ['proxy_name', 'to', 'rcode'],
  buckets: TIME_BUCKETS,
});
const healthcheckFailures = metrics.counter({ name: 'coredns_proxy_healthcheck_failures_total', help: 'Counter of the number of failed healthchecks.', labelNames: ['proxy_name', 'to'] });
const connCacheHits = metrics.counter({ name: 'coredns_proxy_conn_cache_hits_total', help: 'Counter of connection cache hits per upstream and protocol.', labelNames: ['proxy_name', 'to', 'proto'] });
const connCacheMisses = metrics.counter({ name: 'coredns_proxy_conn_cache_misses_total', help: 'Counter of connection cache misses per upstream and protocol.', labelNames: ['proxy_name', 'to', 'proto'] });
const healthcheckBroken = metrics.counter({ name: 'coredns_forward_healthcheck_broken_total', help: 'Counter of the number of complete failures of the healthchecks.' });
const maxConcurrentRejects = metrics.counter({ name: 'coredns_forward_max_concurrent_rejects_total', help: 'Counter of the number of queries rejected because the concurrent queries were at maximum.' });

/** CoreDNS's `to` label: the proxy's address, host:port without the scheme (`[::1]:53`, `9.9.9.9:853`). */
function toLabel(u: Upstream): string {
  return u.name.startsWith('tls://') ? u.name.slice('tls://'.length) : u.name;
}

function metricSlots(tos: string[]): ForwardMetricSlots {
  return {
    duration: requestDuration.grid([[PROXY_NAME], tos, PROXY_RCODES]),
    connHits: connCacheHits.grid([[PROXY_NAME], tos, CONN_PROTOS]),
    connMisses: connCacheMisses.grid([[PROXY_NAME], tos, CONN_PROTOS]),
    broken: healthcheckBroken.series(),
    rejects: maxConcurrentRejects.series(),
  };
}

export const forward: PluginDefinition = {
  name: 'forward',
  summary: 'forwards queries to upstream resolvers over UDP, TCP or TLS, with health checks',
  // CoreDNS chains several forward directives of a block in the order they are written.
  repeatable: true,
  setup(ctx): PluginInstance {
    const d = ctx.directive;
    if (d.args.length < 2) fail(d.args[0] ?? d.name, 'forward needs a zone and at least one upstream', 'usage: forward FROM TO... (e.g. forward . 10.0.0.10 /etc/resolv.conf)');
    const from = fromZone(d.args[0]!);
    const upstreams: Upstream[] = [];
    for (const t of d.args.slice(1)) upstreams.push(...parseTo(t));
    if (upstreams.length > DEFAULTS.maxUpstreams) {
      fail(d.args[1]!, `more than ${DEFAULTS.maxUpstreams} TOs configured: ${upstreams.length}`, `forward takes at most ${DEFAULTS.maxUpstreams} upstreams (resolv.conf files count with each nameserver)`);
    }
    const o = readOptions(d);
    const health = healthBuffer(upstreams.length);
    const tos = upstreams.map(toLabel);
    const config: ForwardConfig = {
      from, except: o.except, upstreams, forceTcp: o.forceTcp, preferUdp: o.preferUdp && !o.forceTcp,
      expireMs: o.expireMs, maxFails: o.maxFails, policy: o.policy, maxConcurrent: o.maxConcurrent,
      next: o.next, failfast: o.failfast, tls: o.tls, health, metrics: metricSlots(tos),
    };
    const instance: PluginInstance = { worker: { module: new URL('./handler.ts', import.meta.url).href, config } };
    // max_fails 0: no upstream is ever marked down, and nothing is probed (CoreDNS).
    if (o.maxFails > 0) {
      // Probes run once, here on the primary, so each failed one is counted once.
      const failureSlots = tos.map((to) => healthcheckFailures.series([PROXY_NAME, to]));
      const checker = new HealthChecker(upstreams, health, o.healthCheckMs, {
        rd: o.hcRecursion, domain: o.hcDomain, tcp: o.forceTcp, tls: o.tls, timeoutMs: DEFAULTS.probeTimeoutMs,
      }, (line) => void process.stdout.write(`${line}\n`), (i) => healthcheckFailures.inc(failureSlots[i]!));
      instance.primary = { start: () => checker.start(), stop: () => checker.stop() };
    }
    return instance;
  },
};

interface Options {
  except: string[];
  forceTcp: boolean;
  preferUdp: boolean;
  expireMs: number;
  maxFails: number;
  tls: TlsFiles;
  policy: Policy;
  healthCheckMs: number;
  hcRecursion: boolean;
  hcDomain: string;
  maxConcurrent: number;
  next: number[];
  failfast: boolean;
}

/** FROM: a zone, or a CIDR for a reverse zone (CoreDNS uses the first zone one expands to). */
function fromZone(t: Token): string {
  const zones = parseServerKey(t, 53).map((a) => a.zone);
  if (zones.length > 1) {
    process.stderr.write(`[WARNING] plugin/forward: Unsupported CIDR notation: '${t.text}' expands to multiple zones. Using only '${zones[0]}'.\n`);
  }
  return zones[0]!;
}

function readOptions(d: Directive): Options {
  const o: Options = {
    except: [], forceTcp: false, preferUdp: false, expireMs: DEFAULTS.expireMs, maxFails: DEFAULTS.maxFails,
    tls: { cert: null, key: null, ca: null, servername: null }, policy: 'random', healthCheckMs: DEFAULTS.healthCheckMs,
    hcRecursion: true, hcDomain: '.', maxConcurrent: 0, next: [], failfast: false,
  };
  const duration = (t: Token, what: string): number => {
    if (t.text.startsWith('-')) fail(t, `${what} can't be negative: ${t.text}`);
    return parseDuration(t);
  };
  eachOption(d, {
    except(x) {
      for (const t of optionArgs(x, 1, Infinity, 'except IGNORED_NAMES...')) o.except.push(...parseServerKey(t, 53).map((a) => a.zone));
    },
    force_tcp(x) {
      optionArgs(x, 0, 0, 'force_tcp');
      o.forceTcp = true;
    },
    prefer_udp(x) {
      optionArgs(x, 0, 0, 'prefer_udp');
      o.preferUdp = true;
    },
    expire(x) {
      o.expireMs = duration(optionArgs(x, 1, 1, 'expire DURATION')[0]!, 'expire');
    },
    max_fails(x) {
      o.maxFails = parseIntArg(optionArgs(x, 1, 1, 'max_fails N')[0]!, 0, 2 ** 31 - 1);
    },
    tls(x) {
      // CoreDNS: none (system CAs), CA, CERT KEY, or CERT KEY CA.
      const a = optionArgs(x, 0, 3, 'tls [CERT KEY] [CA]');
      const read = (t: Token): string => {
        try {
          return readFileSync(t.text, 'utf8');
        } catch (err) {
          fail(t, `cannot read ${t.text}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        }
      };
      o.tls = { ...o.tls, cert: null, key: null, ca: null };
      if (a.length === 1) o.tls.ca = read(a[0]!);
      if (a.length >= 2) {
        o.tls.cert = read(a[0]!);
        o.tls.key = read(a[1]!);
      }
      if (a.length === 3) o.tls.ca = read(a[2]!);
    },
    tls_servername(x) {
      o.tls = { ...o.tls, servername: optionArgs(x, 1, 1, 'tls_servername NAME')[0]!.text };
    },
    policy(x) {
      const t = optionArgs(x, 1, 1, 'policy random|round_robin|sequential')[0]!;
      if (t.text !== 'random' && t.text !== 'round_robin' && t.text !== 'sequential') fail(t, `unknown policy '${t.text}'`, 'use random, round_robin or sequential');
      o.policy = t.text;
    },
    health_check(x) {
      const a = optionArgs(x, 1, 4, 'health_check DURATION [no_rec] [domain NAME]');
      o.healthCheckMs = Math.max(MIN_HEALTH_CHECK_MS, duration(a[0]!, 'health_check'));
      for (let i = 1; i < a.length; i++) {
        const t = a[i]!;
        if (t.text === 'no_rec') o.hcRecursion = false;
        else if (t.text === 'domain') {
          const name = a[++i];
          if (!name) fail(t, 'domain needs a name', 'usage: health_check DURATION [no_rec] [domain NAME]');
          try {
            nameToWire(name.text);
          } catch {
            fail(name, `health_check: invalid domain name ${name.text}`);
          }
          o.hcDomain = canonicalName(name.text);
        } else fail(t, `health_check: unknown option ${t.text}`, 'use no_rec or domain NAME');
      }
    },
    max_concurrent(x) {
      o.maxConcurrent = parseIntArg(optionArgs(x, 1, 1, 'max_concurrent N')[0]!, 0, 2 ** 31 - 1);
    },
    next(x) {
      for (const t of optionArgs(x, 1, Infinity, 'next RCODE...')) {
        const code = RCODES[t.text.toUpperCase()];
        if (code === undefined) fail(t, `${t.text} is not a valid rcode`, `use ${Object.keys(RCODES).join(', ')}`);
        if (!o.next.includes(code)) o.next.push(code);
      }
    },
    failfast_all_unhealthy_upstreams(x) {
      optionArgs(x, 0, 0, 'failfast_all_unhealthy_upstreams');
      o.failfast = true;
    },
  });
  return o;
}
