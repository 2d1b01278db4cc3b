// The configuration `kdns` runs when it is given no Corefile and finds none in the current
// directory: a small example cluster zone on 127.0.0.1, so a newcomer can query at once.
export const DEMO_PORT = 1053;

export function demoCorefile(port: number): string {
  return `# kdns built-in demo (no Corefile given, none in the current directory)
.:${port} {
    bind 127.0.0.1
    errors
    log
    records cluster.local {
        @ 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5
        dns-version 5 IN TXT "1.1.0"
        kubernetes.default.svc 5 IN A 10.96.0.1
        _https._tcp.kubernetes.default.svc 5 IN SRV 0 100 443 kubernetes.default.svc.cluster.local.
        kube-dns.kube-system.svc 5 IN A 10.96.0.10
        _dns._udp.kube-dns.kube-system.svc 5 IN SRV 0 100 53 kube-dns.kube-system.svc.cluster.local.
        _dns-tcp._tcp.kube-dns.kube-system.svc 5 IN SRV 0 100 53 kube-dns.kube-system.svc.cluster.local.
        web.demo.svc 5 IN A 10.96.1.20
        web.demo.svc 5 IN AAAA fd00:10:96::1:20
        _http._tcp.web.demo.svc 5 IN SRV 0 100 80 web.demo.svc.cluster.local.
        db.demo.svc 5 IN A 10.244.1.5
        db.demo.svc 5 IN A 10.244.2.7
        db-0.db.demo.svc 5 IN A 10.244.1.5
        db-1.db.demo.svc 5 IN A 10.244.2.7
        search.demo.svc 5 IN CNAME search.example.org.
    }
    records 96.10.in-addr.arpa {
        1.0 5 IN PTR kubernetes.default.svc.cluster.local.
        10.0 5 IN PTR kube-dns.kube-system.svc.cluster.local.
        20.1 5 IN PTR web.demo.svc.cluster.local.
    }
    whoami
}
`;
}

export function demoBanner(port: number): string {
  return [
    `kdns: no -conf given and no ./Corefile: running the built-in demo on 127.0.0.1:${port}.`,
    'Try:',
    `  dig @127.0.0.1 -p ${port} kubernetes.default.svc.cluster.local`,
    `  dig @127.0.0.1 -p ${port} _http._tcp.web.demo.svc.cluster.local SRV`,
    `  dig @127.0.0.1 -p ${port} -x 10.96.0.10`,
    `  dig @127.0.0.1 -p ${port} whoami.example.org   (anything else: the whoami plugin)`,
    '',
  ].join('\n');
}
