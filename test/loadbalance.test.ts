// loadbalance: A/AAAA (and MX) records turned round in every answer, CNAMEs first, through the
// real CLI over UDP; and the byte-level reordering on hand-made messages with compression
// pointers into the records that move.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { tcpQuery, udpQuery } from './helpers/dns-client.ts';
import { type RunningServer, configError, startServer, tempDir } from './helpers/server-process.ts';
import { RoundRobin } from '../src/plugins/loadbalance/round-robin.ts';
import { type FaultServer, startFaultServer } from './upstream/fault-server.ts';

const WWW = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'];

/** The first answers of `n` queries in a row, each checked for completeness. */
async function firstAddresses(port: number, name: string, type: 'A' | 'AAAA', all: string[], n: number): Promise<string[]> {
  const firsts: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await udpQuery(port, name, { type });
    assert.equal(r.rcode, 'NOERROR');
    const addrs = r.answers.filter((a) => a.type === type).map((a) => a.data as string);
    assert.deepEqual([...addrs].sort(), [...all].sort(), 'every address in every answer');
    firsts.push(addrs[0]!);
  }
  return firsts;
}

/** Each address first in turn: n consecutive answers start with n different addresses, in cyclic order. */
function assertTurns(firsts: string[], order: string[]): void {
  const n = order.length;
  for (let i = 0; i + n <= firsts.length; i++) {
    assert.equal(new Set(firsts.slice(i, i + n)).size, n, `each of ${n} addresses first once in ${firsts.join(' ')}`);
  }
  for (let i = 1; i < firsts.length; i++) {
    assert.equal(firsts[i], order[(order.indexOf(firsts[i - 1]!) + 1) % n], `turn by one: ${firsts.join(' ')}`);
  }
}

describe('loadbalance with records', () => {
  let s: RunningServer;
  before(async () => {
    s = await startServer(`
example.test:{PORT} {
    bind 127.0.0.1
    loadbalance round_robin
    records {
        www  60 IN A    10.0.0.1
        www  60 IN A    10.0.0.2
        www  60 IN A    10.0.0.3
        www  60 IN A    10.0.0.4
        www  60 IN AAAA fd00::1
        www  60 IN AAAA fd00::2
        www  60 IN AAAA fd00::3
        web  60 IN CNAME alias
        alias 60 IN CNAME www
        one  60 IN A    10.9.9.9
        @    60 IN MX   10 mx1
        @    60 IN MX   20 mx2
        @    60 IN MX   30 mx3
        mx1  60 IN A    10.1.0.1
        mx2  60 IN A    10.1.0.2
        mx3  60 IN A    10.1.0.3
    }
}
plain.test:{PORT} {
    bind 127.0.0.1
    records {
        www  60 IN A    10.0.0.1
        www  60 IN A    10.0.0.2
        www  60 IN A    10.0.0.3
    }
}
`, { workers: 1 });
  });
  after(async () => {
    await s.stop();
  });

  test('A records: each address first in turn, all of them in every answer', async () => {
    assertTurns(await firstAddresses(s.port, 'www.example.test', 'A', WWW, 9), WWW);
  });

  test('AAAA records turn too, with their own counter', async () => {
    const six = ['fd00::1', 'fd00::2', 'fd00::3'];
    // Interleaved A queries for the same name must not make AAAA skip addresses.
    const firsts: string[] = [];
    for (let i = 0; i < 6; i++) {
      await udpQuery(s.port, 'www.example.test', { type: 'A' });
      firsts.push(...(await firstAddresses(s.port, 'www.example.test', 'AAAA', six, 1)));
    }
    assertTurns(firsts, six);
  });

  test('a CNAME chain stays in front, in order; the addresses behind it turn', async () => {
    const firsts: string[] = [];
    for (let i = 0; i < 8; i++) {
      const r = await udpQuery(s.port, 'web.example.test');
      assert.deepEqual(r.answers.slice(0, 2).map((a) => [a.type, a.name, a.data]), [
        ['CNAME', 'web.example.test', 'alias.example.test'],
        ['CNAME', 'alias.example.test', 'www.example.test'],
      ]);
      const rest = r.answers.slice(2);
      assert.ok(rest.every((a) => a.type === 'A' && a.name === 'www.example.test'));
      assert.deepEqual(rest.map((a) => a.data).sort(), WWW);
      firsts.push(rest[0]!.data as string);
    }
    assertTurns(firsts, WWW);
  });

  test('MX records and their glue turn; names behind moved compression pointers stay right', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const r = await udpQuery(s.port, 'example.test', { type: 'MX' });
      const mx = r.answers.map((a) => `${a.data.preference} ${a.data.exchange}`);
      assert.deepEqual([...mx].sort(), ['10 mx1.example.test', '20 mx2.example.test', '30 mx3.example.test']);
      assert.ok(r.answers.every((a) => a.name === 'example.test'));
      const glue = Object.fromEntries(r.additionals.filter((a) => a.type === 'A').map((a) => [a.name, a.data]));
      assert.deepEqual(glue, { 'mx1.example.test': '10.1.0.1', 'mx2.example.test': '10.1.0.2', 'mx3.example.test': '10.1.0.3' });
      seen.add(mx[0]!);
    }
    assert.equal(seen.size, 3, 'each MX first at some point');
  });

  test('over TCP too; one record and negative answers are left alone', async () => {
    const t1 = await tcpQuery(s.port, 'www.example.test');
    const t2 = await tcpQuery(s.port, 'www.example.test');
    assert.notEqual(t1.answers[0]!.data, t2.answers[0]!.data);
    const one = await udpQuery(s.port, 'one.example.test');
    assert.deepEqual(one.answers.map((a) => a.data), ['10.9.9.9']);
    const nx = await udpQuery(s.port, 'nope.example.test');
    assert.equal(nx.rcode, 'NXDOMAIN');
    assert.equal(nx.authorities[0]!.type, 'SOA');
  });

  test('a server block without loadbalance keeps the order', async () => {
    for (let i = 0; i < 4; i++) {
      const r = await udpQuery(s.port, 'www.plain.test');
      assert.deepEqual(r.answers.map((a) => a.data), ['10.0.0.1', '10.0.0.2', '10.0.0.3']);
    }
  });
});

describe('loadbalance with kubernetes', () => {
  let s: RunningServer;
  const pods = ['10.244.1.5', '10.244.2.5', '10.244.3.5', '10.244.4.5'];
  before(async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'cluster.yaml'), `
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Service
metadata: {name: cart, namespace: shop}
spec:
  clusterIP: None
  ports: [{name: http, port: 80, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: cart-abcde
  namespace: shop
  labels: {kubernetes.io/service-name: cart}
addressType: IPv4
endpoints:
${pods.map((ip, i) => `  - addresses: [${ip}]\n    hostname: cart-${i}\n    conditions: {ready: true}`).join('\n')}
ports: [{name: http, port: 80, protocol: TCP}]
`);
    s = await startServer(`
cluster.local:{PORT} {
    bind 127.0.0.1
    loadbalance
    kubernetes {
        manifests ${dir}
    }
}
`, { workers: 1 });
  });
  after(async () => {
    await s.stop();
  });

  test('a headless service: every ready endpoint, each first in turn', async () => {
    const firsts = await firstAddresses(s.port, 'cart.shop.svc.cluster.local', 'A', pods, 8);
    assertTurns(firsts, pods);
  });

  test('SRV: the additional addresses turn and still belong to their targets', async () => {
    const firsts: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await udpQuery(s.port, '_http._tcp.cart.shop.svc.cluster.local', { type: 'SRV' });
      assert.equal(r.answers.length, 4);
      const targets = r.answers.map((a) => a.data.target as string).sort();
      assert.deepEqual(targets, [0, 1, 2, 3].map((i) => `cart-${i}.cart.shop.svc.cluster.local`));
      const extra = r.additionals.filter((a) => a.type === 'A');
      assert.deepEqual(extra.map((a) => a.name).sort(), targets);
      for (const a of extra) assert.equal(a.data, pods[Number(/^cart-(\d)/.exec(a.name)![1])]);
      firsts.push(extra[0]!.data as string);
    }
    assert.equal(new Set(firsts).size, 4);
  });
});

describe('loadbalance with forward', () => {
  let up: FaultServer;
  let s: RunningServer;
  const addrs = ['192.0.2.1', '192.0.2.2', '192.0.2.3'];
  before(async () => {
    up = await startFaultServer();
    up.setRecords('svc.example.test', addrs.map((data) => ({ type: 'A' as const, ttl: 30, data })));
    s = await startServer(`.:{PORT} {\n    bind 127.0.0.1\n    loadbalance\n    forward . ${up.address}\n}\n`, { workers: 1 });
  });
  after(async () => {
    await s.stop();
    await up.stop();
  });

  test('upstream answers turn as well', async () => {
    assertTurns(await firstAddresses(s.port, 'svc.example.test', 'A', addrs, 6), addrs);
    const r = await udpQuery(s.port, 'svc.example.test', { edns: { udpSize: 1232 } });
    assert.deepEqual(r.answers.map((a) => a.data).sort(), addrs);
    assert.equal(r.additionals.filter((a) => a.type === 'OPT').length, 1);
  });
});

describe('loadbalance configuration', () => {
  const configErrorOf = (directive: string): Promise<string> => configError(`.:1053 {\n    ${directive}\n    whoami\n}\n`);

  test('weighted is refused with a hint', async () => {
    const err = await configErrorOf('loadbalance weighted ./db.weights {\n        reload 10s\n    }');
    assert.match(err, /Corefile:2:\d+: the 'weighted' policy of loadbalance is not available in kdns/);
    assert.match(err, /round_robin/);
  });

  test('unknown policies, extra arguments and options are errors', async () => {
    assert.match(await configErrorOf('loadbalance random'), /unknown loadbalance policy 'random'/);
    assert.match(await configErrorOf('loadbalance round_robin fast'), /unexpected argument 'fast'/);
    assert.match(await configErrorOf('loadbalance {\n        prefer 10.0.0.0/8\n    }'), /'prefer' option is not available in kdns/);
  });
});

// Hand-made messages: the reordering itself, where pointers point into records that move.
describe('RoundRobin on raw messages', () => {
  const rr = new RoundRobin();
  const BASE = 2;

  /** Builds a message from parts (Buffers or byte arrays), returns it at offset BASE of a buffer. */
  function message(an: number, ns: number, ar: number, ...parts: Array<number[] | Buffer>): { buf: Uint8Array; end: number; from: number } {
    const header = [0x12, 0x34, 0x84, 0x00, 0, 1, 0, an, 0, ns, 0, ar];
    const question = [...wire('q.test'), 0, 1, 0, 1];
    const body = Buffer.concat([Buffer.from(header), Buffer.from(question), ...parts.map((p) => Buffer.from(p))]);
    const buf = new Uint8Array(BASE + body.length);
    buf.set(body, BASE);
    return { buf, end: BASE + body.length, from: BASE + header.length + question.length };
  }
  function wire(name: string): number[] {
    return [...name.split('.').flatMap((l) => [l.length, ...Buffer.from(l)]), 0];
  }
  const ptr = (offset: number): number[] => [0xc0 | (offset >> 8), offset & 0xff];
  const rec = (owner: number[], type: number, rdata: number[]): number[] => [...owner, 0, type, 0, 1, 0, 0, 0, 60, rdata.length >> 8, rdata.length & 0xff, ...rdata];
  const decode = (m: { buf: Uint8Array; end: number }) => dnsPacket.decode(Buffer.from(m.buf.subarray(BASE, m.end))) as unknown as { answers: Array<{ name: string; type: string; data: unknown }>; additionals: Array<{ name: string; type: string; data: unknown }> };

  test('records others point into can move: the pointers follow them', () => {
    // Answer: MX 10 mx1.q.test, MX 20 mx2.q.test (exchange names written out); additional: their
    // addresses, owners pointing at the exchange names. Offsets: the question ends at 24, an MX
    // record is 2 + 10 + 2 + 6 = 20 bytes, so the exchanges sit at 38 and 58.
    const mx = (pref: number, host: string): number[] => rec(ptr(12), 15, [0, pref, 3, ...Buffer.from(host), ...ptr(12)]);
    const m = message(2, 0, 2, mx(10, 'mx1'), mx(20, 'mx2'), rec(ptr(38), 1, [10, 1, 0, 1]), rec(ptr(58), 1, [10, 1, 0, 2]));
    assert.equal(rr.apply(m.buf, BASE, m.from, m.end, 2, 0, 2, 1), true);
    const r = decode(m);
    assert.deepEqual(r.answers.map((a) => a.data), [{ preference: 20, exchange: 'mx2.q.test' }, { preference: 10, exchange: 'mx1.q.test' }]);
    assert.deepEqual(r.additionals.map((a) => [a.name, a.data]), [['mx2.q.test', '10.1.0.2'], ['mx1.q.test', '10.1.0.1']]);
  });

  test('a move that would leave a pointer pointing forward is not made', () => {
    // A www.q.test (name written out at offset 24), then two A records pointing at it: turned,
    // they would point ahead, which RFC 1035 4.1.4 does not allow and strict readers refuse.
    const first = rec([3, ...Buffer.from('www'), ...ptr(12)], 1, [10, 0, 0, 1]);
    const m = message(3, 0, 0, first, rec(ptr(24), 1, [10, 0, 0, 2]), rec(ptr(24), 1, [10, 0, 0, 3]));
    const before = Buffer.from(m.buf);
    assert.equal(rr.apply(m.buf, BASE, m.from, m.end, 3, 0, 0, 1), true);
    assert.deepEqual(Buffer.from(m.buf), before);
  });

  test('CNAMEs are put in front even when the records behind them point into them', () => {
    // Answer: A (owner: pointer into the CNAME's target, a forward pointer), then the CNAME.
    // Offsets: question ends at 24; the A record takes 16 bytes, so the CNAME starts at 40 and
    // its target (after owner 2 + fixed 10) at 52.
    const a = rec(ptr(52), 1, [10, 0, 0, 7]);
    const cname = rec(ptr(12), 5, [3, ...Buffer.from('www'), ...ptr(12)]);
    const m = message(2, 0, 0, a, cname);
    assert.equal(rr.apply(m.buf, BASE, m.from, m.end, 2, 0, 0, 0), false);
    const r = decode(m);
    assert.deepEqual(r.answers.map((x) => [x.type, x.name, x.data]), [['CNAME', 'q.test', 'www.q.test'], ['A', 'www.q.test', '10.0.0.7']]);
  });

  test('sections turn separately; other types stay in place', () => {
    const m = message(2, 0, 3,
      rec(ptr(12), 1, [10, 0, 0, 1]), rec(ptr(12), 1, [10, 0, 0, 2]),
      rec(ptr(12), 16, [2, 0x68, 0x69]), rec(ptr(12), 1, [10, 0, 1, 1]), rec(ptr(12), 1, [10, 0, 1, 2]));
    rr.apply(m.buf, BASE, m.from, m.end, 2, 0, 3, 1);
    const r = decode(m);
    assert.deepEqual(r.answers.map((x) => x.data), ['10.0.0.2', '10.0.0.1']);
    assert.deepEqual(r.additionals.map((x) => x.type), ['TXT', 'A', 'A']);
    assert.deepEqual(r.additionals.slice(1).map((x) => x.data), ['10.0.1.2', '10.0.1.1']);
  });

  test('unsure about a record that may hold compressed names (NAPTR): nothing moves', () => {
    const parts = [rec(ptr(12), 1, [10, 0, 0, 1]), rec(ptr(12), 1, [10, 0, 0, 2]), rec(ptr(12), 35, [0, 1, 0, 1, 0, 0, 0, 0])];
    const m = message(2, 0, 1, ...parts);
    const before = Buffer.from(m.buf);
    rr.apply(m.buf, BASE, m.from, m.end, 2, 0, 1, 1);
    assert.deepEqual(Buffer.from(m.buf), before);
  });

  test('malformed or cut-short messages are left alone', () => {
    const m = message(3, 0, 0, rec(ptr(12), 1, [10, 0, 0, 1]), rec(ptr(12), 1, [10, 0, 0, 2]));
    const before = Buffer.from(m.buf);
    assert.equal(rr.apply(m.buf, BASE, m.from, m.end, 3, 0, 0, 1), false);
    // A pointer loop in a name that would have to be walked.
    const loopy = message(2, 0, 0, rec(ptr(24), 1, [10, 0, 0, 1]), rec(ptr(12), 1, [10, 0, 0, 2]));
    const copy = Buffer.from(loopy.buf);
    rr.apply(loopy.buf, BASE, loopy.from, loopy.end, 2, 0, 0, 1);
    assert.deepEqual(Buffer.from(loopy.buf), copy);
    assert.deepEqual(Buffer.from(m.buf), before);
  });
});
