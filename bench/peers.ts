// The servers a capacity run (bench/capacity.ts) measures, and how each is started on loopback:
//
//   minimal     bench/minimal-responder.ts: one fixed A record for anything (the floor, not a
//               cluster DNS server: its RCODEs do not match the mix)
//   kdns1 ...   kdns -workers K (kdnsN: N = --workers), kubeadm's Corefile shape, records from the
//               synthetic cluster's manifests (or the fake API server with --source api)
//   kube-dns    the kube-dns stand-in, as kube-dns was deployed: dnsmasq with kube-dns's flags
//               (cache 1000, no negative cache) in front of a backend holding the cluster records
//               (kubedns there; Debian's unbound with the same records as local-data here), the
//               rest forwarded to the same upstream
//   dnsmasq     Debian's dnsmasq alone, holding the same records (hosts file + srv-host lines,
//               `local=/cluster.local/`); its misses cost more as the cluster grows
//   coredns     a CoreDNS binary (--coredns PATH) with the same Corefile, reading the cluster
//               from the fake API server (CoreDNS cannot read manifests)
//   NAME        --peer NAME=HOST:PORT[,pid=PID]: a server already running (loopback only)
//   NAME        --peer-cmd NAME='command {port}': started by the run, as `sh -c "exec CMD"`, with
//               {port} {upstream} (HOST:PORT) {upstream_host} {upstream_port} {manifests} {hosts}
//               {dnsmasq_conf} (the `dnsmasq` target's files) {api} (fake API server URL) {dir}
//               substituted
//
// Everything outside the cluster zone goes to one upstream (bench/upstream-responder.ts, answering
// any name) that every server shares, so no server pays more than another to reach it.

import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { errorHint, startTarget, stopTarget, type Running } from './compare.ts';
import { assertLoopback, freePort, parseEndpoint, waitForDns, type QuerySpec } from './dnsutil.ts';
import type { K8sJson, SyntheticCluster } from './synthetic-cluster.ts';
import { startUnbound } from '../test/helpers/unbound.ts';
import { PRIMARY_ENV, PRIMARY_NODE_FLAGS } from '../bin/node-flags.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface TargetContext {
  cluster: SyntheticCluster;
  zone: string;
  /** Directory of the cluster's manifests (kubernetes { manifests DIR }). */
  manifestsDir: string;
  /** HOST:PORT of the shared upstream. */
  upstream: string;
  /** Scratch directory for generated configs. */
  dir: string;
  /** URL of the fake API server holding the cluster, when one runs. */
  apiUrl: string | null;
  /** Where kdns reads the cluster from. */
  source: 'manifests' | 'api';
  /** Give up on a start after this long (ms). */
  startTimeoutMs: number;
}

export interface RunningTarget {
  name: string;
  /** 127.0.0.1:PORT */
  address: string;
  /** Process whose CPU (tree) is charged to the target; null when unknown (a --peer without pid). */
  pid: number | null;
  /** More processes charged to the target (the kube-dns stand-in's backend). */
  extraPids: number[];
  /** Prometheus /metrics URL, when the target serves one. */
  metricsUrl: string | null;
  /** Command line with the port written {port}. */
  command: string;
  exited(): boolean;
  logs(): string;
  stop(): Promise<void>;
  /** SIGKILL now, synchronously (on the way out after a signal). */
  kill(): void;
}

export interface TargetSpec {
  name: string;
  kind: 'minimal' | 'kdns' | 'kube-dns' | 'dnsmasq' | 'coredns' | 'peer' | 'peer-cmd';
  /** One line for the report. */
  description: string;
  /** kdns itself (ratios are taken kdns ÷ the others). */
  isKdns: boolean;
  /** A correct cluster DNS server (its RCODEs should match the mix's). */
  clusterDns: boolean;
  /** Needs the fake API server. */
  needsApi: boolean;
  start(ctx: TargetContext): Promise<RunningTarget>;
}

/** Readiness: a cluster name answered NOERROR (a server still loading would say NXDOMAIN or SERVFAIL). */
const PROBE: QuerySpec = { name: 'kubernetes.default.svc.cluster.local', type: 'A' };
const noerror = (msg: Buffer): boolean => (msg[3]! & 0x0f) === 0;

async function waitReady(r: Running, port: number, timeoutMs: number, accept = noerror, probe = PROBE): Promise<void> {
  const abort = { aborted: false };
  void r.exited.then(() => (abort.aborted = true));
  const ok = await waitForDns({ host: '127.0.0.1', port, family: 4 }, timeoutMs, probe, abort, accept);
  if (!ok) {
    const why = r.hasExited() ? `exited (${await r.exited})` : `not answering ${probe.name} after ${timeoutMs / 1000} s`;
    await stopTarget(r);
    throw new Error(`${why}${errorHint(r.stderrTail())}`);
  }
}

function running(name: string, r: Running, port: number, command: string, metricsUrl: string | null, pid?: number): RunningTarget {
  return {
    name,
    address: `127.0.0.1:${port}`,
    pid: pid ?? r.child.pid ?? null,
    extraPids: [],
    metricsUrl,
    command: command.replaceAll(String(port), '{port}'),
    exited: () => r.hasExited(),
    logs: () => r.stderrTail(),
    stop: () => stopTarget(r),
    kill: () => {
      if (!r.hasExited()) r.child.kill('SIGKILL');
    },
  };
}

const nodeCmd = (argv: string[]): string => argv.map((a) => (a === process.execPath ? 'node' : a)).join(' ');

// ---- minimal ----

export function minimalTarget(): TargetSpec {
  return {
    name: 'minimal',
    kind: 'minimal',
    description: 'minimal Node UDP responder, 1 thread, 4 MiB receive buffer: one fixed A record for any name (the floor)',
    isKdns: false,
    clusterDns: false,
    needsApi: false,
    async start(ctx) {
      const port = await freePort();
      // The same 4 MiB SO_RCVBUF kdns's UDP sockets take (src/worker/udp.ts): with the OS
      // default the floor drops datagrams in bursts long before its CPU runs out.
      const argv = [process.execPath, 'bench/minimal-responder.ts', '--port', String(port), '--threads', '1', '--rcvbuf', String(4 << 20)];
      const r = startTarget({ name: 'minimal', argv, shell: false, env: {} });
      await waitReady(r, port, ctx.startTimeoutMs, () => true);
      return running('minimal', r, port, nodeCmd(argv), null);
    },
  };
}

// ---- kdns / coredns ----

/** The Corefile kdns and CoreDNS get: kubeadm's default shape, on loopback. */
export function clusterCorefile(o: { port: number; zone: string; upstream: string; metricsPort: number; manifests?: string; apiUrl?: string }): string {
  const src = o.manifests ? `manifests ${o.manifests}` : `endpoint ${o.apiUrl}`;
  return `.:${o.port} {
    bind 127.0.0.1
    errors
    kubernetes ${o.zone} in-addr.arpa ip6.arpa {
        ${src}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }
    prometheus 127.0.0.1:${o.metricsPort}
    forward . ${o.upstream}
    cache 30
    loadbalance
}
`;
}

/** kdns with `workers` workers; `extraArgs` go after the standard flags (a later flag wins). */
export function kdnsTarget(name: string, workers: number, extraArgs: string[] = []): TargetSpec {
  return {
    name,
    kind: 'kdns',
    description: `kdns -workers ${workers}${extraArgs.length ? ` ${extraArgs.join(' ')}` : ''}: kubernetes (manifests or API) + forward + cache 30 + prometheus + loadbalance`,
    isKdns: true,
    clusterDns: true,
    needsApi: false,
    async start(ctx) {
      const port = await freePort();
      const metricsPort = await freePort();
      const file = path.join(ctx.dir, `Corefile.${name}`);
      const api = ctx.source === 'api';
      if (api && !ctx.apiUrl) throw new Error('--source api without a fake API server');
      fs.writeFileSync(
        file,
        clusterCorefile({ port, zone: ctx.zone, upstream: ctx.upstream, metricsPort, ...(api ? { apiUrl: ctx.apiUrl! } : { manifests: ctx.manifestsDir }) }),
      );
      const argv = [process.execPath, ...PRIMARY_NODE_FLAGS, 'bin/kdns.js', '-conf', file, '-workers', String(workers), '-quiet', ...extraArgs];
      if (!fs.existsSync(path.join(ROOT, 'bin', 'kdns.js'))) throw new Error('bin/kdns.js not found');
      const r = startTarget({ name, argv, shell: false, env: PRIMARY_ENV });
      await waitReady(r, port, ctx.startTimeoutMs);
      return running(name, r, port, nodeCmd(argv), `http://127.0.0.1:${metricsPort}/metrics`);
    },
  };
}

/** `--kdns-variant 'NAME=FLAGS'`: kdns (1 worker unless FLAGS say -workers) with more command-line flags, for A/B runs of a setting. */
export function kdnsVariantTarget(spec: string): TargetSpec {
  const eq = spec.indexOf('=');
  const name = eq > 0 ? spec.slice(0, eq).trim() : '';
  const args = eq > 0 ? spec.slice(eq + 1).trim().split(/\s+/).filter(Boolean) : [];
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || args.length === 0) throw new Error(`--kdns-variant ${spec}: expected NAME=FLAGS, e.g. 'kdns1-young0=-worker.young-mb 0'`);
  return kdnsTarget(name, 1, args);
}

export function corednsTarget(bin: string, name = 'coredns'): TargetSpec {
  return {
    name,
    kind: 'coredns',
    description: `CoreDNS (${bin}) with the same Corefile, cluster from the fake API server`,
    isKdns: false,
    clusterDns: true,
    needsApi: true,
    async start(ctx) {
      if (!ctx.apiUrl) throw new Error('coredns needs the fake API server');
      const port = await freePort();
      const metricsPort = await freePort();
      const file = path.join(ctx.dir, `Corefile.${name}`);
      fs.writeFileSync(file, clusterCorefile({ port, zone: ctx.zone, upstream: ctx.upstream, metricsPort, apiUrl: ctx.apiUrl }));
      const argv = [path.resolve(bin), '-conf', file];
      const r = startTarget({ name, argv, shell: false, env: {} });
      await waitReady(r, port, ctx.startTimeoutMs);
      return running(name, r, port, argv.join(' '), `http://127.0.0.1:${metricsPort}/metrics`);
    },
  };
}

// ---- kube-dns stand-in (dnsmasq in front of a backend), and dnsmasq alone ----

export interface StandinFiles {
  hosts: string;
  conf: string;
  hostsLines: number;
  srvLines: number;
}

function dashed(ip: string): string {
  const d = net.isIP(ip) === 6 ? ip.replaceAll(':', '-') : ip.replaceAll('.', '-');
  return d.endsWith('-') ? `${d}0` : d;
}

/** `10.0.0.1` -> `1.0.0.10.in-addr.arpa`, IPv6 as nibbles under ip6.arpa. */
export function reverseName(ip: string): string {
  if (net.isIP(ip) === 4) return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
  const [head, tail = ''] = ip.split('::') as [string, string?];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  return `${groups.map((g) => g.padStart(4, '0')).join('').split('').reverse().join('.')}.ip6.arpa`;
}

export interface ClusterRecords {
  /** One entry per address: its names, the first being the one its PTR points to. */
  hosts: { ip: string; names: string[] }[];
  srv: { name: string; target: string; port: number; weight: number }[];
}

/**
 * The cluster's records, made from the same objects kdns reads, as kdns's kubernetes plugin makes
 * them (src/plugins/kubernetes/records.ts): A/AAAA of ClusterIP Services, `<hostname or dashed
 * IP>.<svc>…` for every ready endpoint (and the Service name for headless ones), a PTR per address,
 * SRV for every port at `_<port>._<proto>.<svc>…` (named ports) and at the Service name, with
 * weights floor(100 / n), n the candidates before duplicates fold (one per ClusterIP and port).
 */
export function clusterRecords(objects: K8sJson[], zone: string): ClusterRecords {
  type Port = { name: string; port: number; protocol: string };
  const ports = (list: unknown): Port[] =>
    ((list ?? []) as { name?: string; port: number; protocol?: string }[]).map((p) => ({ name: p.name ?? '', port: p.port, protocol: (p.protocol ?? 'TCP').toLowerCase() }));
  const services = new Map<string, { headless: boolean; ips: string[]; ports: Port[]; external: boolean }>();
  for (const o of objects) {
    if (o.kind !== 'Service') continue;
    const spec = (o.spec ?? {}) as { clusterIP?: string; clusterIPs?: string[]; type?: string; ports?: unknown };
    const ips = (spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : [])).filter((ip) => net.isIP(ip) !== 0);
    services.set(`${o.metadata.namespace}/${o.metadata.name}`, { headless: spec.clusterIP === 'None', ips, ports: ports(spec.ports), external: spec.type === 'ExternalName' });
  }
  const hosts = new Map<string, string[]>();
  const addHost = (ip: string, names: string[]): void => {
    const have = hosts.get(ip);
    if (!have) hosts.set(ip, [...names]);
    else for (const n of names) if (!have.includes(n)) have.push(n);
  };
  const srv = new Map<string, Map<string, { target: string; port: number }>>();
  /** Candidates per SRV name before duplicates fold (the weight's n, as records.ts counts it). */
  const candidates = new Map<string, number>();
  const addSrv = (name: string, target: string, port: number): void => {
    let m = srv.get(name);
    if (!m) srv.set(name, (m = new Map()));
    m.set(`${target} ${port}`, { target, port });
    candidates.set(name, (candidates.get(name) ?? 0) + 1);
  };
  const srvNames = (base: string, p: Port): string[] => (p.name ? [`_${p.name}._${p.protocol}.${base}`, base] : [base]);
  for (const [key, sv] of services) {
    if (sv.external || sv.headless) continue;
    const [ns, name] = key.split('/') as [string, string];
    const base = `${name}.${ns}.svc.${zone}`;
    for (const ip of sv.ips) addHost(ip, [base]);
    for (let i = 0; i < Math.max(1, sv.ips.length); i++) for (const p of sv.ports) for (const n of srvNames(base, p)) addSrv(n, base, p.port);
  }
  for (const o of objects) {
    if (o.kind !== 'EndpointSlice') continue;
    const svcName = o.metadata.labels?.['kubernetes.io/service-name'];
    const sv = svcName ? services.get(`${o.metadata.namespace}/${svcName}`) : undefined;
    if (!sv || sv.external) continue;
    const base = `${svcName}.${o.metadata.namespace}.svc.${zone}`;
    const slicePorts = ports(o.ports);
    type Ep = { addresses?: string[]; hostname?: string; conditions?: { ready?: boolean } };
    for (const e of ((o.endpoints ?? []) as Ep[] | null) ?? []) {
      if (e.conditions?.ready === false) continue;
      for (const ip of e.addresses ?? []) {
        if (net.isIP(ip) === 0) continue;
        const host = `${e.hostname || dashed(ip)}.${base}`;
        addHost(ip, sv.headless ? [host, base] : [host]);
        if (sv.headless) for (const p of slicePorts) for (const n of srvNames(base, p)) addSrv(n, host, p.port);
      }
    }
  }
  const srvOut: ClusterRecords['srv'] = [];
  for (const [name, targets] of srv) {
    const weight = Math.max(1, Math.floor(100 / candidates.get(name)!));
    for (const t of targets.values()) srvOut.push({ name, target: t.target, port: t.port, weight });
  }
  return { hosts: [...hosts].map(([ip, names]) => ({ ip, names })), srv: srvOut };
}

/** The records as dnsmasq data: hosts-file lines (PTR to the first name) and `srv-host` lines. */
export function standinRecords(objects: K8sJson[], zone: string): { hosts: string[]; srv: string[] } {
  const r = clusterRecords(objects, zone);
  return {
    hosts: r.hosts.map((h) => `${h.ip} ${h.names.join(' ')}`),
    srv: r.srv.map((x) => `srv-host=${x.name},${x.target},${x.port},0,${x.weight}`),
  };
}

/** The records as unbound `local-data` (the zone `static`: NXDOMAIN for other names in it). */
export function unboundLocalData(objects: K8sJson[], zone: string, ttl = 30): Array<string | { zone: string; type: string }> {
  const r = clusterRecords(objects, zone);
  const out: Array<string | { zone: string; type: string }> = [{ zone: `${zone}.`, type: 'static' }];
  for (const h of r.hosts) {
    const type = net.isIP(h.ip) === 6 ? 'AAAA' : 'A';
    for (const n of h.names) out.push(`${n}. ${ttl} IN ${type} ${h.ip}`);
    out.push(`${reverseName(h.ip)}. ${ttl} IN PTR ${h.names[0]}.`);
  }
  for (const x of r.srv) out.push(`${x.name}. ${ttl} IN SRV 0 ${x.weight} ${x.port} ${x.target}.`);
  return out;
}

/** Writes dnsmasq's hosts file and config (the records held by dnsmasq itself) into `dir`. */
export function writeStandinFiles(cluster: SyntheticCluster, zone: string, dir: string, ttl = 30): StandinFiles {
  fs.mkdirSync(dir, { recursive: true });
  const { hosts, srv } = standinRecords(cluster.objects, zone);
  const hostsFile = path.join(dir, 'cluster.hosts');
  const confFile = path.join(dir, 'dnsmasq.conf');
  fs.writeFileSync(hostsFile, `${hosts.join('\n')}\n`);
  fs.writeFileSync(
    confFile,
    [
      '# The cluster zone answered from local data only (NXDOMAIN for anything else in it);',
      '# everything else forwarded (--server on the command line) and cached.',
      `local=/${zone}/`,
      `addn-hosts=${hostsFile}`,
      `local-ttl=${ttl}`,
      ...srv,
      '',
    ].join('\n'),
  );
  return { hosts: hostsFile, conf: confFile, hostsLines: hosts.length, srvLines: srv.length };
}

/** Debian's dnsmasq (sbin is searched too, it lives there); throws when it is not installed. */
function dnsmasqBinary(): string {
  for (const d of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin'].filter(Boolean)) {
    try {
      fs.accessSync(path.join(d, 'dnsmasq'), fs.constants.X_OK);
      return path.join(d, 'dnsmasq');
    } catch {}
  }
  throw new Error('dnsmasq is not installed (bash test/setup/ensure-tools.sh installs it)');
}

/**
 * kube-dns's dnsmasq container flags (cache 1000 entries, no negative cache, the cluster and
 * reverse zones sent to the backend), on loopback. Without a backend (dnsmasq alone), `files`
 * holds the records.
 */
export function standinArgs(o: { port: number; upstream: string; zone: string; pidFile: string; backend?: string; files?: StandinFiles }): string[] {
  const up = parseEndpoint(o.upstream);
  const args = [
    '-k',
    '--no-resolv',
    '--no-hosts',
    `--conf-file=${o.files ? o.files.conf : '/dev/null'}`,
    `--port=${o.port}`,
    '--listen-address=127.0.0.1',
    '--bind-interfaces',
    `--pid-file=${o.pidFile}`,
    '--cache-size=1000',
    '--no-negcache',
  ];
  if (o.backend) {
    const b = parseEndpoint(o.backend);
    for (const z of [o.zone, 'in-addr.arpa', 'ip6.arpa']) args.push(`--server=/${z}/${b.host}#${b.port}`);
  }
  args.push(`--server=${up.host}#${up.port}`);
  if (process.getuid?.() === 0) args.push('--user=root');
  return args;
}

/**
 * kube-dns as it was deployed: dnsmasq (kube-dns's flags) caching in front of a backend that holds
 * the cluster records (kubedns, Go, in memory; here Debian's unbound with the same records as
 * local-data), everything else forwarded upstream. Both processes' CPU counts.
 */
export function kubeDnsTarget(name = 'kube-dns'): TargetSpec {
  let data: ReturnType<typeof unboundLocalData> | undefined;
  return {
    name,
    kind: 'kube-dns',
    description:
      'kube-dns stand-in: Debian dnsmasq with kube-dns’s flags (`--cache-size=1000 --no-negcache`, cluster.local, in-addr.arpa and ip6.arpa sent to the backend) in front of Debian unbound holding the same records as local-data (in place of kubedns); CPU of both',
    isKdns: false,
    clusterDns: true,
    needsApi: false,
    async start(ctx) {
      const bin = dnsmasqBinary();
      data ??= unboundLocalData(ctx.cluster.objects, ctx.zone);
      const backend = await startUnbound({ forwardTo: ctx.upstream, threads: 1, msgCacheSize: '16m', localData: data });
      if ('skip' in backend) throw new Error(backend.skip);
      const port = await freePort();
      fs.mkdirSync(path.join(ctx.dir, name), { recursive: true });
      const argv = [bin, ...standinArgs({ port, upstream: ctx.upstream, zone: ctx.zone, pidFile: path.join(ctx.dir, name, 'dnsmasq.pid'), backend: backend.address })];
      const r = startTarget({ name, argv, shell: false, env: {} });
      try {
        await waitReady(r, port, ctx.startTimeoutMs);
      } catch (err) {
        await backend.stop();
        throw err;
      }
      const t = running(name, r, port, `${argv.join(' ')}  # backend: unbound on ${backend.address}`, null);
      return {
        ...t,
        command: t.command.replaceAll(String(backend.port), '{backend}'),
        extraPids: [backend.pid],
        exited: () => r.hasExited(),
        stop: async () => {
          await stopTarget(r);
          await backend.stop();
        },
        kill: () => {
          t.kill();
          try {
            process.kill(backend.pid, 'SIGKILL');
          } catch {}
        },
      };
    },
  };
}

/** dnsmasq alone holding the records (hosts file + srv-host); its lookups for misses grow with the cluster. */
export function dnsmasqTarget(name = 'dnsmasq'): TargetSpec {
  let files: StandinFiles | undefined;
  return {
    name,
    kind: 'dnsmasq',
    description: 'Debian dnsmasq alone, holding the records itself (hosts file + srv-host, `local=/cluster.local/`), kube-dns’s cache flags; misses (NXDOMAIN, NODATA, PTR) are scans that grow with the cluster',
    isKdns: false,
    clusterDns: true,
    needsApi: false,
    async start(ctx) {
      const bin = dnsmasqBinary();
      files ??= writeStandinFiles(ctx.cluster, ctx.zone, path.join(ctx.dir, 'dnsmasq'));
      const port = await freePort();
      const argv = [bin, ...standinArgs({ port, upstream: ctx.upstream, zone: ctx.zone, files, pidFile: path.join(ctx.dir, 'dnsmasq', 'dnsmasq.pid') })];
      const r = startTarget({ name, argv, shell: false, env: {} });
      await waitReady(r, port, ctx.startTimeoutMs);
      return running(name, r, port, argv.join(' '), null);
    },
  };
}

// ---- peers ----

/** `NAME=HOST:PORT[,pid=PID]`: a server already running. */
export function peerTarget(spec: string): TargetSpec {
  const m = /^([A-Za-z0-9_.-]+)=([^,]+)(?:,pid=(\d+))?$/.exec(spec);
  if (!m) throw new Error(`--peer wants NAME=HOST:PORT[,pid=PID], got ${spec}`);
  const [, name, addr, pid] = m as unknown as [string, string, string, string | undefined];
  const ep = parseEndpoint(addr);
  assertLoopback(ep.host);
  return {
    name,
    kind: 'peer',
    description: `already running at ${addr}${pid ? ` (pid ${pid})` : ' (no pid: no CPU figures)'}`,
    isKdns: false,
    clusterDns: true,
    needsApi: false,
    async start(ctx) {
      const abort = { aborted: false };
      if (!(await waitForDns(ep, Math.min(ctx.startTimeoutMs, 5000), PROBE, abort))) throw new Error(`${addr} does not answer`);
      return {
        name,
        address: addr,
        pid: pid ? Number(pid) : null,
        extraPids: [],
        metricsUrl: null,
        command: `(running at ${addr})`,
        exited: () => false,
        logs: () => '',
        stop: async () => {},
        kill: () => {},
      };
    },
  };
}

/** `NAME=COMMAND` with {port} etc. (see the header); run per (round, target) like the others. */
export function peerCmdTarget(spec: string): TargetSpec {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw new Error(`--peer-cmd wants NAME=COMMAND, got ${spec}`);
  const name = spec.slice(0, eq).trim();
  const cmd = spec.slice(eq + 1).trim();
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`bad peer name ${name}`);
  if (!cmd.includes('{port}')) throw new Error(`--peer-cmd ${name}: the command must contain {port}`);
  let files: StandinFiles | undefined;
  return {
    name,
    kind: 'peer-cmd',
    description: `\`${cmd}\``,
    isKdns: false,
    clusterDns: true,
    needsApi: cmd.includes('{api}'),
    async start(ctx) {
      const port = await freePort();
      if (cmd.includes('{hosts}') || cmd.includes('{dnsmasq_conf}')) files ??= writeStandinFiles(ctx.cluster, ctx.zone, path.join(ctx.dir, 'dnsmasq'));
      const line = cmd
        .replaceAll('{port}', String(port))
        .replaceAll('{upstream}', ctx.upstream)
        .replaceAll('{upstream_host}', parseEndpoint(ctx.upstream).host)
        .replaceAll('{upstream_port}', String(parseEndpoint(ctx.upstream).port))
        .replaceAll('{manifests}', ctx.manifestsDir)
        .replaceAll('{hosts}', files?.hosts ?? '')
        .replaceAll('{dnsmasq_conf}', files?.conf ?? '')
        .replaceAll('{api}', ctx.apiUrl ?? '')
        .replaceAll('{dir}', ctx.dir);
      const r = startTarget({ name, argv: [line], shell: true, env: { KDNS_BENCH_PORT: String(port) } });
      await waitReady(r, port, ctx.startTimeoutMs, () => true);
      return running(name, r, port, line, null);
    },
  };
}
