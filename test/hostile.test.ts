// Malformed and hostile packets: the right rcode (or silence) and no worker ever dies.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TcpConnection, encodeQuery, udpQuery, udpRaw } from './helpers/dns-client.ts';
import { decodeReply } from './helpers/decode.ts';
import { type RunningServer, startServer } from './helpers/server-process.ts';

const COREFILE = `.:{PORT} {\n bind 127.0.0.1\n errors\n records example.test {\n  www 60 IN A 10.0.0.1\n }\n whoami\n}\n`;

function header(id: number, flags: number, qd: number, an = 0, ns = 0, ar = 0): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(id, 0);
  b.writeUInt16BE(flags, 2);
  b.writeUInt16BE(qd, 4);
  b.writeUInt16BE(an, 6);
  b.writeUInt16BE(ns, 8);
  b.writeUInt16BE(ar, 10);
  return b;
}
const question = (name = 'www.example.test'): Buffer => encodeQuery(name).subarray(12, 12 + name.length + 2 + 4);

async function rcodeOf(port: number, msg: Buffer): Promise<string | null> {
  const reply = await udpRaw(port, msg, 500);
  if (reply === null) return null;
  return decodeReply(reply).rcode;
}

describe('hostile input', () => {
  let s: RunningServer;
  before(async () => {
    s = await startServer(COREFILE, { workers: 2 });
  });
  after(async () => {
    const code = await s.stop();
    assert.equal(code, 0);
    assert.doesNotMatch(s.stderr(), /died/);
  });

  test('shorter than a header: dropped', async () => {
    assert.equal(await rcodeOf(s.port, Buffer.from([1, 2, 3])), null);
    assert.equal(await rcodeOf(s.port, Buffer.alloc(11)), null);
  });

  test('a response (QR set) is never answered', async () => {
    assert.equal(await rcodeOf(s.port, Buffer.concat([header(1, 0x8000, 1), question()])), null);
  });

  test('wrong question counts: FORMERR', async () => {
    assert.equal(await rcodeOf(s.port, header(2, 0x0100, 0)), 'FORMERR');
    assert.equal(await rcodeOf(s.port, Buffer.concat([header(3, 0x0100, 2), question(), question()])), 'FORMERR');
  });

  test('truncated question, bad labels and over-long names: FORMERR with the header echoed', async () => {
    const reply = await udpRaw(s.port, Buffer.concat([header(0xbeef, 0x0100, 1), question().subarray(0, 7)]), 500);
    assert.ok(reply);
    const r = decodeReply(reply);
    assert.equal(r.rcode, 'FORMERR');
    assert.equal(r.id, 0xbeef);
    const label64 = Buffer.concat([header(5, 0, 1), Buffer.from([64]), Buffer.alloc(64, 0x61), Buffer.from([0, 0, 1, 0, 1])]);
    assert.equal(await rcodeOf(s.port, label64), 'FORMERR');
    const long = Buffer.concat([header(6, 0, 1), ...Array.from({ length: 5 }, () => Buffer.concat([Buffer.from([60]), Buffer.alloc(60, 0x62)])), Buffer.from([0, 0, 1, 0, 1])]);
    assert.equal(await rcodeOf(s.port, long), 'FORMERR');
  });

  test('compression pointers in the question and pointer loops elsewhere: FORMERR, no hang', async () => {
    const selfPointer = Buffer.concat([header(7, 0, 1), Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
    assert.equal(await rcodeOf(s.port, selfPointer), 'FORMERR');
    // An additional record whose owner points at itself and whose rdlength runs off the end.
    const loop = Buffer.concat([header(8, 0, 1, 0, 0, 1), question(), Buffer.from([0xc0, 34, 0, 1, 0, 1, 0, 0, 0, 0, 0xff, 0xff])]);
    assert.equal(await rcodeOf(s.port, loop), 'FORMERR');
  });

  test('counts that promise records the packet does not have: FORMERR', async () => {
    assert.equal(await rcodeOf(s.port, Buffer.concat([header(9, 0, 1, 5, 0, 0), question()])), 'FORMERR');
    assert.equal(await rcodeOf(s.port, Buffer.concat([header(10, 0, 1, 0, 0, 3), question()])), 'FORMERR');
  });

  test('two OPT records: FORMERR (RFC 6891 6.1.1)', async () => {
    const opt = Buffer.from([0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal(await rcodeOf(s.port, Buffer.concat([header(11, 0, 1, 0, 0, 2), question(), opt, opt])), 'FORMERR');
  });

  test('opcodes other than QUERY: NOTIMP', async () => {
    for (const opcode of [1, 2, 4, 5]) {
      assert.equal(await rcodeOf(s.port, Buffer.concat([header(12, opcode << 11, 1), question()])), 'NOTIMP', `opcode ${opcode}`);
    }
  });

  test('an oversized datagram with trailing junk after a valid query still gets its answer', async () => {
    const msg = Buffer.concat([encodeQuery('www.example.test', { id: 13 }), Buffer.alloc(3000, 0xaa)]);
    const reply = await udpRaw(s.port, msg, 500);
    assert.ok(reply);
    assert.equal(decodeReply(reply).answers[0]!.data, '10.0.0.1');
  });

  test('TCP: garbage frames get FORMERR, a zero-length frame closes the connection', async () => {
    const c = new TcpConnection(s.port);
    await c.connected();
    c.send(Buffer.concat([header(14, 0, 1), Buffer.from([0xc0, 12])]));
    assert.equal(decodeReply(await c.next()).rcode, 'FORMERR');
    c.writeRaw(Buffer.from([0, 0]));
    await c.closed;
  });

  test('2,000 random and mutated packets, then every worker still answers', async () => {
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const valid = encodeQuery('www.example.test', { edns: { udpSize: 4096 } });
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < 2000; i++) {
      let pkt: Buffer;
      if (i % 2 === 0) {
        pkt = Buffer.from(valid);
        for (let k = 0, n = 1 + rand(4); k < n; k++) pkt[rand(pkt.length)] = rand(256);
        pkt[2] = pkt[2]! & 0x7f; // keep QR clear so the server parses further
        if (rand(3) === 0) pkt = pkt.subarray(0, rand(pkt.length));
      } else {
        pkt = Buffer.alloc(rand(600));
        for (let k = 0; k < pkt.length; k++) pkt[k] = rand(256);
      }
      sends.push(udpRaw(s.port, pkt, 200));
      if (sends.length >= 100) await Promise.all(sends.splice(0));
    }
    await Promise.all(sends);
    // Many source ports so that both workers' sockets are reached.
    const answers = await Promise.all(Array.from({ length: 50 }, () => udpQuery(s.port, 'www.example.test')));
    assert.ok(answers.every((a) => a.answers[0]?.data === '10.0.0.1'));
  });
});
