// nsid through the real CLI: the NSID option (RFC 5001) in the OPT of answers to queries that
// ask for it, whoever answers (a table plugin, forward, the cache), over UDP and TCP; CoreDNS
// 1.12.2 gave the same options for the same Corefile (default host name, DATA of several words).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import dnsPacket from 'dns-packet';
import { TcpConnection, udpRaw } from './helpers/dns-client.ts';
import { configError, type RunningServer, startServer } from './helpers/server-process.ts';
import { type FaultServer, startFaultServer } from './upstream/fault-server.ts';

function nsidQuery(name: string, ask: boolean, edns = true): Buffer {
  return dnsPacket.encode({
    id: 9, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: 'A', class: 'IN' }],
    additionals: edns ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: ask ? [{ code: 3, data: Buffer.alloc(0) }] : [{ code: 10, data: Buffer.alloc(8, 1) }] } as unknown as dnsPacket.Answer] : [],
  });
}

/** The NSID options of a reply (their data as text), and its answers' data. */
function nsidOf(raw: Buffer): { nsid: string[]; answers: string[] } {
  const r = dnsPacket.decode(raw);
  const opt = (r.additionals ?? []).find((a) => a.type === 'OPT') as unknown as { options?: Array<{ code: number; data?: Buffer }> } | undefined;
  return {
    nsid: (opt?.options ?? []).filter((o) => o.code === 3).map((o) => Buffer.from(o.data ?? []).toString()),
    answers: (r.answers ?? []).map((a) => String((a as { data: unknown }).data)),
  };
}

describe('nsid', () => {
  let s: RunningServer;
  let up: FaultServer;
  before(async () => {
    up = await startFaultServer();
    up.setRecords('www.fwd.test', [{ type: 'A', data: '10.4.0.1' }]);
    s = await startServer(`
a.test:{PORT} {
    bind 127.0.0.1
    nsid
    records {
        www 60 IN A 10.0.0.1
    }
}
fwd.test:{PORT} {
    bind 127.0.0.1
    nsid kdns pod a
    cache 30
    forward . ${up.address}
}
`, { workers: 1 });
  });
  after(async () => {
    await s.stop();
    await up.stop();
  });

  test('asked: the host name by default; not asked, or no EDNS: no NSID', async () => {
    assert.deepEqual(nsidOf((await udpRaw(s.port, nsidQuery('www.a.test', true)))!), { nsid: [hostname()], answers: ['10.0.0.1'] });
    assert.deepEqual(nsidOf((await udpRaw(s.port, nsidQuery('www.a.test', false)))!).nsid, [], 'another option (a cookie) is not NSID');
    const plain = dnsPacket.decode((await udpRaw(s.port, nsidQuery('www.a.test', true, false)))!);
    assert.equal((plain.additionals ?? []).length, 0, 'no OPT for a query without one');
  });

  test('forwarded and then cached answers carry it; so does TCP', async () => {
    for (let i = 0; i < 2; i++) {
      assert.deepEqual(nsidOf((await udpRaw(s.port, nsidQuery('www.fwd.test', true)))!), { nsid: ['kdns pod a'], answers: ['10.4.0.1'] }, `round ${i}`);
    }
    assert.equal(up.queries({ name: 'www.fwd.test' }).length, 1, 'the second answer came from the cache');
    assert.deepEqual(nsidOf((await udpRaw(s.port, nsidQuery('www.fwd.test', false)))!).nsid, [], 'a cached answer without it when not asked');
    const c = new TcpConnection(s.port);
    try {
      await c.connected();
      c.send(nsidQuery('www.a.test', true));
      assert.deepEqual(nsidOf(await c.next()).nsid, [hostname()]);
    } finally {
      c.close();
    }
  });

  test('an identifier too long for a response is a config error', async () => {
    assert.match(await configError(`.:1053 {\n    nsid ${'x'.repeat(600)}\n}\n`), /Corefile:2:10: the nsid identifier is 600 bytes/);
  });
});
