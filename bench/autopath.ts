// autopath at cluster scale, beside CoreDNS: what server-side search path completion costs in
// memory and what it saves in queries.
//
//   node bench/autopath.ts [--services 10000] [--endpoints 100000] [--seed 1] [--coredns PATH]
//       [--names 20] [--settle-ms 3000] [--timeout-ms 120000] [--rounds 1] [--out FILE] [--json]
//
// The synthetic cluster (bench/synthetic-cluster.ts) goes into the fake API server with a Pod
// object for every endpoint address (a real cluster has them, and CoreDNS's `pods verified`
// watches them), plus namespace `bench` whose Service `client` has one endpoint, 127.0.0.5:
// the client pod of this run. Then, one at a time against the same API server:
//   kdns                       kubeadm's kubernetes block (pods insecure), no autopath
//   kdns autopath              + `autopath @kubernetes` (clients known from the table's PTRs)
//   coredns                    the same block, no autopath                       (with --coredns)
//   coredns autopath verified  + `autopath @kubernetes`, `pods verified` (its requirement)
// (--rounds: each target again, in reverse order every other round.) For each: VmRSS after the sync and a settle pause, VmHWM, time to /ready; then a stub resolver
// with kubelet's ClusterFirst resolv.conf (`search bench.svc.cluster.local svc.cluster.local
// cluster.local`, `ndots:5`) resolves --names names of each kind from 127.0.0.5, A and AAAA per
// search element as glibc's getaddrinfo does, walking on past NXDOMAIN and NODATA, and counts
// the queries it sent until an address came back (and checks the address).
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import dnsPacket from 'dns-packet';
import { endpointSlice, namespace, pod, service, startFakeApiServer } from '../test/fake-apiserver/index.ts';
import { PRIMARY_ENV, PRIMARY_NODE_FLAGS } from '../bin/node-flags.js';
import { parseCli } from './cli-args.ts';
import { freePort } from './dnsutil.ts';
import { pollReady, processMemoryKiB } from './k8s-scale.ts';
import { fileTimestamp, machineInfo, sourceState } from './run-info.ts';
import { syntheticCluster, type K8sJson } from './synthetic-cluster.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CLIENT = '127.0.0.5';
const SEARCH = ['bench.svc.cluster.local', 'svc.cluster.local', 'cluster.local'];
const NDOTS = 5;

const USAGE = `usage: node bench/autopath.ts [--services 10000] [--endpoints 100000] [--seed 1] [--coredns PATH]
    [--names 20] [--settle-ms 3000] [--timeout-ms 120000] [--rounds 1] [--out FILE] [--json]
  --rounds N  every target N times, the order reversed each round (RSS after a sync differs run to run)`;

interface Target {
  name: string;
  coredns: boolean;
  autopath: boolean;
  pods: 'insecure' | 'verified';
}

interface NameCase {
  kind: 'outside' | 'other-namespace' | 'same-namespace';
  /** What the application asks for. */
  name: string;
  expect: string;
}

interface Measured {
  target: string;
  readyMs: number;
  rssMiB: number;
  hwmMiB: number;
  queries: Record<NameCase['kind'], { names: number; queries: number; wrong: number }>;
  autopathSuccess: number | null;
}

function corefile(t: Target, port: number, readyPort: number, metricsPort: number, apiUrl: string, upstream: string): string {
  return `.:${port} {
    bind 127.0.0.1
    errors
    ready 127.0.0.1:${readyPort}
    prometheus 127.0.0.1:${metricsPort}
${t.autopath ? '    autopath @kubernetes\n' : ''}    kubernetes cluster.local in-addr.arpa ip6.arpa {
        endpoint ${apiUrl}
        pods ${t.pods}
        fallthrough in-addr.arpa ip6.arpa
    }
    forward . ${upstream}
}
`;
}

/** Answers A for the outside names of the run, NXDOMAIN for every other name; counts queries. */
async function startUpstream(names: Map<string, string>): Promise<{ address: string; count: () => number; close(): void }> {
  const sock = dgram.createSocket('udp4');
  let n = 0;
  sock.on('message', (msg, rinfo) => {
    n++;
    let q: dnsPacket.Packet;
    try {
      q = dnsPacket.decode(msg);
    } catch {
      return;
    }
    const question = q.questions?.[0];
    if (!question) return;
    const ip = names.get(question.name.toLowerCase());
    const answers = ip !== undefined && question.type === 'A' ? [{ name: question.name, type: 'A' as const, ttl: 60, data: ip }] : [];
    sock.send(dnsPacket.encode({
      id: q.id, type: 'response', flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (ip === undefined ? 3 : 0),
      questions: [question], answers,
    }), rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return { address: `127.0.0.1:${sock.address().port}`, count: () => n, close: () => sock.close() };
}

/** One query from CLIENT; the decoded reply. */
function query(sock: dgram.Socket, port: number, name: string, type: 'A' | 'AAAA'): Promise<dnsPacket.Packet> {
  const id = Math.floor(Math.random() * 65535);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sock.off('message', on);
      reject(new Error(`no answer for ${name} ${type}`));
    }, 5000);
    const on = (m: Buffer): void => {
      const r = dnsPacket.decode(m);
      if (r.id !== id) return;
      clearTimeout(timer);
      sock.off('message', on);
      resolve(r);
    };
    sock.on('message', on);
    sock.send(dnsPacket.encode({ id, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type }] }), port, '127.0.0.1');
  });
}

/**
 * getaddrinfo(AF_UNSPEC) with ndots:5 and the search list: for each candidate, A and AAAA; the
 * first candidate with an address ends it. Returns the address found and the queries sent.
 */
async function resolve(sock: dgram.Socket, port: number, name: string): Promise<{ address: string | null; queries: number }> {
  const dots = name.split('.').length - 1;
  const candidates = dots >= NDOTS ? [name] : [...SEARCH.map((s) => `${name}.${s}`), name];
  let queries = 0;
  for (const c of candidates) {
    const [a, aaaa] = await Promise.all([query(sock, port, c, 'A'), query(sock, port, c, 'AAAA')]);
    queries += 2;
    const address = [...(a.answers ?? []), ...(aaaa.answers ?? [])].find((x) => x.type === 'A' || x.type === 'AAAA');
    if (address) return { address: (address as { data: string }).data, queries };
  }
  return { address: null, queries };
}

async function autopathSuccess(metricsPort: number): Promise<number | null> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const lines = text.split('\n').filter((l) => l.startsWith('coredns_autopath_success_total'));
    return lines.length === 0 ? null : lines.reduce((a, l) => a + Number(l.split(' ').at(-1)), 0);
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const v = parseCli(USAGE, {
    services: { type: 'string', default: '10000' },
    endpoints: { type: 'string' },
    seed: { type: 'string', default: '1' },
    coredns: { type: 'string' },
    names: { type: 'string', default: '20' },
    'settle-ms': { type: 'string', default: '3000' },
    'timeout-ms': { type: 'string', default: '120000' },
    rounds: { type: 'string', default: '1' },
    out: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  if (!v) return;
  const services = Number(v.services);
  const endpoints = v.endpoints !== undefined ? Number(v.endpoints) : services * 10;
  const perKind = Number(v.names);
  const settleMs = Number(v['settle-ms']);
  const timeoutMs = Number(v['timeout-ms']);
  const say = (s: string): void => void (v.json ? process.stderr : process.stdout).write(`${s}\n`);

  const cluster = syntheticCluster({ services, endpoints, seed: Number(v.seed) });
  // A Pod per ready endpoint address, in the Service's namespace, as the cluster would hold them.
  const pods: K8sJson[] = [];
  for (const s of cluster.services) for (const ip of s.readyAddresses) pods.push(pod({ name: `p-${pods.length}`, ns: s.namespace, ip }) as unknown as K8sJson);
  const bench = [
    namespace('bench'),
    service({ name: 'client', ns: 'bench', clusterIP: '10.111.255.1', ports: [{ name: 'http', port: 80 }] }),
    endpointSlice({ name: 'client-1', ns: 'bench', service: 'client', ports: [{ name: 'http', port: 80 }], endpoints: [{ addresses: [CLIENT] }] }),
    pod({ name: 'client-0', ns: 'bench', ip: CLIENT }),
  ] as unknown as K8sJson[];

  // The names: outside ones, Services of other namespaces by `<svc>.<ns>`, and of its own.
  const outside = new Map<string, string>();
  const cases: NameCase[] = [];
  for (let i = 0; i < perKind; i++) {
    const name = `app-${i}.example.net`;
    outside.set(name, `192.0.2.${i % 250}`);
    cases.push({ kind: 'outside', name, expect: `192.0.2.${i % 250}` });
  }
  const clusterIpServices = cluster.services.filter((s) => !s.headless && s.clusterIPs.length > 0 && s.namespace !== 'default');
  for (let i = 0; i < perKind && i < clusterIpServices.length; i++) {
    const s = clusterIpServices[Math.floor((i * clusterIpServices.length) / perKind)]!;
    cases.push({ kind: 'other-namespace', name: `${s.name}.${s.namespace}`, expect: s.clusterIPs[0]! });
  }
  for (let i = 0; i < perKind; i++) cases.push({ kind: 'same-namespace', name: 'client', expect: '10.111.255.1' });

  say(`cluster: ${cluster.counts.services} Services, ${cluster.counts.endpoints} endpoints, ${pods.length} Pods; loading the fake API server`);
  const api = await startFakeApiServer({});
  await api.client.bulk([...cluster.objects, ...bench, ...pods] as never[], { batch: 2000 });
  const upstream = await startUpstream(outside);

  const targets: Target[] = [
    { name: 'kdns', coredns: false, autopath: false, pods: 'insecure' },
    { name: 'kdns autopath', coredns: false, autopath: true, pods: 'insecure' },
  ];
  if (v.coredns) {
    targets.push({ name: 'coredns', coredns: true, autopath: false, pods: 'insecure' });
    targets.push({ name: 'coredns autopath verified', coredns: true, autopath: true, pods: 'verified' });
  }
  const results: Measured[] = [];
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, CLIENT, r));
  try {
    const order: Target[] = [];
    for (let round = 0; round < Number(v.rounds); round++) order.push(...(round % 2 === 0 ? targets : [...targets].reverse()));
    for (const t of order) {
      const port = await freePort();
      const readyPort = await freePort();
      const metricsPort = await freePort();
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdns-autopath-'));
      const conf = path.join(dir, 'Corefile');
      fs.writeFileSync(conf, corefile(t, port, readyPort, metricsPort, api.url, upstream.address));
      const t0 = performance.now();
      const proc = t.coredns
        ? spawn(path.resolve(v.coredns!), ['-conf', conf], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
        : spawn(process.execPath, [...PRIMARY_NODE_FLAGS, path.join(ROOT, 'bin', 'kdns.js'), '-conf', conf, '-workers', '2'], { cwd: ROOT, env: { ...process.env, ...PRIMARY_ENV }, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      proc.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
      try {
        const exited = new Promise<number>((r) => proc.once('exit', () => r(Number.NaN)));
        const readyAt = await Promise.race([pollReady(readyPort, timeoutMs), exited]);
        if (Number.isNaN(readyAt)) throw new Error(`${t.name}: not ready after ${timeoutMs} ms, or exited: ${err}`);
        const readyMs = readyAt - t0;
        await new Promise((r) => setTimeout(r, settleMs));
        const mem = processMemoryKiB(proc.pid!);
        const queries = { outside: { names: 0, queries: 0, wrong: 0 }, 'other-namespace': { names: 0, queries: 0, wrong: 0 }, 'same-namespace': { names: 0, queries: 0, wrong: 0 } };
        for (const c of cases) {
          const r = await resolve(sock, port, c.name);
          const k = queries[c.kind];
          k.names++;
          k.queries += r.queries;
          if (r.address !== c.expect) k.wrong++;
        }
        const m: Measured = { target: t.name, readyMs: Math.round(readyMs), rssMiB: mem.rss / 1024, hwmMiB: mem.hwm / 1024, queries, autopathSuccess: await autopathSuccess(metricsPort) };
        results.push(m);
        say(`${t.name}: ready ${m.readyMs} ms, RSS ${m.rssMiB.toFixed(1)} MiB, peak ${m.hwmMiB.toFixed(1)} MiB, queries per name: ${Object.entries(queries).map(([k, x]) => `${k} ${(x.queries / x.names).toFixed(2)}${x.wrong ? ` (${x.wrong} wrong)` : ''}`).join(', ')}`);
      } finally {
        proc.kill('SIGKILL');
        fs.rmSync(dir, { recursive: true, force: true });
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  } finally {
    sock.close();
    upstream.close();
    await api.stop();
  }
  const report = { kind: 'kdns-autopath', services, endpoints, pods: pods.length, names: perKind, machine: machineInfo(), source: sourceState(), results };
  const out = v.out ?? path.join(ROOT, 'bench', 'out', `autopath-${fileTimestamp(new Date())}.json`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(report, null, 2));
  if (v.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else {
    say('\n| target | /ready ms | RSS MiB | peak MiB | outside | other namespace | same namespace |');
    say('|---|---|---|---|---|---|---|');
    for (const m of results) {
      const per = (k: NameCase['kind']): string => (m.queries[k].queries / m.queries[k].names).toFixed(1) + (m.queries[k].wrong ? ` (${m.queries[k].wrong} wrong)` : '');
      say(`| ${m.target} | ${m.readyMs} | ${m.rssMiB.toFixed(1)} | ${m.hwmMiB.toFixed(1)} | ${per('outside')} | ${per('other-namespace')} | ${per('same-namespace')} |`);
    }
    say(`\nqueries per name: A + AAAA per search element until an address; written to ${out}`);
  }
}

await main();
