// rewrite through the real CLI: the answers CoreDNS 1.12.2 gives for the same Corefile (checked
// side by side: exact, suffix/prefix/regex with and without `answer auto`, substring, type),
// through a table plugin (hosts), forward (answered off the hot path) and the cache.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { udpQuery, tcpQuery } from './helpers/dns-client.ts';
import { configError, type RunningServer, startServer, tempDir } from './helpers/server-process.ts';
import { type FaultServer, startFaultServer } from './upstream/fault-server.ts';

const show = (r: Awaited<ReturnType<typeof udpQuery>>): string[] => [
  ...r.questions.map((x) => `Q ${x.name} ${x.type} ${x.class}`),
  ...r.answers.map((a) => `${a.name} ${a.ttl} ${a.type} ${typeof a.data === 'string' ? a.data : JSON.stringify(a.data)}`),
];

describe('rewrite', () => {
  let s: RunningServer;
  let up: FaultServer;
  before(async () => {
    up = await startFaultServer();
    up.setRecords('www.up.test', [{ type: 'A', ttl: 300, data: '10.6.0.1' }]);
    up.setRecords('alias.up.test', [{ type: 'CNAME', ttl: 300, data: 'www.up.test' }]);
    up.setRecords('www.blocked.rc.test', [{ type: 'A', ttl: 300, data: '10.6.0.9' }]);
    const dir = tempDir();
    const hosts = join(dir, 'hosts');
    writeFileSync(hosts, '10.5.0.1 b.test\n10.5.0.2 www.new.test\n10.5.0.3 x.y.z.test\n10.5.0.4 c.test\n');
    s = await startServer(`
.:{PORT} {
    bind 127.0.0.1
    rewrite name exact a.test b.test
    rewrite name suffix .old.test .new.test answer auto
    rewrite name suffix .plain.test .new.test
    rewrite name regex (.*)\\.q\\.test {1}.y.z.test answer auto
    rewrite name regex ^(.*)\\.r\\.test\\.$ {1}.y.z.test
    rewrite name prefix p. www. answer auto
    rewrite name substring zz x
    rewrite type AAAA A
    rewrite continue name exact chain.test d.test
    rewrite continue name exact d.test c.test
    rewrite ttl exact c.test 5
    rewrite stop {
        name regex (.*)-blk\\.test {1}.y.z.test
        answer name (.*)\\.y\\.z\\.test {1}-blk.test
    }
    hosts ${hosts} {
        fallthrough
    }
    whoami
}
fwd.test:{PORT} {
    bind 127.0.0.1
    cache 300
    rewrite continue name suffix .fwd.test .up.test answer auto answer value (.*)\\.up\\.test {1}.fwd.test
    rewrite ttl suffix .up.test 20-60
    forward . ${up.address}
}
rc.test:{PORT} {
    bind 127.0.0.1
    rewrite rcode exact nx.rc.test NXDOMAIN REFUSED
    rewrite continue rcode suffix .blocked.rc.test NOERROR 3
    rewrite ttl suffix .blocked.rc.test 10
    forward . ${up.address}
}
`, { workers: 1 });
  });
  after(async () => {
    await s.stop();
    await up.stop();
  });

  test('name rules: the client gets its question back; answers as CoreDNS gives them', async () => {
    const cases: Array<[string, string, string[]]> = [
      ['a.test', 'A', ['Q a.test A IN', 'a.test 3600 A 10.5.0.1']],
      ['A.Test', 'A', ['Q A.Test A IN', 'a.test 3600 A 10.5.0.1']],
      ['www.old.test', 'A', ['Q www.old.test A IN', 'www.old.test 3600 A 10.5.0.2']],
      ['www.plain.test', 'A', ['Q www.plain.test A IN', 'www.new.test 3600 A 10.5.0.2']],
      ['x.q.test', 'A', ['Q x.q.test A IN', 'x.q.test 3600 A 10.5.0.3']],
      ['x.r.test', 'A', ['Q x.r.test A IN', 'x.y.z.test 3600 A 10.5.0.3']],
      ['p.new.test', 'A', ['Q p.new.test A IN', 'p.new.test 3600 A 10.5.0.2']],
      ['x.y.zzz.test', 'A', ['Q x.y.zzz.test A IN', 'x.y.xz.test 3600 A 10.5.0.3'].slice(0, 1)],
      ['b.test', 'AAAA', ['Q b.test AAAA IN', 'b.test 3600 A 10.5.0.1']],
      // The block form: its lines one rule (CoreDNS 1.12.2 gives the same answer).
      ['x-blk.test', 'A', ['Q x-blk.test A IN', 'x-blk.test 3600 A 10.5.0.3']],
    ];
    for (const [name, type, want] of cases) {
      const r = await udpQuery(s.port, name, { type });
      if (name === 'x.y.zzz.test') {
        // zz -> x makes x.y.xz.test: hosts has no such name, so whoami (next) answers it.
        assert.deepEqual(show(r), want, name);
        assert.equal(r.additionals.filter((a) => a.type === 'SRV').length, 1);
        continue;
      }
      assert.equal(r.rcode, 'NOERROR', name);
      assert.deepEqual(show(r), want, `${type} ${name}`);
    }
  });

  test('continue runs the next rules on the rewritten name; ttl sets the answers\' TTL', async () => {
    assert.deepEqual(show(await udpQuery(s.port, 'chain.test')), ['Q chain.test A IN', 'chain.test 5 A 10.5.0.4']);
    assert.deepEqual(show(await tcpQuery(s.port, 'c.test')), ['Q c.test A IN', 'c.test 5 A 10.5.0.4']);
  });

  test('forwarded: the upstream is asked the rewritten name; answer auto, answer value and a ttl range; then the cache', async () => {
    // answer value: the CNAME's target goes back under fwd.test.
    assert.deepEqual(show(await udpQuery(s.port, 'alias.fwd.test')).map((l) => l.replace(/ \d+ CNAME/, ' T CNAME')), ['Q alias.fwd.test A IN', 'alias.fwd.test T CNAME www.fwd.test']);
    // answer auto and the ttl range (300 held to 60), then the same from the cache (counting down).
    const first = await udpQuery(s.port, 'www.fwd.test');
    assert.deepEqual(show(first), ['Q www.fwd.test A IN', 'www.fwd.test 60 A 10.6.0.1']);
    const again = await udpQuery(s.port, 'www.fwd.test');
    assert.deepEqual(show(again).map((l) => l.replace(/ \d+ A/, ' T A')), ['Q www.fwd.test A IN', 'www.fwd.test T A 10.6.0.1']);
    assert.ok(again.answers[0]!.ttl <= 60);
    assert.deepEqual(up.queries({ name: 'www.up.test' }).map((q) => q.type), ['A'], 'asked once: the second answer came from the cache');
  });

  test('rcode rules: the response code replaced for matching names, the sections kept; ttl holds the SOA too', async () => {
    const nx = await udpQuery(s.port, 'nx.rc.test');
    assert.equal(nx.rcode, 'REFUSED');
    assert.equal(nx.authorities[0]?.type, 'SOA', 'the NXDOMAIN\'s SOA stays, as CoreDNS');
    const other = await udpQuery(s.port, 'other.rc.test');
    assert.equal(other.rcode, 'NXDOMAIN', 'no rule for that name');
    const blocked = await udpQuery(s.port, 'www.blocked.rc.test');
    assert.equal(blocked.rcode, 'NXDOMAIN');
    assert.deepEqual(show(blocked), ['Q www.blocked.rc.test A IN', 'www.blocked.rc.test 10 A 10.6.0.9']);
    const gone = await udpQuery(s.port, 'gone.blocked.rc.test');
    assert.equal(gone.rcode, 'NXDOMAIN', 'FROM is NOERROR: an NXDOMAIN stays one');
    assert.equal(gone.authorities[0]?.ttl, 10, 'the ttl rule holds the authority section\'s SOA as well');
  });

  test('mistakes: a config error with file and line', async () => {
    const bad = async (line: string): Promise<string> => configError(`.:1053 {\n    ${line}\n}\n`);
    assert.match(await bad('rewrite bogus a b'), /Corefile:2:13: unknown rewrite field 'bogus'/);
    assert.match(await bad('rewrite cname exact a.test. b.test.'), /Corefile:2:13: rewrite cname is not available in kdns yet/);
    assert.match(await bad('rewrite edns0 local add 0xffee abc'), /Corefile:2:25: unknown edns0 action 'add'/);
    assert.match(await bad('rewrite edns0 local set 0x1ffff abc'), /Corefile:2:29: '0x1ffff' is not an option code/);
    assert.match(await bad('rewrite edns0 local set 0xffee 0xabc'), /Corefile:2:36: '0xabc' is not hexadecimal data/);
    assert.match(await bad('rewrite edns0 local set 0xffee {client}'), /Corefile:2:36: unknown edns0 variable '\{client\}'/);
    assert.match(await bad('rewrite edns0 subnet set 33 56'), /Corefile:2:30: '33' is not an IPv4 prefix length/);
    assert.match(await bad('rewrite edns0 nsid set 1'), /Corefile:2:28: rewrite edns0 nsid takes no value/);
    assert.match(await configError('.:1053 {\n    rewrite {\n        name exact a.test b.test {\n        }\n    }\n}\n'), /Corefile:3:9: a rewrite block holds one rule/);
    assert.match(await bad('rewrite edns0 cookie set'), /Corefile:2:19: unknown edns0 option 'cookie'/);
    assert.match(await bad('rewrite type AAAA BOGUS'), /Corefile:2:23: unknown type 'BOGUS'/);
    assert.match(await bad('rewrite name regex ( x'), /Corefile:2:24: '\(' is not a regular expression/);
    assert.match(await bad('rewrite name exact a.test'), /Corefile:2:24: rewrite name needs FROM TO/);
    assert.match(await bad('rewrite ttl exact a.test x'), /Corefile:2:30: 'x' is not a TTL or a range/);
    assert.match(await bad('rewrite rcode exact a.test BOGUS NOERROR'), /Corefile:2:32: unknown response code 'BOGUS'/);
    assert.match(await bad('rewrite rcode exact a.test NXDOMAIN'), /Corefile:2:32: rewrite rcode needs NAME FROM TO/);
    assert.match(await bad('rewrite name exact a.test b.test answer sideways'), /Corefile:2:45: unknown answer rewrite 'sideways'/);
  });
});

// edns0 rules: what the upstream receives, side by side with CoreDNS 1.12.2 on the same rules
// (22 Corefiles, plain, EDNS and option-carrying queries: the same options in the same order).
describe('rewrite edns0', () => {
  let s: RunningServer;
  let up: FaultServer;
  const hex = (t: string): string => Buffer.from(t).toString('hex');
  before(async () => {
    up = await startFaultServer();
    for (const n of ['a.e1.test', 'b.e2.test', 'c.e3.test']) up.setRecords(n, [{ type: 'A', ttl: 300, data: '10.7.0.1' }]);
    s = await startServer(`
e1.test:{PORT} {
    bind 127.0.0.1
    rewrite continue edns0 local set 0xffee abcd
    rewrite continue edns0 local append 0xffef {client_ip}
    rewrite continue edns0 local set 0xfff0 {qname}
    rewrite continue edns0 nsid append
    rewrite continue edns0 subnet set 24 56
    rewrite edns0 local replace 0xfff1 0x6162 revert
    forward . ${up.address}
}
e2.test:{PORT} {
    bind 127.0.0.1
    rewrite stop edns0 local replace 0xaaaa never
    rewrite edns0 local set 0xbbbb {protocol}
    rewrite edns0 local set 0xcccc never
    forward . ${up.address}
}
e3.test:{PORT} {
    bind ::1
    rewrite edns0 subnet set 24 56
    forward . ${up.address}
}
`);
  });
  after(async () => {
    await s?.stop();
    await up?.stop();
  });
  const lastOptions = (name: string): Array<{ code: number; data: string }> | undefined => up.queries({ name }).at(-1)?.options;

  test('a query without EDNS: the upstream gets an OPT (4096) with the options, the client an answer without one', async () => {
    const r = await udpQuery(s.port, 'a.e1.test', { edns: false });
    assert.equal(r.rcode, 'NOERROR');
    assert.deepEqual(r.answers.map((a) => a.data), ['10.7.0.1']);
    assert.equal(r.additionals.some((a) => a.type === 'OPT'), false, 'no OPT for a client that sent none (RFC 6891 7)');
    const got = up.queries({ name: 'a.e1.test' }).at(-1)!;
    assert.equal(got.udpSize, 4096);
    assert.deepEqual(got.options, [
      { code: 0xffee, data: hex('abcd') },
      { code: 0xffef, data: '7f000001' },
      { code: 0xfff0, data: hex('a.e1.test.') },
      { code: 3, data: '' },
      { code: 8, data: '000118007f0000' }, // RFC 7871: family 1, /24, scope 0, three octets
    ]);
  });

  test('options the client sent: set and replace change them in place, append adds after them', async () => {
    const r = await udpQuery(s.port, 'a.e1.test', {
      edns: { options: [{ code: 0xffee, data: Buffer.from('orig') }, { code: 8, data: Buffer.from('000120000a090909', 'hex') }, { code: 0xfff1, data: Buffer.from('zz') }] },
    });
    assert.equal(r.rcode, 'NOERROR');
    const opt = r.additionals.find((a) => a.type === 'OPT') as unknown as { options: unknown[] } | undefined;
    assert.deepEqual(opt?.options, [], 'the client\'s answer carries none of the options given to the upstream (revert)');
    assert.deepEqual(lastOptions('a.e1.test'), [
      { code: 0xffee, data: hex('abcd') },
      { code: 8, data: '000118007f0000' },
      { code: 0xfff1, data: hex('ab') },
      { code: 0xffef, data: '7f000001' },
      { code: 0xfff0, data: hex('a.e1.test.') },
      { code: 3, data: '' },
    ]);
  });

  test('stop ends the list only where a rule changed something; {protocol} over TCP', async () => {
    await udpQuery(s.port, 'b.e2.test', { edns: {} });
    assert.deepEqual(lastOptions('b.e2.test'), [{ code: 0xbbbb, data: hex('udp') }], 'replace found nothing: the next rule ran, and stopped the list');
    const t = await tcpQuery(s.port, 'b.e2.test', { edns: {} });
    assert.equal(t.rcode, 'NOERROR');
    assert.deepEqual(lastOptions('b.e2.test'), [{ code: 0xbbbb, data: hex('tcp') }]);
  });

  test('subnet from an IPv6 client: family 2 and the /56 of its address', async () => {
    const r = await udpQuery(s.port, 'c.e3.test', { edns: {}, from: '::1' });
    assert.equal(r.rcode, 'NOERROR');
    assert.deepEqual(lastOptions('c.e3.test'), [{ code: 8, data: '00023800' + '00'.repeat(7) }]);
  });
});
