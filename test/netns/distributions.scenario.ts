// Runs inside `unshare --net --mount` (test/helpers/netns.ts): one distribution's Corefile,
// unchanged, as its CoreDNS pod runs it: at /etc/coredns/Corefile (with the files it names
// beside it), port 53, /etc/resolv.conf naming the node's resolver (Debian's unbound in a second
// namespace), and for the cluster DNS ones an in-cluster service account for an https API server
// (the fake one behind TLS). /etc is an overlay here, so nothing is written to the machine.
// Prints one JSON object of what it observed; test/distributions.test.ts asserts on it.
//   node distributions.scenario.ts k3s|aks|eks|nodelocaldns
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { namespace, service } from '../fake-apiserver/index.ts';
import { type Reply, decodeReply } from '../helpers/decode.ts';
import { encodeQuery, udpRaw } from '../helpers/dns-client.ts';
import { inClusterApi } from '../helpers/in-cluster-api.ts';
import { httpGet, overlayEtc, peerNamespace, reportScenario, sh } from '../helpers/netns.ts';
import { ROOT, spawnCli } from '../helpers/server-process.ts';
import { startUnbound } from '../helpers/unbound.ts';

const distro = process.argv[2] ?? 'k3s';
const brief = (r: Reply | null) => r && ({
  rcode: r.rcode, answers: r.answers.map((a) => ({ name: a.name, type: a.type, data: a.data })),
});

async function ask(host: string, name: string, type = 'A'): Promise<ReturnType<typeof brief>> {
  const raw = await udpRaw(53, encodeQuery(name, { type }), 3000, host);
  return brief(raw === null ? null : decodeReply(raw));
}

async function main(): Promise<Record<string, unknown>> {
  const peer = await peerNamespace();
  const cleanup: Array<() => Promise<unknown> | void> = [() => peer.stop()];
  try {
    const nodeLocal = distro === 'nodelocaldns';
    const unbound = await startUnbound({
      host: peer.peer, port: 53, wrap: peer.wrap,
      localData: [
        { zone: 'example.org.' },
        'example.org. 300 IN A 93.184.215.14',
        'example.org. 300 IN SOA ns.example.org. admin.example.org. 1 3600 600 86400 60',
        // For NodeLocal DNSCache the cluster's DNS service (__PILLAR__CLUSTER__DNS__) is this host.
        { zone: 'cluster.local.' },
        'kubernetes.default.svc.cluster.local. 30 IN A 10.96.0.1',
        'cluster.local. 30 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 30',
        { zone: '1.0.96.10.in-addr.arpa.' },
        '1.0.96.10.in-addr.arpa. 30 IN PTR kubernetes.default.svc.cluster.local.',
      ],
    });
    if ('skip' in unbound) return { skip: unbound.skip };
    cleanup.push(() => unbound.stop());
    overlayEtc();
    writeFileSync('/etc/resolv.conf', `nameserver ${peer.peer}\n`);
    mkdirSync('/etc/coredns/custom', { recursive: true });
    writeFileSync('/etc/coredns/Corefile', readFileSync(join(ROOT, 'test', 'fixtures', 'distributions', `${distro}.Corefile`)));
    const env: Record<string, string> = {};
    let host = '127.0.0.1';
    if (nodeLocal) {
      // The link-local and the service address node-cache puts on its dummy interface (the
      // kernel here has no dummy driver: loopback holds them as well).
      sh('ip', 'addr', 'add', '169.254.20.10/32', 'dev', 'lo');
      sh('ip', 'addr', 'add', '10.96.0.10/32', 'dev', 'lo');
      host = '169.254.20.10';
    } else {
      Object.assign(env, await inClusterApi([
        namespace('default'), namespace('kube-system'),
        service({ name: 'kubernetes', ns: 'default', clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443 }] }),
      ], cleanup));
      // The files a k3s or AKS cluster's owner adds (the coredns-custom ConfigMap, NodeHosts).
      writeFileSync('/etc/coredns/NodeHosts', '10.53.0.9 node-1\n');
      writeFileSync('/etc/coredns/custom/alias.override', 'rewrite name exact api.example.internal kubernetes.default.svc.cluster.local\n');
      writeFileSync('/etc/coredns/custom/corp.server', 'corp.internal:53 {\n    hosts {\n        10.20.0.1 git.corp.internal\n    }\n}\n');
    }

    const kdns = spawnCli(['-conf', '/etc/coredns/Corefile', '-workers', '1'], { env, cwd: '/etc/coredns' });
    cleanup.push(() => kdns.stop('SIGKILL'));
    const started = await kdns.waitFor(/^kdns-/m, 20_000).then(() => true, () => false);
    if (!started) return { started, stdout: kdns.stdout(), stderr: kdns.stderr() };
    // The kubernetes plugin answers once synced; wait for it as a readiness probe would.
    for (let i = 0; i < 50 && !nodeLocal; i++) {
      if ((await httpGet('http://127.0.0.1:8181/ready')).status === 200) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const out: Record<string, unknown> = { started };
    out.cluster = await ask(host, 'kubernetes.default.svc.cluster.local');
    out.clusterPtr = await ask(host, '1.0.96.10.in-addr.arpa', 'PTR');
    out.outside = await ask(host, 'example.org');
    if (nodeLocal) {
      out.serviceAddress = await ask('10.96.0.10', 'example.org');
      out.health = await httpGet('http://169.254.20.10:8080/health');
      const metrics = await httpGet('http://127.0.0.1:9253/metrics');
      out.metrics = metrics.status;
      // force_tcp: the connections forward opened to the cluster's DNS, by protocol.
      out.proxyConnections = metrics.body.split('\n').filter((l) => l.startsWith('coredns_proxy_conn_cache_misses_total'));
    } else {
      out.nodeHost = await ask(host, 'node-1');
      out.override = await ask(host, 'api.example.internal');
      out.customServer = await ask(host, 'git.corp.internal');
      out.health = await httpGet('http://127.0.0.1:8080/health');
      out.metrics = (await httpGet('http://127.0.0.1:9153/metrics')).status;
    }
    out.stdout = kdns.stdout();
    out.stderr = kdns.stderr();
    return out;
  } finally {
    for (const c of cleanup.reverse()) await c();
  }
}

reportScenario(main);
