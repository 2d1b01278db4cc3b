// cache [TTL] [ZONES...] { success CAPACITY [TTL] [MINTTL]; denial CAPACITY [TTL] [MINTTL];
//   prefetch AMOUNT [[DURATION] [PERCENTAGE%]]; serve_stale [DURATION] [immediate|verify];
//   servfail DURATION; disable success|denial [ZONES...]; keepttl }
// Parsed as CoreDNS's plugin/cache/setup.go parses it; each worker keeps its own cache.
import type { Directive, Token } from '../../corefile/index.ts';
import { canonicalName } from '../../dns/name.ts';
import { eachOption, fail, parseDuration, parseIntArg, zonesArg } from '../../plugin/args.ts';
import type { PluginDefinition, SetupContext } from '../../plugin/types.ts';
import { metrics } from '../../metrics/index.ts';
import { serverLabel } from '../prometheus/setup.ts';
import { SHARDS } from './store.ts';

/** CoreDNS's default capacity (10000), which becomes 256 shards of 39 = 9984 items. */
const DEFAULT_CAPACITY = 10000;
/** dnsutil.MaximumDefaultTTL (success) and half of it (denial); dnsutil.MinimalDefaultTTL. */
const MAX_SUCCESS_TTL = 3600;
const MAX_DENIAL_TTL = 1800;
const MIN_TTL = 5;
const MAX_TTL_ARG = 2 ** 31 - 1;

export interface CacheClass {
  /** Items per shard: floor(CAPACITY / 256), at least 4 (so at least 1024 items in all). */
  shardCapacity: number;
  maxTtl: number;
  minTtl: number;
}

export interface CacheConfig {
  zones: string[];
  success: CacheClass;
  denial: CacheClass;
  /** Seconds a SERVFAIL is cached (0: never). */
  servfailTtl: number;
  /** 0: no prefetch. */
  prefetchAmount: number;
  prefetchWindowMs: number;
  prefetchPercentage: number;
  /** How long after expiry an item may still be served (0: serve_stale off). */
  staleMs: number;
  verifyStale: boolean;
  keepTtl: boolean;
  /** Zones whose positive / negative answers are not cached (`disable`). */
  noSuccess: string[];
  noDenial: string[];
  /** Per `bind` address of the block, in the order of `addresses` (one set: every address). */
  metrics: CacheMetricSlots[];
  addresses: string[] | null;
}

/**
 * Slots of this cache's series in the worker's metrics block (src/metrics). Requests are not
 * counted separately: `coredns_cache_requests_total` is hits + misses, summed at scrape time,
 * so a hit costs one add.
 */
export interface CacheMetricSlots {
  hitSuccess: number;
  hitDenial: number;
  misses: number;
  prefetch: number;
  servedStale: number;
  drops: number;
  /** Gauges: this worker's item counts (the scrape sums the workers). */
  entriesSuccess: number;
  entriesDenial: number;
  evictSuccess: number;
  evictDenial: number;
}

// CoreDNS's plugin/cache/metrics.go: names, help and labels as there. Registered once for the
// process and counted whether or not the block has `prometheus` (as CoreDNS's promauto metrics).
const entries = metrics.gauge({ name: 'coredns_cache_entries', help: 'The number of elements in the cache.', labelNames: ['server', 'type', 'zones', 'view'] });
const requests = metrics.counter({ name: 'coredns_cache_requests_total', help: 'The count of cache requests.', labelNames: ['server', 'zones', 'view'] });
const hits = metrics.counter({ name: 'coredns_cache_hits_total', help: 'The count of cache hits.', labelNames: ['server', 'type', 'zones', 'view'] });
const misses = metrics.counter({
  name: 'coredns_cache_misses_total',
  help: 'The count of cache misses. Deprecated, derive misses from cache hits/requests counters.',
  labelNames: ['server', 'zones', 'view'],
});
const prefetches = metrics.counter({ name: 'coredns_cache_prefetch_total', help: 'The number of times the cache has prefetched a cached item.', labelNames: ['server', 'zones', 'view'] });
const drops = metrics.counter({ name: 'coredns_cache_drops_total', help: 'The number responses that are not cached, because the reply is malformed.', labelNames: ['server', 'zones', 'view'] });
const servedStale = metrics.counter({ name: 'coredns_cache_served_stale_total', help: 'The number of requests served from stale cache entries.', labelNames: ['server', 'zones', 'view'] });
const evictions = metrics.counter({ name: 'coredns_cache_evictions_total', help: 'The count of cache evictions.', labelNames: ['server', 'type', 'zones', 'view'] });

/** kdns has no `view` plugin: CoreDNS leaves the label empty then. */
const VIEW = '';

/** The block's series: `server` as the prometheus plugin writes it, `zones` the cache's zones joined by commas (CoreDNS). */
function metricSlots(ctx: SetupContext, zones: string[], host: string): CacheMetricSlots {
  const server = serverLabel(host, ctx.block.port, ctx.block.transport);
  const z = zones.join(',');
  const slots: CacheMetricSlots = {
    hitSuccess: hits.series([server, 'success', z, VIEW]),
    hitDenial: hits.series([server, 'denial', z, VIEW]),
    misses: misses.series([server, z, VIEW]),
    prefetch: prefetches.series([server, z, VIEW]),
    servedStale: servedStale.series([server, z, VIEW]),
    drops: drops.series([server, z, VIEW]),
    entriesSuccess: entries.series([server, 'success', z, VIEW]),
    entriesDenial: entries.series([server, 'denial', z, VIEW]),
    evictSuccess: evictions.series([server, 'success', z, VIEW]),
    evictDenial: evictions.series([server, 'denial', z, VIEW]),
  };
  requests.sumOf([server, z, VIEW], [slots.hitSuccess, slots.hitDenial, slots.misses]);
  return slots;
}

export const cache: PluginDefinition = {
  name: 'cache',
  summary: 'caches answers per worker, with CoreDNS’s success/denial capacities, prefetch, serve_stale and servfail',
  setup(ctx) {
    const d = ctx.directive;
    const args = [...d.args];
    let maxSuccess = MAX_SUCCESS_TTL;
    let maxDenial = MAX_DENIAL_TTL;
    // As CoreDNS: a first argument that is a number is the TTL, anything else starts the zones.
    if (args.length > 0 && /^[+-]?\d+$/.test(args[0]!.text)) {
      const t = args.shift()!;
      maxSuccess = maxDenial = positiveTtl(t);
    }
    const zones = zonesArg(args, ctx.block.zones);
    const c: CacheConfig = {
      zones,
      success: { shardCapacity: shardCapacity(DEFAULT_CAPACITY), maxTtl: maxSuccess, minTtl: MIN_TTL },
      denial: { shardCapacity: shardCapacity(DEFAULT_CAPACITY), maxTtl: maxDenial, minTtl: MIN_TTL },
      servfailTtl: MIN_TTL,
      prefetchAmount: 0,
      prefetchWindowMs: 60_000,
      prefetchPercentage: 10,
      staleMs: 0,
      verifyStale: false,
      keepTtl: false,
      noSuccess: [],
      noDenial: [],
      metrics: (ctx.addresses ?? ['']).map((host) => metricSlots(ctx, zones, host)),
      addresses: ctx.addresses ?? null,
    };
    const cls = (which: CacheClass, x: Directive): void => {
      const a = optionArgs(x, 1, 3, `${x.name.text} CAPACITY [TTL] [MINTTL]`);
      which.shardCapacity = shardCapacity(parseIntArg(a[0]!, 0, MAX_TTL_ARG));
      if (a[1]) which.maxTtl = positiveTtl(a[1]);
      if (a[2]) which.minTtl = parseIntArg(a[2], 0, MAX_TTL_ARG);
    };
    eachOption(d, {
      success: (x) => cls(c.success, x),
      denial: (x) => cls(c.denial, x),
      prefetch(x) {
        const a = optionArgs(x, 1, 3, 'prefetch AMOUNT [[DURATION] [PERCENTAGE%]]');
        c.prefetchAmount = parseIntArg(a[0]!, 0, MAX_TTL_ARG);
        if (a[1]) c.prefetchWindowMs = duration(a[1], 'prefetch AMOUNT [[DURATION] [PERCENTAGE%]]');
        if (a[2]) {
          const m = /^(\d+)%$/.exec(a[2].text);
          if (!m) fail(a[2], `'${a[2].text}' is not a percentage`, 'write it like 10% (the percent sign is required)');
          const pct = Number(m[1]);
          if (pct < 10 || pct > 90) fail(a[2], `percentage ${pct}% is out of range`, 'use a value from 10% to 90%');
          c.prefetchPercentage = pct;
        }
      },
      serve_stale(x) {
        const a = optionArgs(x, 0, 2, 'serve_stale [DURATION] [immediate|verify]');
        c.staleMs = a[0] ? duration(a[0], 'serve_stale [DURATION] [immediate|verify]') : 3_600_000;
        c.verifyStale = false;
        if (a[1]) {
          const mode = a[1].text.toLowerCase();
          if (mode !== 'immediate' && mode !== 'verify') fail(a[1], `unknown serve_stale refresh mode '${a[1].text}'`, 'use immediate or verify');
          c.verifyStale = mode === 'verify';
        }
      },
      servfail(x) {
        const [t] = optionArgs(x, 1, 1, 'servfail DURATION');
        const ms = duration(t!, 'servfail DURATION');
        // RFC 2308 7.1: a server failure must not be cached for longer than five minutes.
        if (ms > 300_000) fail(t!, 'SERVFAIL responses may not be cached for more than 5 minutes', 'use a duration up to 5m (RFC 2308 7.1), or 0 to not cache them');
        c.servfailTtl = Math.floor(ms / 1000);
      },
      disable(x) {
        const a = optionArgs(x, 1, Infinity, 'disable success|denial [ZONES...]');
        const which = a[0]!.text;
        if (which !== 'success' && which !== 'denial') fail(a[0]!, `cannot disable '${which}'`, 'use disable success or disable denial');
        const list = a.length > 1 ? a.slice(1).map((t) => canonicalName(t.text)) : ['.'];
        if (which === 'success') c.noSuccess = list;
        else c.noDenial = list;
      },
      keepttl(x) {
        optionArgs(x, 0, 0, 'keepttl');
        c.keepTtl = true;
      },
    });
    return { worker: { module: new URL('./handler.ts', import.meta.url).href, config: c } };
  },
};

function optionArgs(x: Directive, min: number, max: number, usage: string): Token[] {
  if (x.block) fail(x.name, `${x.name.text} takes no block`, `usage: ${usage}`);
  if (x.args.length < min) fail(x.name, `${x.name.text} needs ${min === max ? min : `at least ${min}`} argument${min === 1 ? '' : 's'}`, `usage: ${usage}`);
  if (x.args.length > max) fail(x.args[max]!, `too many arguments for ${x.name.text}`, `usage: ${usage}`);
  return x.args;
}

/** A maximum TTL: CoreDNS reserves 0 and below. */
function positiveTtl(t: Token): number {
  const n = parseIntArg(t, -MAX_TTL_ARG, MAX_TTL_ARG);
  if (n <= 0) fail(t, `cache TTL must be above zero, got ${n}`, 'give the longest time in seconds an answer may be cached');
  return n;
}

function duration(t: Token, usage: string): number {
  if (t.text.startsWith('-')) fail(t, `'${t.text}' is a negative duration`, `usage: ${usage}`);
  return parseDuration(t);
}

/** CoreDNS's pkg/cache: each of the 256 shards holds size/256 items, at least 4. */
function shardCapacity(capacity: number): number {
  return Math.max(4, Math.floor(capacity / SHARDS));
}
