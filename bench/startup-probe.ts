// Queries while kdns's table is still being built (a big cluster's first sync is served partial,
// see src/plugins/kubernetes/README.md): from /ready until the `serving` line, one UDP query a
// millisecond for a Service of the synthetic cluster picked at random (one in ten a name that
// does not exist), each answer checked against the cluster. Counts what a client would see
// during a rolling update that routes to kdns as soon as it is ready: latency and wrong answers.
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';
import { percentile } from './stats.ts';
import { rng, type ServiceFacts } from './synthetic-cluster.ts';

export interface StartupProbe {
  sent: number;
  answered: number;
  /** Answers that differ from the cluster (addresses, or NXDOMAIN for a name that exists). */
  wrong: number;
  servfail: number;
  /** No answer within the timeout. */
  lost: number;
  /** Latency of the answers, ms. */
  p50: number;
  p99: number;
  max: number;
}

const TIMEOUT_MS = 5000;

interface Sent {
  at: number;
  /** Sorted IPv4 addresses expected; null: NXDOMAIN expected. */
  want: string[] | null;
}

/** Probes `port` until `building()` turns false (checked every tick), then waits for the stragglers. */
export async function probeWhileBuilding(port: number, services: ServiceFacts[], building: () => boolean, seed = 1, zone = 'cluster.local'): Promise<StartupProbe> {
  const sock = dgram.createSocket('udp4');
  const inflight = new Map<number, Sent>();
  const latencies: number[] = [];
  const r: StartupProbe = { sent: 0, answered: 0, wrong: 0, servfail: 0, lost: 0, p50: NaN, p99: NaN, max: NaN };
  const next = rng(seed);
  let id = 0;
  sock.on('message', (msg) => {
    let p: dnsPacket.Packet;
    try {
      p = dnsPacket.decode(msg);
    } catch {
      return;
    }
    const s = inflight.get(p.id!);
    if (!s) return;
    inflight.delete(p.id!);
    r.answered++;
    latencies.push(performance.now() - s.at);
    const rcode = (p as { rcode?: string }).rcode;
    if (rcode === 'SERVFAIL') r.servfail++;
    else if (s.want === null ? rcode !== 'NXDOMAIN' : got(p) !== s.want.join()) r.wrong++;
  });
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  const send = (): void => {
    const f = services[Math.floor(next() * services.length)]!;
    const missing = next() < 0.1;
    const name = `${missing ? `nosuch-${r.sent}` : f.name}.${f.namespace}.svc.${zone}`;
    const want = missing ? null : (f.headless ? f.readyAddresses : f.clusterIPs).filter((ip) => !ip.includes(':')).sort();
    id = (id + 1) & 0xffff;
    inflight.set(id, { at: performance.now(), want: want !== null && want.length === 0 ? null : want });
    r.sent++;
    sock.send(dnsPacket.encode({ id, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: 'A', class: 'IN' }] }), port, '127.0.0.1');
  };
  while (building()) {
    send();
    await new Promise((res) => setTimeout(res, 1));
  }
  const end = performance.now() + TIMEOUT_MS;
  while (inflight.size > 0 && performance.now() < end) await new Promise((res) => setTimeout(res, 10));
  r.lost = inflight.size;
  sock.close();
  latencies.sort((a, b) => a - b);
  const at = (p: number): number => Math.round(percentile(latencies, p) * 10) / 10;
  r.p50 = at(50);
  r.p99 = at(99);
  r.max = at(100);
  return r;
}

function got(p: dnsPacket.Packet): string {
  return (p.answers ?? []).flatMap((a) => (a.type === 'A' ? [String(a.data)] : [])).sort().join();
}
