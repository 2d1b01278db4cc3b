// The test upstreams themselves, through real sockets: the in-process fault server, and unbound and
// dnsmasq as child processes.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TcpConnection, encodeQuery, tcpQuery, udpQuery, udpRaw } from './helpers/dns-client.ts';
import { decodeReply } from './helpers/decode.ts';
import { type Daemon, missingTool, startDnsmasq, startUnbound } from './helpers/unbound.ts';
import { type FaultServer, startFaultServer } from './upstream/fault-server.ts';

describe('fault server', () => {
  let s: FaultServer;
  before(async () => {
    s = await startFaultServer({ zone: 'example.test', negativeTtl: 7 });
    s.setRecords('www.example.test', [{ type: 'A', ttl: 30, data: '10.0.0.1' }, { type: 'A', data: '10.0.0.2' }]);
    s.large('big.example.test');
  });
  afterEach(() => s.reset());
  after(() => s.stop());

  test('answers over UDP and TCP and logs each query', async () => {
    const u = await udpQuery(s.port, 'WWW.Example.test', { edns: { do: true } });
    assert.equal(u.rcode, 'NOERROR');
    assert.deepEqual(u.answers.map((a) => [a.data, a.ttl]), [['10.0.0.1', 30], ['10.0.0.2', 60]]);
    assert.equal(u.additionals.find((a) => a.type === 'OPT')?.flag_do, true);
    const t = await tcpQuery(s.port, 'www.example.test', { rd: false });
    assert.equal(t.answers.length, 2);
    const [q1, q2] = s.queries();
    assert.deepEqual({ ...q1, time: 0, id: 0 }, { name: 'WWW.Example.test', type: 'A', transport: 'udp', id: 0, rd: true, do: true, edns: true, udpSize: 1232, options: [], conn: undefined, time: 0 });
    assert.equal(q2!.transport, 'tcp');
    assert.equal(q2!.rd, false);
    assert.equal(q2!.edns, false);
    assert.equal(s.count('www.example.TEST.'), 2);
    assert.equal(s.queries({ transport: 'tcp' }).length, 1);
  });

  test('NXDOMAIN and NODATA carry the SOA', async () => {
    const nx = await udpQuery(s.port, 'nope.example.test');
    assert.equal(nx.rcode, 'NXDOMAIN');
    assert.deepEqual(nx.authorities.map((a) => [a.type, a.name, a.ttl, a.data.minimum]), [['SOA', 'example.test', 7, 7]]);
    const nodata = await udpQuery(s.port, 'www.example.test', { type: 'AAAA' });
    assert.equal(nodata.rcode, 'NOERROR');
    assert.equal(nodata.answers.length, 0);
    assert.equal(nodata.authorities[0]?.type, 'SOA');
    s.setRecords('gone.example.test', [{ type: 'A', data: '10.0.0.3' }]);
    s.deleteRecords('gone.example.test');
    assert.equal((await udpQuery(s.port, 'gone.example.test')).rcode, 'NXDOMAIN');
  });

  test('drop, then back to answering after `times`', async () => {
    s.behave('drop', { times: 1 });
    assert.equal(await udpRaw(s.port, encodeQuery('www.example.test'), 200), null);
    assert.equal((await udpQuery(s.port, 'www.example.test')).rcode, 'NOERROR');
    assert.equal(s.count(), 2);
  });

  test('delay', async () => {
    s.behave('delay 150', { name: 'www.example.test' });
    const t0 = Date.now();
    await udpQuery(s.port, 'www.example.test');
    assert.ok(Date.now() - t0 >= 140);
  });

  test('per-name behaviour wins over the default', async () => {
    s.behave('rcode REFUSED');
    s.behave('rcode SERVFAIL', { name: 'WWW.example.test' });
    assert.equal((await udpQuery(s.port, 'www.example.test')).rcode, 'SERVFAIL');
    assert.equal((await udpQuery(s.port, 'other.example.test')).rcode, 'REFUSED');
  });

  test('truncate: TC over UDP, the full answer over TCP', async () => {
    s.behave('truncate');
    const u = await udpQuery(s.port, 'www.example.test');
    assert.equal(u.flag_tc, true);
    assert.equal(u.answers.length, 0);
    assert.equal((await tcpQuery(s.port, 'www.example.test')).answers.length, 2);
  });

  test('large answers truncate by the requester UDP size', async () => {
    const plain = await udpQuery(s.port, 'big.example.test');
    assert.equal(plain.flag_tc, true);
    assert.equal(plain.answers.length, 0);
    assert.ok(plain.raw.length <= 512);
    const edns = await udpQuery(s.port, 'big.example.test', { edns: { udpSize: 4096 } });
    assert.equal(edns.flag_tc, false);
    assert.equal(edns.answers.length, 40);
    assert.ok(edns.raw.length > 512);
    assert.equal((await udpQuery(s.port, 'big.example.test', { edns: { udpSize: 600 } })).flag_tc, true);
    assert.equal((await tcpQuery(s.port, 'big.example.test')).answers.length, 40);
  });

  test('malformed replies', async () => {
    const ask = async (how: string): Promise<Buffer> => {
      s.behave(`malformed ${how}` as 'malformed short');
      const reply = await udpRaw(s.port, encodeQuery('www.example.test', { id: 0x1234 }), 1000);
      assert.ok(reply, how);
      return reply;
    };
    const garbage = await ask('garbage');
    assert.equal(garbage.readUInt16BE(0), 0x1234);
    assert.equal((await ask('short')).length, 5);
    assert.equal(decodeReply(await ask('wrong-id')).id, 0x1235);
    assert.equal(decodeReply(await ask('no-qr')).flag_qr, false);
    const wq = decodeReply(await ask('wrong-question'));
    assert.equal(wq.questions[0]!.name, 'wrong-question.www.example.test');
    assert.equal(wq.answers[0]!.name, 'wrong-question.www.example.test');
  });

  test('TCP: pipelined queries on one connection, and close', async () => {
    const c = new TcpConnection(s.port);
    await c.connected();
    const replies = await Promise.all([c.query('www.example.test'), c.query('nope.example.test'), c.query('big.example.test')]);
    assert.deepEqual(replies.map((r) => r.rcode).sort(), ['NOERROR', 'NOERROR', 'NXDOMAIN']);
    const conns = new Set(s.queries().map((q) => q.conn));
    assert.equal(conns.size, 1);
    s.behave('close');
    c.send(encodeQuery('www.example.test'));
    await c.closed;
    assert.equal(s.count(), 4);
  });
});

describe('unbound', { skip: missingTool('unbound') }, () => {
  let u: Daemon;
  before(async () => {
    const d = await startUnbound({ localData: [{ zone: 'example.test.' }, 'www.example.test. 60 IN A 10.0.0.1', 'example.test. 60 IN SOA ns.example.test. h.example.test. 1 3600 600 86400 30'] });
    assert.ok(!('skip' in d));
    u = d;
  });
  after(() => u.stop());

  test('local data: A and NXDOMAIN, nothing from the internet', async () => {
    const a = await udpQuery(u.port, 'www.example.test');
    assert.deepEqual(a.answers.map((r) => r.data), ['10.0.0.1']);
    const nx = await udpQuery(u.port, 'nope.example.test');
    assert.equal(nx.rcode, 'NXDOMAIN');
    assert.equal(nx.authorities[0]?.type, 'SOA');
    assert.equal((await udpQuery(u.port, 'example.com')).rcode, 'REFUSED');
  });

  test('forwarding resolver caches what its upstream answers', async (t) => {
    const up = await startFaultServer();
    t.after(() => up.stop());
    up.setRecords('svc.cluster.local', [{ type: 'A', ttl: 300, data: '10.96.0.1' }]);
    up.setRecords('www.example.test', [{ type: 'A', data: '10.0.0.5' }]);
    up.setRecords('1.0.96.10.in-addr.arpa', [{ type: 'PTR', data: 'svc.cluster.local' }]);
    const d = await startUnbound({ forwardTo: up.address, msgCacheSize: '4m' });
    assert.ok(!('skip' in d));
    t.after(() => d.stop());
    for (let i = 0; i < 3; i++) assert.deepEqual((await udpQuery(d.port, 'svc.cluster.local')).answers.map((r) => r.data), ['10.96.0.1']);
    assert.equal(up.count('svc.cluster.local'), 1);
    // Names unbound would otherwise answer itself (test., private reverse zones) reach the upstream.
    assert.deepEqual((await udpQuery(d.port, 'www.example.test')).answers.map((r) => r.data), ['10.0.0.5']);
    assert.deepEqual((await udpQuery(d.port, '1.0.96.10.in-addr.arpa', { type: 'PTR' })).answers.map((r) => r.data), ['svc.cluster.local']);
  });
});

describe('dnsmasq', { skip: missingTool('dnsmasq') }, () => {
  test('answers a host-record', async (t) => {
    const d = await startDnsmasq({ hostRecords: ['kube-dns.kube-system.svc.cluster.local,10.96.0.10'] });
    assert.ok(!('skip' in d));
    t.after(() => d.stop());
    const r = await udpQuery(d.port, 'kube-dns.kube-system.svc.cluster.local');
    assert.deepEqual(r.answers.map((a) => a.data), ['10.96.0.10']);
  });
});
