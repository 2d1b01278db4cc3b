// Query mixes for capacity runs: named mixes, shares from flags or a file, and the query list
// they give for a synthetic cluster (bench/synthetic-cluster.ts).
//
//   node bench/mix.ts [--mix default | --mix service=45,headless=8,... | --mix-file FILE]
//       [--services 200] [--endpoints 2000] [--count 10000] [--seed 1] [--out queries.txt] [--json]
//
//   import { parseMix, mixQueries } from './mix.ts';
//   const { queries, counts } = mixQueries(cluster, parseMix('default,search=30'), { count: 10_000 });
//
// Every query carries its category and the RCODE a correct cluster DNS server answers it with, so
// a run can check that every server answered the same thing. Names with a first label `{unique}`
// are sent with a fresh first label each time by bench/loadgen.ts (every one a cache miss).

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCli } from './cli-args.ts';
import type { QuerySpec } from './dnsutil.ts';
import { apportion, rng, syntheticCluster, type ServiceFacts, type SyntheticCluster } from './synthetic-cluster.ts';

export const MIX_CATEGORIES = [
  'service',
  'service-aaaa',
  'headless',
  'headless-host',
  'srv',
  'ptr',
  'search',
  'outside-hit',
  'outside-miss',
  'nxdomain',
] as const;
export type MixCategory = (typeof MIX_CATEGORIES)[number];
/** Shares by category, in any unit (they are normalised to their sum). */
export type Mix = Partial<Record<MixCategory, number>>;

/** What each category sends, and what a correct server answers (for reports and `--help`). */
export const CATEGORY_HELP: Record<MixCategory, string> = {
  service: '`<svc>.<ns>.svc.<zone> A` of a ClusterIP Service: NOERROR, one A',
  'service-aaaa': 'the same names `AAAA` (glibc asks both): NOERROR, NODATA unless dual-stack',
  headless: '`<svc>.<ns>.svc.<zone> A` of a headless Service with 1–20 ready endpoints: NOERROR, one A each',
  'headless-host': '`<hostname>.<svc>.<ns>.svc.<zone> A` of a StatefulSet pod: NOERROR',
  srv: '`_<port>._<proto>.<svc>.<ns>.svc.<zone> SRV` of a named port: NOERROR',
  ptr: 'PTR of a Service ClusterIP or a ready pod IP (IPv4): NOERROR',
  search:
    'the `ndots:5` search path of an outside name from a pod: `<name>.<ns>.svc.<zone>`, `<name>.svc.<zone>`, `<name>.<zone>` (NXDOMAIN), then `<name>` (forwarded, cached), each A and AAAA: 8 queries in a row',
  'outside-hit': 'one of a small set of outside names, `A`: forwarded once, then cache hits',
  'outside-miss': '`{unique}.miss.example.net A`: a new name every query, always forwarded upstream',
  nxdomain: 'a name in the cluster zone that does not exist (`<svc>-missing.<ns>.svc.<zone>`, or a missing namespace): NXDOMAIN',
};

/** The default mix (percent). */
export const DEFAULT_MIX: Mix = { service: 45, headless: 8, srv: 7, ptr: 5, search: 15, 'outside-hit': 10, 'outside-miss': 5, nxdomain: 5 };

export const NAMED_MIXES: Record<string, Mix> = {
  default: DEFAULT_MIX,
  /** Cluster names only, nothing forwarded (the shape of synthetic-cluster.ts's QUERY_MIX). */
  'cluster-only': { service: 45, 'service-aaaa': 15, headless: 8, 'headless-host': 5, srv: 7, ptr: 5, nxdomain: 15 },
  /** Pods with the default `ndots:5` resolving mostly outside names. */
  'search-heavy': { service: 25, 'service-aaaa': 5, search: 50, 'outside-hit': 10, 'outside-miss': 5, nxdomain: 5 },
  /** Outside names only: the forward + cache path. */
  outside: { 'outside-hit': 80, 'outside-miss': 20 },
  /** Only cache misses upstream: the forwarder's own capacity. */
  'outside-miss': { 'outside-miss': 100 },
};

export const UNIQUE_LABEL = '{unique}';

export interface MixQuery extends QuerySpec {
  category: MixCategory;
  /** The RCODE a correct cluster DNS server answers with. */
  expect: 'NOERROR' | 'NXDOMAIN';
}

export interface MixOptions {
  /** Queries in the list, default 10000 (the list is cycled). */
  count?: number;
  zone?: string;
  seed?: number;
  /** Size of the outside-name set used by `outside-hit` and `search`, default 50. */
  outsideNames?: number;
}

export interface MixResult {
  queries: MixQuery[];
  /** Queries per category actually in the list (a category the cluster has nothing for falls back to `service`). */
  counts: Record<MixCategory, number>;
  /** RCODE shares a correct server gives over the whole list. */
  expectedRcodes: Record<string, number>;
  /** Normalised shares asked for (sum 1). */
  shares: Record<MixCategory, number>;
}

/**
 * Parses a mix: a named mix (`default`, `cluster-only`, ...), `cat=share,cat=share`, or a named mix
 * followed by overrides (`default,search=30,outside-miss=0`). Shares are relative.
 */
export function parseMix(spec: string): Mix {
  const parts = spec.split(',').map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0) throw new Error('empty mix');
  let mix: Mix = {};
  for (const [i, part] of parts.entries()) {
    const eq = part.indexOf('=');
    if (eq < 0) {
      if (i !== 0) throw new Error(`mix: a named mix must come first (got ${part})`);
      const named = NAMED_MIXES[part];
      if (!named) throw new Error(`unknown mix ${part} (named mixes: ${Object.keys(NAMED_MIXES).join(', ')})`);
      mix = { ...named };
      continue;
    }
    setShare(mix, part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return checkMix(mix);
}

function setShare(mix: Mix, cat: string, value: string): void {
  if (!(MIX_CATEGORIES as readonly string[]).includes(cat)) throw new Error(`unknown mix category ${cat} (known: ${MIX_CATEGORIES.join(', ')})`);
  const v = Number(value.replace(/%$/, ''));
  if (!Number.isFinite(v) || v < 0) throw new Error(`bad share for ${cat}: ${value}`);
  mix[cat as MixCategory] = v;
}

function checkMix(mix: Mix): Mix {
  const sum = Object.values(mix).reduce((a, b) => a + (b ?? 0), 0);
  if (!(sum > 0)) throw new Error('mix: the shares add up to 0');
  return mix;
}

export interface MixFile {
  mix: Mix;
  /** `rate QPS` line, if any. */
  rate?: number;
  /** `count N` line, if any. */
  count?: number;
}

/**
 * A mix file: one `category share` (or `category=share`) a line, `#` comments; optionally a line
 * `mix NAME` (a named mix the other lines override), `rate QPS` and `count N`.
 */
export function parseMixFile(text: string): MixFile {
  let mix: Mix = {};
  const out: MixFile = { mix };
  for (const [n, raw] of text.split('\n').entries()) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const m = /^([a-z-]+)\s*(?:=|\s)\s*(\S+)$/.exec(line);
    if (!m) throw new Error(`mix file line ${n + 1}: want "category share": ${raw}`);
    const [, key, value] = m as unknown as [string, string, string];
    if (key === 'mix') {
      const named = NAMED_MIXES[value];
      if (!named) throw new Error(`mix file line ${n + 1}: unknown mix ${value}`);
      mix = { ...named, ...mix };
      out.mix = mix;
    } else if (key === 'rate' || key === 'count') {
      const v = Number(value);
      if (!(v > 0)) throw new Error(`mix file line ${n + 1}: bad ${key} ${value}`);
      out[key] = v;
    } else {
      try {
        setShare(mix, key, value);
      } catch (err) {
        throw new Error(`mix file line ${n + 1}: ${(err as Error).message}`);
      }
    }
  }
  checkMix(mix);
  return out;
}

export function formatMix(mix: Mix): string {
  return MIX_CATEGORIES.filter((c) => (mix[c] ?? 0) > 0).map((c) => `${c}=${mix[c]}`).join(',');
}

const OUTSIDE_WORDS = ['api', 'www', 'cdn', 'auth', 'login', 's3', 'registry', 'hooks', 'metrics', 'storage', 'queue', 'events'];
const OUTSIDE_DOMAINS = ['example.com', 'example.net', 'example.org', 'example.io', 'example.dev'];

/** The set of outside names `outside-hit` and `search` draw from (`api.example.com`, ...). */
export function outsideNames(n = 50): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) {
    const w = OUTSIDE_WORDS[i % OUTSIDE_WORDS.length]!;
    const d = OUTSIDE_DOMAINS[Math.floor(i / OUTSIDE_WORDS.length) % OUTSIDE_DOMAINS.length]!;
    const round = Math.floor(i / (OUTSIDE_WORDS.length * OUTSIDE_DOMAINS.length));
    out.push(round === 0 ? `${w}.${d}` : `${w}${round}.${d}`);
  }
  return out;
}

function reverseV4(ip: string): string {
  return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
}

/** The query list for `mix` over `cluster`: `count` queries, categories interleaved (seeded shuffle). */
export function mixQueries(cluster: SyntheticCluster, mix: Mix, opts: MixOptions = {}): MixResult {
  const count = Math.max(1, Math.floor(opts.count ?? 10_000));
  const zone = (opts.zone ?? 'cluster.local').replace(/\.$/, '');
  const r = rng((opts.seed ?? cluster.options.seed) + 202);
  const any = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  const fq = (f: ServiceFacts): string => `${f.name}.${f.namespace}.svc.${zone}`;
  const clusterIP = cluster.services.filter((f) => !f.headless && f.clusterIPs.length > 0);
  const headlessSmall = cluster.services.filter((f) => f.headless && f.readyAddresses.length >= 1 && f.readyAddresses.length <= 20);
  const withHosts = cluster.services.filter((f) => f.headless && f.hostnames.length > 0);
  const namedPorts = clusterIP.flatMap((f) => f.ports.filter((x) => x.name).map((x) => ({ f, x })));
  const svcIPs = clusterIP.flatMap((f) => f.clusterIPs.filter((ip) => ip.includes('.')));
  const podIPs = cluster.services.flatMap((f) => f.readyAddresses.filter((ip) => ip.includes('.')));
  const outside = outsideNames(opts.outsideNames ?? 50);

  type Gen = () => MixQuery[] | null;
  const one = (category: MixCategory, name: string, type: string, expect: MixQuery['expect'] = 'NOERROR'): MixQuery[] => [{ name, type, category, expect }];
  const gens: Record<MixCategory, Gen> = {
    service: () => (clusterIP.length ? one('service', fq(any(clusterIP)), 'A') : null),
    'service-aaaa': () => (clusterIP.length ? one('service-aaaa', fq(any(clusterIP)), 'AAAA') : null),
    headless: () => (headlessSmall.length ? one('headless', fq(any(headlessSmall)), 'A') : null),
    'headless-host': () => {
      if (!withHosts.length) return null;
      const f = any(withHosts);
      return one('headless-host', `${any(f.hostnames)}.${fq(f)}`, 'A');
    },
    srv: () => {
      if (!namedPorts.length) return null;
      const { f, x } = any(namedPorts);
      return one('srv', `_${x.name}._${x.protocol.toLowerCase()}.${fq(f)}`, 'SRV');
    },
    ptr: () => {
      const fromPods = podIPs.length > 0 && (svcIPs.length === 0 || r() < 0.5);
      if (!fromPods && !svcIPs.length) return null;
      return one('ptr', reverseV4(fromPods ? any(podIPs) : any(svcIPs)), 'PTR');
    },
    search: () => {
      const name = any(outside);
      const ns = any(cluster.services).namespace;
      const out: MixQuery[] = [];
      for (const [n, expect] of [
        [`${name}.${ns}.svc.${zone}`, 'NXDOMAIN'],
        [`${name}.svc.${zone}`, 'NXDOMAIN'],
        [`${name}.${zone}`, 'NXDOMAIN'],
        [name, 'NOERROR'],
      ] as const) {
        out.push({ name: n, type: 'A', category: 'search', expect }, { name: n, type: 'AAAA', category: 'search', expect });
      }
      return out;
    },
    'outside-hit': () => one('outside-hit', any(outside), 'A'),
    'outside-miss': () => one('outside-miss', `${UNIQUE_LABEL}.miss.example.net`, 'A'),
    nxdomain: () => {
      const f = any(cluster.services);
      return r() < 0.75
        ? one('nxdomain', `${f.name}-missing.${f.namespace}.svc.${zone}`, 'A', 'NXDOMAIN')
        : one('nxdomain', `${f.name}.${f.namespace}-gone.svc.${zone}`, 'A', 'NXDOMAIN');
    },
  };

  const weights = MIX_CATEGORIES.map((c) => Math.max(0, mix[c] ?? 0));
  const sum = weights.reduce((a, b) => a + b, 0);
  if (!(sum > 0)) throw new Error('mix: the shares add up to 0');
  const perCat = apportion(count, weights);
  // Units: single queries, or whole 8-query search sequences (kept in order, as a pod sends them).
  const units: MixQuery[][] = [];
  for (const [i, cat] of MIX_CATEGORIES.entries()) {
    let left = perCat[i]!;
    while (left > 0) {
      let unit = gens[cat]() ?? gens.service() ?? gens['outside-hit']()!;
      if (unit.length > left) unit = unit.slice(0, left);
      units.push(unit);
      left -= unit.length;
    }
  }
  for (let i = units.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [units[i], units[j]] = [units[j]!, units[i]!];
  }
  const queries = units.flat();
  const counts = Object.fromEntries(MIX_CATEGORIES.map((c) => [c, 0])) as Record<MixCategory, number>;
  const rc: Record<string, number> = {};
  for (const q of queries) {
    counts[q.category]++;
    rc[q.expect] = (rc[q.expect] ?? 0) + 1;
  }
  const expectedRcodes = Object.fromEntries(Object.entries(rc).map(([k, v]) => [k, v / queries.length]));
  const shares = Object.fromEntries(MIX_CATEGORIES.map((c, i) => [c, weights[i]! / sum])) as Record<MixCategory, number>;
  return { queries, counts, expectedRcodes, shares };
}

/** dnsperf query-file text (`name TYPE` a line). `{unique}` names are kept as they are (see header). */
export function formatMixQueries(queries: QuerySpec[]): string {
  return queries.map((q) => `${q.name} ${q.type}\n`).join('');
}

const USAGE = `usage: node bench/mix.ts [--mix SPEC | --mix-file FILE] [--services N] [--endpoints N]
  [--count 10000] [--seed 1] [--out FILE] [--json]
SPEC: a named mix (${Object.keys(NAMED_MIXES).join(', ')}), cat=share,... or NAME,cat=share,...
categories:
${MIX_CATEGORIES.map((c) => `  ${c.padEnd(14)} ${CATEGORY_HELP[c]}`).join('\n')}
default: ${formatMix(DEFAULT_MIX)}`;

function cli(): void {
  const values = parseCli(USAGE, {
    mix: { type: 'string' },
    'mix-file': { type: 'string' },
    services: { type: 'string' },
    endpoints: { type: 'string' },
    count: { type: 'string' },
    seed: { type: 'string' },
    out: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (!values) return;
  const file = values['mix-file'] ? parseMixFile(fs.readFileSync(values['mix-file'], 'utf8')) : undefined;
  const mix = values.mix ? parseMix(values.mix) : (file?.mix ?? DEFAULT_MIX);
  const cluster = syntheticCluster({ services: Number(values.services ?? 200), endpoints: Number(values.endpoints ?? 2000), seed: values.seed ? Number(values.seed) : undefined });
  const res = mixQueries(cluster, mix, { count: values.count ? Number(values.count) : file?.count });
  if (values.out) fs.writeFileSync(values.out, formatMixQueries(res.queries));
  if (values.json) console.log(JSON.stringify({ mix, counts: res.counts, expectedRcodes: res.expectedRcodes, queries: values.out ? undefined : res.queries }, null, 2));
  else {
    console.log(`mix ${formatMix(mix)}: ${res.queries.length} queries`);
    for (const c of MIX_CATEGORIES) if (res.counts[c]) console.log(`  ${c.padEnd(14)} ${res.counts[c]}`);
    if (!values.out) process.stdout.write(formatMixQueries(res.queries.slice(0, 20)));
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    cli();
  } catch (err) {
    console.error(`mix: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
