// The configuration `kdns` runs when it is given no Corefile and finds none in the current
// directory: the example cluster in demo/cluster (Kubernetes manifests, re-read when edited)
// served on 127.0.0.1, every other name forwarded to this machine's resolvers and cached, as in
// a cluster; so a newcomer can query at once without a cluster.
import { fileURLToPath } from 'node:url';

export const DEMO_PORT = 1053;
export const DEMO_CLUSTER = fileURLToPath(new URL('../../demo/cluster', import.meta.url));

export function demoCorefile(port: number): string {
  return `# kdns built-in demo (no Corefile given, none in the current directory)
.:${port} {
    bind 127.0.0.1
    errors
    log
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        manifests "${DEMO_CLUSTER}"
        pods verified
        fallthrough in-addr.arpa ip6.arpa
    }
    forward . /etc/resolv.conf
    cache 30 {
        disable success cluster.local
        disable denial cluster.local
    }
    loadbalance
}
`;
}

export function demoBanner(port: number): string {
  return [
    `kdns: no -conf given and no ./Corefile: running the built-in demo on 127.0.0.1:${port},`,
    `serving the example cluster in ${DEMO_CLUSTER} (edit it; changes are picked up).`,
    'Try:',
    `  dig @127.0.0.1 -p ${port} kubernetes.default.svc.cluster.local`,
    `  dig @127.0.0.1 -p ${port} _dns._udp.kube-dns.kube-system.svc.cluster.local SRV`,
    `  dig @127.0.0.1 -p ${port} db.demo.svc.cluster.local          (headless: one A per ready pod)`,
    `  dig @127.0.0.1 -p ${port} -x 10.96.0.10`,
    `  dig @127.0.0.1 -p ${port} example.org   (outside names: forwarded to /etc/resolv.conf's nameservers, cached)`,
    '',
  ].join('\n');
}
