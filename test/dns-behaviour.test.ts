// DNS behaviour through the real CLI over real UDP and TCP sockets on loopback.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TcpConnection, encodeQuery, tcpQuery, udpQuery, udpRaw } from './helpers/dns-client.ts';
import { decodeReply } from './helpers/decode.ts';
import { type RunningServer, startServer } from './helpers/server-process.ts';

const manyTxt = Array.from({ length: 40 }, (_, i) => `        big 60 IN TXT "record number ${i} with some padding to make it longer"`).join('\n');

const COREFILE = `
example.test:{PORT} {
    bind 127.0.0.1
    records {
        @    60 IN SOA ns.example.test. admin.example.test. 7 7200 1800 86400 30
        www  60 IN A    10.0.0.1
        www  60 IN AAAA fd00::1
        alias 60 IN CNAME www
        a.b.c 60 IN A 10.0.0.9
${manyTxt}
    }
}
sub.example.test:{PORT} {
    bind 127.0.0.1
    records {
        x 60 IN A 10.9.9.9
    }
}
`;

describe('DNS behaviour over UDP and TCP', () => {
  let s: RunningServer;
  before(async () => {
    s = await startServer(COREFILE, { workers: 2 });
  });
  after(async () => {
    await s.stop();
  });

  test('A over UDP: answer, AA, RD echoed, question echoed with the client case', async () => {
    const r = await udpQuery(s.port, 'WwW.ExAmPlE.TeSt', { id: 4321 });
    assert.equal(r.id, 4321);
    assert.equal(r.rcode, 'NOERROR');
    assert.ok(r.flag_qr && r.flag_aa && r.flag_rd);
    assert.equal(r.questions[0]!.name, 'WwW.ExAmPlE.TeSt');
    assert.deepEqual(r.answers.map((a) => a.data), ['10.0.0.1']);
    assert.equal(r.answers[0]!.ttl, 60);
  });

  test('same answers over TCP', async () => {
    const r = await tcpQuery(s.port, 'www.example.test', { type: 'AAAA' });
    assert.equal(r.rcode, 'NOERROR');
    assert.deepEqual(r.answers.map((a) => a.data), ['fd00::1']);
  });

  test('NXDOMAIN and NODATA carry the zone SOA; empty non-terminal is NODATA', async () => {
    const nx = await udpQuery(s.port, 'missing.example.test');
    assert.equal(nx.rcode, 'NXDOMAIN');
    assert.equal(nx.answers.length, 0);
    assert.equal(nx.authorities[0]!.type, 'SOA');
    assert.equal(nx.authorities[0]!.data.serial, 7);
    const nodata = await udpQuery(s.port, 'www.example.test', { type: 'MX' });
    assert.equal(nodata.rcode, 'NOERROR');
    assert.equal(nodata.answers.length, 0);
    assert.equal(nodata.authorities[0]!.type, 'SOA');
    const ent = await udpQuery(s.port, 'b.c.example.test');
    assert.equal(ent.rcode, 'NOERROR');
    assert.equal(ent.answers.length, 0);
  });

  test('CNAME followed inside the zone', async () => {
    const r = await udpQuery(s.port, 'alias.example.test');
    assert.deepEqual(r.answers.map((a) => a.type), ['CNAME', 'A']);
  });

  test('longest matching zone picks the server block on a shared port', async () => {
    const r = await udpQuery(s.port, 'x.sub.example.test');
    assert.deepEqual(r.answers.map((a) => a.data), ['10.9.9.9']);
    const nx = await udpQuery(s.port, 'www.sub.example.test');
    assert.equal(nx.rcode, 'NXDOMAIN');
    assert.equal(nx.authorities[0]!.name, 'sub.example.test');
  });

  test('a zone no server block serves is REFUSED', async () => {
    const r = await udpQuery(s.port, 'www.example.org');
    assert.equal(r.rcode, 'REFUSED');
    assert.equal(r.questions[0]!.name, 'www.example.org');
  });

  test('EDNS0: OPT echoed with our size and the DO bit; BADVERS for version 1', async () => {
    const r = await udpQuery(s.port, 'www.example.test', { edns: { udpSize: 4096, do: true } });
    const opt = r.additionals.find((a) => a.type === 'OPT')!;
    assert.ok(opt, 'OPT in the answer');
    assert.equal(opt.udpPayloadSize, 1232);
    assert.equal(opt.flag_do, true);
    const plain = await udpQuery(s.port, 'www.example.test');
    assert.equal(plain.additionals.length, 0, 'no OPT when the query had none');
    const bad = await udpQuery(s.port, 'www.example.test', { edns: { version: 1 } });
    const badOpt = bad.additionals.find((a) => a.type === 'OPT')!;
    assert.equal(badOpt.extendedRcode, 1, 'BADVERS = extended rcode 1 with header rcode 0');
    assert.equal(bad.answers.length, 0);
  });

  test('a large answer is truncated over UDP without EDNS, complete with EDNS and over TCP', async () => {
    const udp = await udpQuery(s.port, 'big.example.test', { type: 'TXT' });
    assert.ok(udp.flag_tc, 'TC set');
    assert.ok(udp.raw.length <= 512);
    assert.equal(udp.answers.length, 0);
    const edns = await udpQuery(s.port, 'big.example.test', { type: 'TXT', edns: { udpSize: 4096 } });
    assert.ok(!edns.flag_tc);
    assert.equal(edns.answers.length, 40);
    const small = await udpQuery(s.port, 'big.example.test', { type: 'TXT', edns: { udpSize: 1232 } });
    assert.ok(small.flag_tc && small.raw.length <= 1232);
    const tcp = await tcpQuery(s.port, 'big.example.test', { type: 'TXT' });
    assert.ok(!tcp.flag_tc);
    assert.equal(tcp.answers.length, 40);
  });

  test('ANY gets one HINFO (RFC 8482), never every record', async () => {
    const r = await udpQuery(s.port, 'big.example.test', { type: 'ANY' });
    assert.equal(r.answers.length, 1);
    assert.equal(r.answers[0]!.type, 'HINFO');
    assert.equal(r.answers[0]!.data.cpu, 'RFC8482');
  });

  test('TCP: several queries on one connection, answered with their IDs', async () => {
    const c = new TcpConnection(s.port);
    await c.connected();
    const names = ['www.example.test', 'alias.example.test', 'missing.example.test', 'x.sub.example.test'];
    names.forEach((n, i) => c.send(encodeQuery(n, { id: 100 + i })));
    const replies = await Promise.all(names.map(() => c.next()));
    const byId = new Map(replies.map((m) => [decodeReply(m).id, decodeReply(m)]));
    assert.deepEqual([...byId.keys()].sort(), [100, 101, 102, 103]);
    assert.equal(byId.get(102)!.rcode, 'NXDOMAIN');
    // A query split across writes is reassembled.
    const q = encodeQuery('www.example.test', { id: 7 });
    const frame = Buffer.alloc(q.length + 2);
    frame.writeUInt16BE(q.length, 0);
    q.copy(frame, 2);
    c.writeRaw(frame.subarray(0, 5));
    await new Promise((r) => setTimeout(r, 50));
    c.writeRaw(frame.subarray(5));
    assert.equal(decodeReply(await c.next()).id, 7);
    c.close();
  });

  test('queries to an address the block does not bind get no answer', async () => {
    const reply = await udpRaw(s.port, encodeQuery('www.example.test'), 300, '127.0.0.2');
    assert.equal(reply, null);
  });
});

describe('TCP limits', () => {
  let s: RunningServer;
  before(async () => {
    s = await startServer(`example.test:{PORT} {\n bind 127.0.0.1\n timeouts {\n  idle 300ms\n }\n records {\n  www 60 IN A 10.0.0.1\n }\n}\n`, {
      workers: 1, args: ['-tcp.maxconns', '3'],
    });
  });
  after(async () => {
    await s.stop();
  });

  test('an idle connection is closed after the idle timeout', async () => {
    const c = new TcpConnection(s.port);
    await c.connected();
    assert.equal((await c.query('www.example.test')).rcode, 'NOERROR');
    const t0 = Date.now();
    await c.closed;
    const waited = Date.now() - t0;
    assert.ok(waited >= 200 && waited < 3000, `closed after ${waited} ms`);
  });

  test('connections over the cap are refused, the ones within it are served', async () => {
    const conns = Array.from({ length: 3 }, () => new TcpConnection(s.port));
    for (const c of conns) await c.connected();
    for (const c of conns) assert.equal((await c.query('www.example.test')).rcode, 'NOERROR');
    const extra = new TcpConnection(s.port);
    await extra.closed; // the server closes it at once
    for (const c of conns) c.close();
    await new Promise((r) => setTimeout(r, 100));
    const again = new TcpConnection(s.port);
    assert.equal((await again.query('www.example.test')).rcode, 'NOERROR');
    again.close();
  });
});
