// Runs inside `unshare --net --mount` (see test/helpers/netns.ts), set up as a CoreDNS pod sees
// its world: the kubeadm Corefile unchanged on port 53, /etc/resolv.conf naming the node's
// resolver (Debian's unbound, in a second namespace over a veth pair), an in-cluster service
// account for an https API server (the fake one behind TLS). Prints one JSON object of what it
// observed; the test asserts on it.
//   node kubeadm-corefile.scenario.ts default   - cluster and outside names, probes, shutdown
//   node kubeadm-corefile.scenario.ts loop      - resolv.conf points back at kdns itself
import { join } from 'node:path';
import { namespace, service } from '../fake-apiserver/index.ts';
import { TcpConnection, tcpQuery, udpQuery, type Reply } from '../helpers/dns-client.ts';
import { inClusterApi } from '../helpers/in-cluster-api.ts';
import { httpGet, overlayFile, peerNamespace, reportScenario } from '../helpers/netns.ts';
import { ROOT, spawnCli } from '../helpers/server-process.ts';
import { startUnbound } from '../helpers/unbound.ts';

const mode = process.argv[2] ?? 'default';
const COREFILE = join(ROOT, 'test', 'fixtures', 'corefile-kubeadm');

const brief = (r: Reply) => ({
  rcode: r.rcode, aa: r.flag_aa, ra: r.flag_ra,
  answers: r.answers.map((a) => ({ name: a.name, type: a.type, ttl: a.ttl, data: a.data })),
  authority: r.authorities.map((a) => a.type),
});

const http = (port: number, path: string): Promise<{ status: number; body: string }> => httpGet(`http://127.0.0.1:${port}${path}`);

async function main(): Promise<Record<string, unknown>> {
  const peer = await peerNamespace();
  const cleanup: Array<() => Promise<unknown> | void> = [() => peer.stop()];
  try {
    const unbound = await startUnbound({
      host: peer.peer, port: 53, wrap: peer.wrap,
      localData: [
        { zone: 'example.org.' },
        'example.org. 300 IN A 93.184.215.14',
        'www.example.org. 300 IN CNAME example.org.',
        'cached.example.org. 300 IN A 93.184.215.15',
        'example.org. 300 IN SOA ns.example.org. admin.example.org. 1 3600 600 86400 60',
        { zone: '2.0.53.10.in-addr.arpa.' },
        '2.0.53.10.in-addr.arpa. 300 IN PTR node-resolver.example.org.',
      ],
    });
    if ('skip' in unbound) return { skip: unbound.skip };
    cleanup.push(() => unbound.stop());
    // A loop: the node's resolver is kdns itself (what a 127.0.0.53 stub looks like from a pod).
    overlayFile('/etc/resolv.conf', `nameserver ${mode === 'loop' ? '127.0.0.1' : peer.peer}\n`);

    const env = await inClusterApi([
      namespace('default'), namespace('kube-system'),
      service({ name: 'kubernetes', ns: 'default', clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443 }] }),
      service({ name: 'kube-dns', ns: 'kube-system', clusterIP: '10.96.0.10', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53 }] }),
    ], cleanup);

    const kdns = spawnCli(['-conf', COREFILE, '-workers', '2'], { env });
    cleanup.push(() => kdns.stop('SIGKILL'));
    const started = await kdns.waitFor(/^kdns-/m, 20_000).then(() => true, () => false);
    if (mode === 'loop') {
      const exit = kdns.proc.exitCode !== null ? Promise.resolve(kdns.proc.exitCode) : new Promise<number | null>((r) => kdns.proc.on('exit', r));
      const code = await Promise.race([exit, new Promise<string>((r) => setTimeout(() => r('still running'), 15_000))]);
      return { started, code, stdout: kdns.stdout(), stderr: kdns.stderr() };
    }
    if (!started) return { started, stdout: kdns.stdout(), stderr: kdns.stderr() };

    const q = async (name: string, type = 'A') => brief(await udpQuery(53, name, { type, timeoutMs: 3000 }));
    const out: Record<string, unknown> = { started };
    out.clusterA = await q('kubernetes.default.svc.cluster.local');
    out.clusterSrv = await q('_dns._udp.kube-dns.kube-system.svc.cluster.local', 'SRV');
    out.clusterPtr = await q('1.0.96.10.in-addr.arpa', 'PTR');
    out.clusterMiss = await q('nothing.default.svc.cluster.local');
    // ndots:5 search-path expansion of an outside name: answered by kubernetes, never forwarded.
    out.searchMiss = await q('example.org.default.svc.cluster.local');
    out.outside = await q('example.org');
    out.outsideCname = await q('www.example.org');
    out.outsideMissing = await q('nope.example.org');
    out.outsidePtr = await q('2.0.53.10.in-addr.arpa', 'PTR');
    // Caches are per worker: ask twice on one TCP connection, which stays with one worker.
    const conn = new TcpConnection(53);
    out.outsideFirst = brief(await conn.query('cached.example.org'));
    await new Promise((r) => setTimeout(r, 1100));
    out.outsideAgain = brief(await conn.query('cached.example.org'));
    conn.close();
    out.outsideTcp = brief(await tcpQuery(53, 'www.example.org'));
    out.health = await http(8080, '/health');
    out.ready = await http(8181, '/ready');
    const metrics = await http(9153, '/metrics');
    out.metrics = { status: metrics.status, names: [...new Set(metrics.body.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(/[{ ]/)[0]))] };
    // SIGTERM: lameduck 5s keeps answering, then exit 0.
    const t0 = Date.now();
    const exited = kdns.stop('SIGTERM');
    await new Promise((r) => setTimeout(r, 1000));
    out.duringLameduck = await q('kubernetes.default.svc.cluster.local');
    out.readyDuringLameduck = await http(8181, '/ready');
    out.exitCode = await exited;
    out.stoppedAfterMs = Date.now() - t0;
    out.stdout = kdns.stdout();
    out.stderr = kdns.stderr();
    return out;
  } finally {
    for (const c of cleanup.reverse()) await c();
  }
}

reportScenario(main);
