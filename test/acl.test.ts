// acl through the real CLI: clients on 127.0.0.1, .2 and .3 (their own source addresses), the
// answers CoreDNS 1.12.2 gave for the same Corefile (checked side by side: REFUSED with EDE 15,
// empty NOERROR with EDE 17, no answer; the same acl counters), and the policies' order.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';
import { TcpConnection } from './helpers/dns-client.ts';
import { configError, freePort, type RunningServer, startServer } from './helpers/server-process.ts';
import { Scrape, scrapeMetrics } from './helpers/scrape.ts';

interface Answer { rcode: string; answers: number; whoami: boolean; ede: number[]; opt: boolean }

function query(name: string, type: string, edns = true): Buffer {
  return dnsPacket.encode({
    id: 5, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: type as dnsPacket.RecordType, class: 'IN' }],
    additionals: edns ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [] } as unknown as dnsPacket.Answer] : [],
  });
}

function read(raw: Buffer): Answer {
  const r = dnsPacket.decode(raw) as dnsPacket.Packet & { rcode?: string };
  const opt = (r.additionals ?? []).find((a) => a.type === 'OPT') as unknown as { options?: Array<{ code: number; data?: Buffer }> } | undefined;
  return {
    rcode: r.rcode ?? '',
    answers: (r.answers ?? []).length,
    whoami: (r.additionals ?? []).some((a) => a.type === 'SRV'),
    ede: (opt?.options ?? []).filter((o) => o.code === 15).map((o) => Buffer.from(o.data ?? []).readUInt16BE(0)),
    opt: opt !== undefined,
  };
}

/** One query over UDP from `source`; null when no answer came within `ms`. */
function ask(port: number, source: string, name: string, type: string, edns = true, ms = 600): Promise<Answer | null> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket('udp4');
    const timer = setTimeout(() => { sock.close(); resolve(null); }, ms);
    sock.on('message', (m) => { clearTimeout(timer); sock.close(); resolve(read(m)); });
    sock.on('error', reject);
    sock.bind(0, source, () => sock.send(query(name, type, edns), port, '127.0.0.1'));
  });
}

describe('acl', () => {
  let s: RunningServer;
  let metricsPort: number;
  before(async () => {
    metricsPort = await freePort();
    s = await startServer(`
.:{PORT} {
    bind 127.0.0.1
    prometheus 127.0.0.1:${metricsPort}
    acl a.test {
        block type AAAA
        filter type TXT net 127.0.0.1/32
        drop type MX
        allow net 127.0.0.2
        block
    }
    acl b.test {
        allow type A net 127.0.0.0/8
        filter net 127.0.0.1
    }
    acl {
        allow net 127.0.0.3
    }
    acl d.test {
        block type * net *
    }
    whoami
}
`, { workers: 1 });
  });
  after(async () => {
    await s.stop();
  });

  test('block: REFUSED with EDE 15 (Blocked); filter: empty NOERROR with EDE 17 (Filtered); first matching rule wins', async () => {
    assert.deepEqual(await ask(s.port, '127.0.0.1', 'x.a.test', 'AAAA'), { rcode: 'REFUSED', answers: 0, whoami: false, ede: [15], opt: true });
    assert.deepEqual(await ask(s.port, '127.0.0.1', 'x.a.test', 'TXT'), { rcode: 'NOERROR', answers: 0, whoami: false, ede: [17], opt: true });
    // From 127.0.0.2 the filter's net does not match; `allow net 127.0.0.2` does.
    assert.deepEqual(await ask(s.port, '127.0.0.2', 'x.a.test', 'TXT'), { rcode: 'NOERROR', answers: 0, whoami: true, ede: [], opt: true });
    // From 127.0.0.1 nothing before the last rule matches an A query: `block`.
    assert.equal((await ask(s.port, '127.0.0.1', 'x.a.test', 'A'))?.rcode, 'REFUSED');
    // Without EDNS there is no OPT to carry the EDE.
    assert.deepEqual(await ask(s.port, '127.0.0.1', 'x.a.test', 'AAAA', false), { rcode: 'REFUSED', answers: 0, whoami: false, ede: [], opt: false });
  });

  test('drop: no answer over UDP; over TCP the connection goes on with the next query', async () => {
    assert.equal(await ask(s.port, '127.0.0.2', 'x.a.test', 'MX'), null);
    const c = new TcpConnection(s.port);
    try {
      await c.connected();
      c.send(query('x.a.test', 'MX'));
      c.send(query('y.b.test', 'A'));
      const first = read(await c.next());
      assert.equal(first.whoami, true, 'the answer after the dropped query is the A query\'s');
    } finally {
      c.close();
    }
  });

  test('policies in order: one with no matching rule hands on; an explicit allow ends the search', async () => {
    assert.equal((await ask(s.port, '127.0.0.1', 'x.b.test', 'A'))?.whoami, true, 'allow type A net 127/8');
    assert.deepEqual((await ask(s.port, '127.0.0.1', 'x.b.test', 'AAAA'))?.ede, [17]);
    // From 127.0.0.3 no rule of b.test matches an AAAA query; the `.` policy allows it.
    assert.equal((await ask(s.port, '127.0.0.3', 'x.b.test', 'AAAA'))?.whoami, true);
    // d.test blocks everything, but the `.` policy before it allows 127.0.0.3 first.
    assert.equal((await ask(s.port, '127.0.0.1', 'x.d.test', 'A'))?.rcode, 'REFUSED');
    assert.equal((await ask(s.port, '127.0.0.3', 'x.d.test', 'A'))?.whoami, true);
    assert.equal((await ask(s.port, '127.0.0.1', 'x.other.test', 'A'))?.whoami, true, 'outside every zone: allowed');
  });

  test('counters: CoreDNS\'s names and labels, each query counted once', async () => {
    const scrape = (): Promise<Scrape> => scrapeMetrics(metricsPort);
    const before = await scrape();
    const server = `dns://127.0.0.1:${s.port}`;
    const get = (m: Scrape, name: string, labels: Record<string, string>): number => m.sum(name, { server, view: '', ...labels });
    await ask(s.port, '127.0.0.1', 'x.a.test', 'AAAA'); // blocked
    await ask(s.port, '127.0.0.1', 'x.b.test', 'AAAA'); // filtered
    await ask(s.port, '127.0.0.1', 'x.a.test', 'MX'); // dropped
    await ask(s.port, '127.0.0.1', 'x.b.test', 'A'); // allowed
    await ask(s.port, '127.0.0.1', 'x.other.test', 'A'); // allowed (no zone)
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}): number => get(after, name, labels) - get(before, name, labels);
    assert.equal(delta('coredns_acl_blocked_requests_total', { zone: 'a.test.' }), 1);
    assert.equal(delta('coredns_acl_filtered_requests_total', { zone: 'b.test.' }), 1);
    assert.equal(delta('coredns_acl_dropped_requests_total', { zone: 'a.test.' }), 1);
    assert.equal(delta('coredns_acl_allowed_requests_total'), 2);
    assert.match(after.text, /coredns_dns_responses_total\{[^}]*rcode="REFUSED",plugin="acl"\}/);
  });

  test('mistakes: a config error with file and line', async () => {
    const bad = async (rule: string): Promise<string> => configError(`.:1053 {\n    acl {\n        ${rule}\n    }\n}\n`);
    assert.match(await bad('deny type A'), /Corefile:3:9: unknown acl action 'deny'/);
    assert.match(await bad('block type BOGUS'), /Corefile:3:20: unknown query type 'BOGUS'/);
    assert.match(await bad('block net 10.0.0.0/40'), /Corefile:3:19: '10.0.0.0\/40' is not an address or a network/);
    assert.match(await bad('block A'), /Corefile:3:15: 'A' must follow 'type' or 'net'/);
    assert.match(await configError('.:1053 {\n    acl\n}\n'), /Corefile:2:5: acl needs a block/);
  });
});
