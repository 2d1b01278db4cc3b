// local, chaos and minimal through the real CLI: the answers CoreDNS 1.12.2 gives for the same
// Corefile (checked side by side with the binary in ../shared/peers), queried over UDP.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { hostname } from 'node:os';
import dnsPacket from 'dns-packet';
import { udpQuery } from './helpers/dns-client.ts';
import { freePort, type RunningServer, startServer } from './helpers/server-process.ts';
import { scrapeMetrics } from './helpers/scrape.ts';
import { VERSION } from '../src/version.ts';

const text = (r: Awaited<ReturnType<typeof udpQuery>>): string[] =>
  r.answers.map((a) => (a.data as Buffer[]).map((b) => b.toString()).join(''));
const soaOwner = (r: Awaited<ReturnType<typeof udpQuery>>): string => {
  assert.equal(r.authorities.length, 1, JSON.stringify(r.authorities));
  assert.equal(r.authorities[0]!.type, 'SOA');
  assert.equal(r.authorities[0]!.ttl, 604800);
  assert.deepEqual(r.authorities[0]!.data, { mname: 'localhost', rname: 'root.localhost', serial: 1, refresh: 0, retry: 0, expire: 0, minimum: 604800 });
  return r.authorities[0]!.name;
};

describe('chaos and local', () => {
  let s: RunningServer;
  let metricsPort: number;
  before(async () => {
    metricsPort = await freePort();
    s = await startServer(`
.:{PORT} {
    bind 127.0.0.1
    prometheus 127.0.0.1:${metricsPort}
    chaos kdns-test "Alice A" bob@example.org
    local
    whoami
}
bind:{PORT} {
    bind 127.0.0.1
    chaos
}
`, { workers: 1 });
  });
  after(async () => {
    await s.stop();
  });

  test('chaos: CH TXT version, authors in Corefile order, hostname; everything else goes on', async () => {
    for (const name of ['version.server', 'VERSION.Server']) {
      const r = await udpQuery(s.port, name, { type: 'TXT', cls: 'CH' });
      assert.equal(r.rcode, 'NOERROR');
      assert.deepEqual(text(r), ['kdns-test']);
      assert.equal(r.answers[0]!.class, 'CH');
      assert.equal(r.answers[0]!.ttl, 0);
      assert.equal(r.answers[0]!.name, name, 'the name as asked');
    }
    for (const name of ['id.server']) assert.deepEqual(text(await udpQuery(s.port, name, { type: 'TXT', cls: 'CH' })), [hostname()]);
    // Not CH TXT, or another name: whoami (the next plugin) answers, with its records in additional.
    for (const [name, type, cls] of [['version.server', 'TXT', 'IN'], ['version.server', 'A', 'CH'], ['foo.server', 'TXT', 'CH']] as const) {
      const r = await udpQuery(s.port, name, { type, cls });
      assert.equal(r.answers.length, 0, `${cls} ${type} ${name}`);
      assert.equal(r.additionals.filter((a) => a.type === 'SRV').length, 1, `${cls} ${type} ${name} reached whoami`);
    }
  });

  test('chaos without arguments (the bind. block): kdns-<version>, the default authors; other names refused', async () => {
    assert.deepEqual(text(await udpQuery(s.port, 'version.bind', { type: 'TXT', cls: 'CH' })), [`kdns-${VERSION}`]);
    assert.deepEqual(text(await udpQuery(s.port, 'authors.bind', { type: 'TXT', cls: 'CH' })), ['kdns developers']);
    assert.deepEqual(text(await udpQuery(s.port, 'hostname.bind', { type: 'TXT', cls: 'CH' })), [hostname()]);
    // Nothing after chaos in that block: a name it does not answer gets SERVFAIL (no next plugin), as CoreDNS.
    assert.equal((await udpQuery(s.port, 'foo.bind', { type: 'TXT', cls: 'CH' })).rcode, 'SERVFAIL');
  });

  test('chaos with AUTHORS: one record each, in Corefile order', async () => {
    // authors.bind belongs to the bind. block above: this Corefile has only a `.` block.
    const other = await startServer(`.:{PORT} {\n    bind 127.0.0.1\n    chaos v1 "Alice A" bob@example.org\n}\n`, { workers: 1 });
    try {
      assert.deepEqual(text(await udpQuery(other.port, 'authors.bind', { type: 'TXT', cls: 'CH' })), ['Alice A', 'bob@example.org']);
      assert.deepEqual(text(await udpQuery(other.port, 'version.bind', { type: 'TXT', cls: 'CH' })), ['v1']);
    } finally {
      await other.stop();
    }
  });

  test('local: localhost, its reverse and the 0/255 zones; NXDOMAIN and NODATA with their SOA', async () => {
    const a = await udpQuery(s.port, 'LocalHost', { type: 'A' });
    assert.equal(a.rcode, 'NOERROR');
    assert.deepEqual(a.answers.map((x) => [x.name, x.ttl, x.type, x.data]), [['LocalHost', 604800, 'A', '127.0.0.1']]);
    assert.equal(a.flags & 0x0400, 0, 'not authoritative, as CoreDNS');
    assert.deepEqual((await udpQuery(s.port, 'localhost', { type: 'AAAA' })).answers.map((x) => x.data), ['::1']);
    assert.deepEqual((await udpQuery(s.port, 'localhost', { type: 'A', cls: 'CH' })).answers.map((x) => x.class), ['IN']);
    const mx = await udpQuery(s.port, 'localhost', { type: 'MX' });
    assert.equal(mx.rcode, 'NOERROR');
    assert.equal(mx.answers.length, 0);
    assert.equal(soaOwner(mx), 'localhost');
    const below = await udpQuery(s.port, 'foo.localhost', { type: 'A' });
    assert.equal(below.rcode, 'NXDOMAIN');
    assert.equal(soaOwner(below), 'localhost');
    assert.deepEqual((await udpQuery(s.port, 'localhost', { type: 'NS' })).answers.map((x) => x.data), ['localhost']);
    assert.equal((await udpQuery(s.port, 'localhost', { type: 'SOA' })).answers[0]?.type, 'SOA');

    assert.deepEqual((await udpQuery(s.port, '1.0.0.127.in-addr.arpa', { type: 'PTR' })).answers.map((x) => x.data), ['localhost']);
    const ptrA = await udpQuery(s.port, '1.0.0.127.in-addr.arpa', { type: 'A' });
    assert.equal(ptrA.rcode, 'NOERROR');
    assert.equal(soaOwner(ptrA), '127.in-addr.arpa');
    for (const name of ['2.0.0.127.in-addr.arpa', 'a.b.1.0.0.127.in-addr.arpa']) {
      const r = await udpQuery(s.port, name, { type: 'PTR' });
      assert.equal(r.rcode, 'NXDOMAIN', name);
      assert.equal(soaOwner(r), '127.in-addr.arpa');
    }
    const zero = await udpQuery(s.port, 'x.0.in-addr.arpa', { type: 'A' });
    assert.equal(zero.rcode, 'NXDOMAIN');
    assert.equal(soaOwner(zero), '0.in-addr.arpa');
    assert.deepEqual((await udpQuery(s.port, '0.in-addr.arpa', { type: 'NS' })).answers.map((x) => [x.name, x.data]), [['0.in-addr.arpa', 'localhost']]);
    const bcast = await udpQuery(s.port, '255.in-addr.arpa', { type: 'A' });
    assert.equal(bcast.rcode, 'NOERROR');
    assert.equal(soaOwner(bcast), '255.in-addr.arpa');
    // A name that only looks like one of the zones is not in it.
    const near = await udpQuery(s.port, 'x1.0.in-addr.arpa.example', { type: 'A' });
    assert.equal(near.additionals.filter((x) => x.type === 'SRV').length, 1, 'reached whoami');
  });

  test('local: localhost.<domain> answers loopback and is counted; deeper names go on', async () => {
    const scrape = async (): Promise<number> => (await scrapeMetrics(metricsPort)).byKey.get('coredns_local_localhost_requests_total') ?? 0;
    const before = await scrape();
    assert.deepEqual((await udpQuery(s.port, 'localhost.example.org', { type: 'A' })).answers.map((x) => [x.name, x.data]), [['localhost.example.org', '127.0.0.1']]);
    assert.deepEqual((await udpQuery(s.port, 'localhost.example.org', { type: 'AAAA' })).answers.map((x) => x.data), ['::1']);
    assert.deepEqual((await udpQuery(s.port, 'localhost.localhost', { type: 'A' })).answers.map((x) => x.data), ['127.0.0.1']);
    const txt = await udpQuery(s.port, 'localhost.example.org', { type: 'TXT' });
    assert.equal(txt.rcode, 'NOERROR');
    assert.equal(soaOwner(txt), 'localhost.example.org', 'the SOA at the name itself, as CoreDNS');
    const deeper = await udpQuery(s.port, 'www.localhost.example.org', { type: 'A' });
    assert.equal(deeper.answers.length, 0);
    assert.equal(deeper.additionals.filter((x) => x.type === 'SRV').length, 1, 'reached whoami');
    assert.equal(await scrape(), before + 4);
  });
});

describe('minimal', () => {
  let s: RunningServer;
  let upstream: dgram.Socket;
  before(async () => {
    // An upstream that answers every query with a referral: NS in authority, glue in additional.
    upstream = dgram.createSocket('udp4');
    upstream.on('message', (msg, from) => {
      const q = dnsPacket.decode(msg);
      const reply = dnsPacket.encode({
        id: q.id, type: 'response', flags: dnsPacket.RECURSION_DESIRED, questions: q.questions,
        authorities: [{ name: 'sub.ref.test', type: 'NS', ttl: 60, data: 'ns1.sub.ref.test' }],
        additionals: [{ name: 'ns1.sub.ref.test', type: 'A', ttl: 60, data: '10.9.9.9' }],
      });
      upstream.send(reply, from.port, from.address);
    });
    await new Promise<void>((resolve) => upstream.bind(0, '127.0.0.1', resolve));
    const records = `    records {
        @ 60 IN SOA ns.min.test. admin.min.test. 1 7200 1800 86400 30
        www 60 IN A 10.0.0.1
        _http._tcp 60 IN SRV 0 100 80 www
        @ 60 IN NS ns
        ns 60 IN A 10.0.0.53
    }`;
    s = await startServer(`
min.test:{PORT} {
    bind 127.0.0.1
    minimal
${records}
}
full.test:{PORT} {
    bind 127.0.0.1
${records.replaceAll('min.test', 'full.test')}
}
ref.test:{PORT} {
    bind 127.0.0.1
    minimal
    forward . 127.0.0.1:${(upstream.address()).port}
}
`, { workers: 1 });
  });
  after(async () => {
    await s.stop();
    upstream.close();
  });

  test('a successful answer loses its additional section; without minimal it keeps it', async () => {
    const full = await udpQuery(s.port, '_http._tcp.full.test', { type: 'SRV', edns: { udpSize: 1232 } });
    assert.deepEqual(full.additionals.filter((a) => a.type !== 'OPT').map((a) => [a.name, a.data]), [['www.full.test', '10.0.0.1']]);
    const min = await udpQuery(s.port, '_http._tcp.min.test', { type: 'SRV', edns: { udpSize: 1232 } });
    assert.equal(min.rcode, 'NOERROR');
    assert.deepEqual(min.answers.map((a) => a.type), ['SRV']);
    assert.deepEqual(min.additionals.map((a) => a.type), ['OPT'], 'only the OPT finish() writes');
    assert.equal(min.authorities.length, 0);
    // The apex NS answer with its glue: the glue goes too.
    const ns = await udpQuery(s.port, 'min.test', { type: 'NS' });
    assert.deepEqual([ns.answers.length, ns.additionals.length], [1, 0]);
    assert.equal((await udpQuery(s.port, 'full.test', { type: 'NS' })).additionals.length, 1);
  });

  test('negative answers keep their SOA, referrals their NS and glue', async () => {
    const nx = await udpQuery(s.port, 'nope.min.test', { type: 'A' });
    assert.equal(nx.rcode, 'NXDOMAIN');
    assert.deepEqual(nx.authorities.map((a) => a.type), ['SOA']);
    const nodata = await udpQuery(s.port, 'www.min.test', { type: 'TXT' });
    assert.equal(nodata.rcode, 'NOERROR');
    assert.deepEqual(nodata.authorities.map((a) => a.type), ['SOA']);
    const ref = await udpQuery(s.port, 'x.sub.ref.test', { type: 'A' });
    assert.equal(ref.answers.length, 0);
    assert.deepEqual(ref.authorities.map((a) => [a.type, a.data]), [['NS', 'ns1.sub.ref.test']]);
    assert.deepEqual(ref.additionals.map((a) => [a.name, a.data]), [['ns1.sub.ref.test', '10.9.9.9']]);
  });
});
