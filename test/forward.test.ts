// forward through the real CLI: answers relayed from unbound and from the scriptable fault server,
// failover, deadlines, truncation, transports (UDP, TCP, TLS), health checks shared by workers,
// policies, max_concurrent, in-flight de-duplication, except, next, and configuration errors.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { join } from 'node:path';
import { makeCertificates, opensslMissing } from './helpers/certificates.ts';
import { TcpConnection, encodeQuery, tcpQuery, udpQuery, type QueryOptions, type Reply } from './helpers/dns-client.ts';
import { type RunningServer, freePort, runCli, startServer, tempDir } from './helpers/server-process.ts';
import { type Daemon, startUnbound } from './helpers/unbound.ts';
import { FaultServer, startFaultServer } from './upstream/fault-server.ts';
import { buildPlan } from '../src/config/plan.ts';
import { CorefileError, parseCorefile } from '../src/corefile/index.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function timed<T>(f: () => Promise<T>): Promise<{ r: T; ms: number }> {
  const t0 = performance.now();
  const r = await f();
  return { r, ms: performance.now() - t0 };
}

/** A TCP pass-through in front of `port` that counts connections opened and closed by the client side. */
async function tcpProxy(port: number): Promise<{ port: number; opened: number; closed: number; stop(): void }> {
  const socks = new Set<net.Socket>();
  const stats = { port: 0, opened: 0, closed: 0, stop: () => {} };
  const server = net.createServer((sock) => {
    stats.opened++;
    socks.add(sock);
    const up = net.connect({ port, host: '127.0.0.1' });
    sock.pipe(up).pipe(sock);
    const end = (): void => {
      up.destroy();
      sock.destroy();
    };
    sock.on('close', () => {
      stats.closed++;
      socks.delete(sock);
      end();
    });
    sock.on('error', end);
    up.on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  stats.port = (server.address() as net.AddressInfo).port;
  stats.stop = () => {
    for (const s of socks) s.destroy();
    server.close();
  };
  return stats;
}

/** An address with nothing listening (UDP: port unreachable; TCP: connection refused). */
async function closedPort(): Promise<number> {
  return freePort();
}

describe('forward to unbound', () => {
  let ub: Daemon | { skip: string };
  let s: RunningServer | null = null;
  before(async () => {
    ub = await startUnbound({
      localData: [
        { zone: 'example.test.' },
        'example.test. 3600 IN SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 300',
        'www.example.test. 300 IN A 192.0.2.10',
        'www.example.test. 300 IN AAAA 2001:db8::10',
        'txt.example.test. 300 IN TXT "hello world" "second string"',
      ],
    });
    if ('skip' in ub) return;
    s = await startServer(`.:{PORT} {\n    bind 127.0.0.1\n    forward . ${ub.address}\n}\n`, { workers: 2 });
  });
  after(async () => {
    await s?.stop();
    if (!('skip' in ub)) await ub.stop();
  });

  test('A, AAAA, NXDOMAIN and TXT answers; the client ID and question case come back', async (t) => {
    if ('skip' in ub) return t.skip(ub.skip);
    const a = await udpQuery(s!.port, 'WwW.Example.TEST', { id: 31337 });
    assert.equal(a.id, 31337);
    assert.equal(a.rcode, 'NOERROR');
    assert.deepEqual(a.questions, [{ name: 'WwW.Example.TEST', type: 'A', class: 'IN' }]);
    assert.deepEqual(a.answers.map((x) => [x.name.toLowerCase(), x.data, x.ttl]), [['www.example.test', '192.0.2.10', 300]]);
    assert.ok(a.flag_aa, 'unbound local data is authoritative; AA is relayed');
    const aaaa = await tcpQuery(s!.port, 'www.example.test', { type: 'AAAA', id: 7 });
    assert.equal(aaaa.id, 7);
    assert.equal(aaaa.answers[0]?.data, '2001:db8::10');
    const nx = await udpQuery(s!.port, 'nope.example.test');
    assert.equal(nx.rcode, 'NXDOMAIN');
    assert.equal(nx.authorities[0]?.type, 'SOA');
    const txt = await udpQuery(s!.port, 'txt.example.test', { type: 'TXT' });
    assert.deepEqual(txt.answers[0]?.data.map((b: Buffer) => b.toString()), ['hello world', 'second string']);
  });

  test('EDNS: an OPT with DO comes back to a client that sent one, none to a client without', async (t) => {
    if ('skip' in ub) return t.skip(ub.skip);
    const withDo = await udpQuery(s!.port, 'www.example.test', { edns: { do: true, udpSize: 4096 } });
    const opt = withDo.additionals.find((x) => x.type === 'OPT');
    assert.equal(opt?.flag_do, true);
    assert.equal(opt?.udpPayloadSize, 1232);
    const plain = await udpQuery(s!.port, 'www.example.test');
    assert.equal(plain.additionals.find((x) => x.type === 'OPT'), undefined);
  });
});

describe('forward to the fault server', () => {
  let A: FaultServer;
  let B: FaultServer;
  let C: FaultServer;
  let tlsUp: FaultServer;
  let tlsServer: tls.Server | null = null;
  let tlsPort = 0;
  const sni: string[] = [];
  let expProxy: Awaited<ReturnType<typeof tcpProxy>>;
  let keepProxy: Awaited<ReturnType<typeof tcpProxy>>;
  let s: RunningServer;
  let tlsSkip: string | undefined;

  before(async () => {
    [A, B, C, tlsUp] = await Promise.all([startFaultServer(), startFaultServer(), startFaultServer(), startFaultServer()]);
    expProxy = await tcpProxy(C.port);
    keepProxy = await tcpProxy(C.port);
    const dead1 = await closedPort();
    const dead2 = await closedPort();
    let tlsBlocks = '';
    tlsSkip = opensslMissing();
    if (!tlsSkip) {
      const dir = tempDir();
      const c = makeCertificates(dir, { ips: ['127.0.0.1'], dns: ['dns.example.test'] });
      tlsServer = tls.createServer({ key: readFileSync(c.serverKey), cert: readFileSync(c.server), ca: readFileSync(c.ca), requestCert: true, rejectUnauthorized: true }, (sock) => {
        sni.push(String((sock as tls.TLSSocket & { servername?: string | false }).servername));
        const up = net.connect({ port: tlsUp.port, host: '127.0.0.1' });
        sock.pipe(up).pipe(sock);
        sock.on('error', () => up.destroy());
        up.on('error', () => sock.destroy());
        sock.on('close', () => up.destroy());
      });
      tlsServer.on('tlsClientError', () => {});
      await new Promise<void>((r) => tlsServer!.listen(0, '127.0.0.1', () => r()));
      tlsPort = (tlsServer.address() as net.AddressInfo).port;
      tlsBlocks = `
tls.test:{PORT} {
    bind 127.0.0.1
    forward . tls://127.0.0.1:${tlsPort} {
        tls ${c.client} ${c.clientKey} ${c.ca}
        tls_servername dns.example.test
    }
}
tlsip.test:{PORT} {
    bind 127.0.0.1
    forward . tls://127.0.0.1:${tlsPort} {
        tls ${c.client} ${c.clientKey} ${c.ca}
    }
}
badtls.test:{PORT} {
    bind 127.0.0.1
    errors
    forward . tls://127.0.0.1:${tlsPort} {
        tls ${c.client} ${c.clientKey} ${c.ca}
        tls_servername wrong.example.test
    }
}
`;
    }
    s = await startServer(`
seq.test:{PORT} {
    bind 127.0.0.1
    errors
    forward . ${A.address} ${B.address} {
        policy sequential
    }
}
rr.test:{PORT} {
    bind 127.0.0.1
    forward . ${A.address} ${B.address} {
        policy round_robin
    }
}
rnd.test:{PORT} {
    bind 127.0.0.1
    forward . ${A.address} ${B.address}
}
tcp.test:{PORT} {
    bind 127.0.0.1
    forward . dns://${A.address} {
        force_tcp
    }
}
udp.test:{PORT} {
    bind 127.0.0.1
    forward . ${A.address} {
        prefer_udp
    }
}
ex.test:{PORT} {
    bind 127.0.0.1
    forward . ${A.address} {
        except skip.ex.test
    }
    whoami
}
nx.test:{PORT} {
    bind 127.0.0.1
    forward . ${A.address} {
        next NXDOMAIN SERVFAIL
    }
    whoami
}
dead.test:{PORT} {
    bind 127.0.0.1
    errors
    forward . 127.0.0.1:${dead1} 127.0.0.1:${dead2}
}
deadtcp.test:{PORT} {
    bind 127.0.0.1
    forward . 127.0.0.1:${dead1} ${B.address} {
        policy sequential
        force_tcp
    }
}
chain.test:{PORT} {
    bind 127.0.0.1
    forward . ${A.address} {
        next NXDOMAIN
    }
    forward . ${B.address}
}
hcopt.test:{PORT} {
    bind 127.0.0.1
    forward . ${C.address} {
        health_check 100ms no_rec domain Probe.Example.Test
    }
}
exp.test:{PORT} {
    bind 127.0.0.1
    forward . 127.0.0.1:${expProxy.port} {
        force_tcp
        expire 300ms
    }
}
keep.test:{PORT} {
    bind 127.0.0.1
    forward . 127.0.0.1:${keepProxy.port} {
        force_tcp
    }
}
${tlsBlocks}`, { workers: 1 });
  });
  after(async () => {
    await s.stop();
    tlsServer?.close();
    expProxy.stop();
    keepProxy.stop();
    await Promise.all([A, B, C, tlsUp].map((u) => u.stop()));
  });

  const q = (name: string, opts?: QueryOptions): Promise<Reply> => udpQuery(s.port, name, { timeoutMs: 7000, ...opts });

  test('relays the answer with the client ID and question case; sends the query with its EDNS as it came', async () => {
    A.setRecords('www.seq.test', [{ type: 'A', ttl: 42, data: '10.1.0.1' }]);
    const r = await q('WWW.Seq.Test', { id: 4711, edns: { do: true, udpSize: 2048 } });
    assert.equal(r.id, 4711);
    assert.deepEqual(r.questions[0], { name: 'WWW.Seq.Test', type: 'A', class: 'IN' });
    assert.deepEqual(r.answers.map((x) => [x.data, x.ttl]), [['10.1.0.1', 42]]);
    assert.ok(r.flag_ra && r.flag_aa && r.flag_rd);
    assert.equal(r.additionals.filter((x) => x.type === 'OPT').length, 1, 'one OPT: ours, not the upstream one as well');
    const sent = A.queries({ name: 'www.seq.test' });
    assert.equal(sent.length, 1);
    assert.notEqual(sent[0]!.id, 4711, 'our own query ID upstream');
    assert.deepEqual([sent[0]!.name, sent[0]!.do, sent[0]!.edns, sent[0]!.udpSize, sent[0]!.rd], ['WWW.Seq.Test', true, true, 2048, true]);
    // No EDNS from the client: none added upstream (CoreDNS forwards the query as it is).
    await q('plain.seq.test', { rd: false });
    const plain = A.queries({ name: 'plain.seq.test' })[0]!;
    assert.deepEqual([plain.edns, plain.rd], [false, false]);
    // NXDOMAIN and SERVFAIL answers are answers: relayed, no failover (CoreDNS).
    A.behave('rcode SERVFAIL', { name: 'sf.seq.test' });
    assert.equal((await q('sf.seq.test')).rcode, 'SERVFAIL');
    assert.equal(B.count('sf.seq.test'), 0);
    assert.equal((await q('nope.seq.test')).rcode, 'NXDOMAIN');
  });

  test('fails over at once on garbage with the right ID, after the 2 s read timeout on silence', async () => {
    const fast = ['garbage', 'short', 'no-qr', 'wrong-question'] as const;
    const slow = ['drop', 'malformed wrong-id'] as const;
    B.setRecords('ok.seq.test', [{ type: 'A', data: '10.2.0.2' }]);
    const runs = [
      ...fast.map((m) => ({ name: `${m}.seq.test`, how: `malformed ${m}` as const, fast: true })),
      ...slow.map((m) => ({ name: `${m.replace('malformed ', '')}.seq.test`, how: m, fast: false })),
    ];
    for (const r of runs) {
      A.behave(r.how, { name: r.name });
      B.setRecords(r.name, [{ type: 'A', data: '10.2.0.2' }]);
    }
    const results = await Promise.all(runs.map((r) => timed(() => q(r.name))));
    runs.forEach((r, i) => {
      const { r: reply, ms } = results[i]!;
      assert.equal(reply.rcode, 'NOERROR', r.how);
      assert.equal(reply.answers[0]?.data, '10.2.0.2', r.how);
      if (r.fast) assert.ok(ms < 1500, `${r.how}: ${ms} ms`);
      else assert.ok(ms >= 1900 && ms < 4000, `${r.how}: ${ms} ms`);
      assert.equal(A.count(r.name), 1, r.how);
      assert.equal(B.count(r.name), 1, r.how);
    });
  });

  test('SERVFAIL when no upstream answers: at once when they refuse, at the 5 s deadline when they are silent', async () => {
    for (const up of [A, B]) up.behave('drop', { name: 'silent.seq.test' });
    const [refused, refusedTcp, silent] = await Promise.all([
      timed(() => q('x.dead.test')),
      timed(() => q('x.deadtcp.test')),
      timed(() => q('silent.seq.test')),
    ]);
    assert.equal(refused.r.rcode, 'SERVFAIL');
    assert.ok(refused.ms < 1500, `refused: ${refused.ms} ms`);
    // TCP: connection refused by the first, the second answers (NXDOMAIN: B has no such name).
    assert.equal(refusedTcp.r.rcode, 'NXDOMAIN');
    assert.equal(B.count('x.deadtcp.test'), 1);
    assert.ok(refusedTcp.ms < 1500, `refused over TCP: ${refusedTcp.ms} ms`);
    assert.equal(silent.r.rcode, 'SERVFAIL');
    assert.ok(silent.ms >= 4800 && silent.ms < 6500, `silent: ${silent.ms} ms`);
    // A, B, then A again (cut short by the deadline).
    assert.equal(A.count('silent.seq.test') + B.count('silent.seq.test'), 3);
    await s.waitFor(/\[ERROR\] plugin\/errors: 2 silent\.seq\.test\. A: read udp [^ ]+: i\/o timeout/);
    await s.waitFor(/\[ERROR\] plugin\/errors: 2 x\.dead\.test\. A: read udp [^ ]+: connection refused/);
    // A and B failed these exchanges; their next health probes (answered) make them healthy again.
    await sleep(300);
  });

  test('a truncated UDP answer is asked again over TCP; force_tcp and prefer_udp', async () => {
    A.large('big.seq.test');
    A.behave('truncate', { name: 'big.seq.test' });
    const r = await q('big.seq.test', { edns: { udpSize: 4096 } });
    assert.equal(r.flag_tc, false);
    assert.equal(r.answers.length, 40);
    assert.deepEqual(A.queries({ name: 'big.seq.test' }).map((x) => x.transport), ['udp', 'tcp']);
    // A client without EDNS still gets TC (the answer is over 512 bytes) and then all of it over TCP.
    const small = await q('big.seq.test');
    assert.equal(small.flag_tc, true);
    assert.equal(small.answers.length, 0);
    assert.equal((await tcpQuery(s.port, 'big.seq.test')).answers.length, 40);

    A.setRecords('t.tcp.test', [{ type: 'A', data: '10.3.0.1' }]);
    assert.equal((await q('t.tcp.test')).answers[0]?.data, '10.3.0.1');
    assert.deepEqual(A.queries({ name: 't.tcp.test' }).map((x) => x.transport), ['tcp']);

    A.large('u.udp.test');
    const viaUdp = await tcpQuery(s.port, 'u.udp.test');
    assert.equal(viaUdp.answers.length, 40);
    assert.deepEqual(A.queries({ name: 'u.udp.test' }).map((x) => x.transport), ['udp', 'tcp'], 'prefer_udp: UDP first, TCP after TC');
  });

  test('TCP connections are reused and pipelined, and closed after expire', async () => {
    const conn = new TcpConnection(s.port);
    await conn.connected();
    for (let i = 0; i < 5; i++) conn.send(encodeQuery(`p${i}.tcp.test`));
    const got = await Promise.all(Array.from({ length: 5 }, () => conn.next()));
    conn.close();
    assert.equal(got.length, 5);
    const conns = new Set(A.queries().filter((x) => x.name.endsWith('.tcp.test') && x.name.startsWith('p')).map((x) => x.conn));
    assert.equal(conns.size, 1, 'five queries on one upstream connection');

    await q('a.exp.test');
    await q('a.keep.test');
    assert.deepEqual([expProxy.opened, keepProxy.opened], [1, 1]);
    await sleep(800);
    assert.equal(expProxy.closed, 1, 'expire 300ms: the idle connection is closed');
    assert.equal(keepProxy.closed, 0, 'default expire 10s: still open');
    await q('b.exp.test');
    await q('b.keep.test');
    assert.deepEqual([expProxy.opened, keepProxy.opened], [2, 1]);

    // The upstream closes the connection on a query: a reused connection gets one retry on a new
    // one (CoreDNS's ErrCachedClosed), then every failure counts, and the query fails quickly.
    A.behave('close', { name: 'c.tcp.test' });
    const closed = await timed(() => q('c.tcp.test'));
    assert.equal(closed.r.rcode, 'SERVFAIL');
    assert.ok(closed.ms < 1500, `${closed.ms} ms`);
    assert.equal(A.count('c.tcp.test'), 4, 'reused connection, its retry, then two more attempts');
    await sleep(300); // A's fail count is reset by its next (answered) probe
  });

  test('policies: sequential takes the first, round_robin alternates, random spreads', async () => {
    const names = (zone: string, n: number): string[] => Array.from({ length: n }, (_, i) => `n${i}.${zone}`);
    for (const n of names('seq.test', 10)) await q(n);
    for (const n of names('rr.test', 10)) await q(n);
    for (const n of names('rnd.test', 40)) await q(n);
    const count = (up: FaultServer, zone: string): number => up.queries().filter((x) => /^n\d+\./.test(x.name) && x.name.endsWith(zone)).length;
    assert.deepEqual([count(A, 'seq.test'), count(B, 'seq.test')], [10, 0]);
    assert.deepEqual([count(A, 'rr.test'), count(B, 'rr.test')], [5, 5]);
    const rrOrder = names('rr.test', 10).map((n) => (A.count(n) ? 'A' : 'B'));
    for (let i = 1; i < rrOrder.length; i++) assert.notEqual(rrOrder[i], rrOrder[i - 1], `round_robin alternates: ${rrOrder.join('')}`);
    assert.ok(count(A, 'rnd.test') > 5 && count(B, 'rnd.test') > 5, `random: ${count(A, 'rnd.test')}/${count(B, 'rnd.test')}`);
  });

  test('identical queries in flight are sent once; every client gets its own ID and case', async () => {
    A.setRecords('same.seq.test', [{ type: 'A', data: '10.4.0.1' }]);
    A.behave('delay 300', { name: 'same.seq.test' });
    const cases = ['same.seq.test', 'SAME.seq.test', 'Same.Seq.Test', 'same.SEQ.test', 'sAmE.seq.TEST', 'same.seq.test', 'SAME.SEQ.TEST', 'same.seq.Test'];
    const replies = await Promise.all(cases.map((name, i) => q(name, { id: 1000 + i })));
    assert.equal(A.count('same.seq.test'), 1);
    replies.forEach((r, i) => {
      assert.equal(r.id, 1000 + i);
      assert.equal(r.questions[0]!.name, cases[i]);
      assert.equal(r.answers[0]?.data, '10.4.0.1');
    });
    // Another type, or DO, is another query.
    A.behave('delay 200', { name: 'same.seq.test' });
    await Promise.all([q('same.seq.test'), q('same.seq.test', { type: 'AAAA' }), q('same.seq.test', { edns: { do: true } })]);
    assert.equal(A.count('same.seq.test'), 4);
  });

  test('except sends names on to the next plugin; next NXDOMAIN hands the query to whoami', async () => {
    A.setRecords('a.ex.test', [{ type: 'A', data: '10.5.0.1' }]);
    assert.equal((await q('a.ex.test')).answers[0]?.data, '10.5.0.1');
    const skipped = await q('www.skip.ex.test');
    assert.equal(skipped.answers.length, 0);
    assert.equal(skipped.additionals.find((x) => x.type === 'A')?.data, '127.0.0.1', 'whoami answered');
    assert.equal(A.count('www.skip.ex.test'), 0);

    A.setRecords('yes.nx.test', [{ type: 'A', data: '10.5.0.2' }]);
    assert.equal((await q('yes.nx.test')).answers[0]?.data, '10.5.0.2');
    const nx = await q('no.nx.test');
    assert.equal(nx.rcode, 'NOERROR');
    assert.equal(nx.additionals.find((x) => x.type === 'A')?.data, '127.0.0.1', 'whoami answered the NXDOMAIN name');
    A.behave('rcode SERVFAIL', { name: 'sf.nx.test' });
    assert.equal((await q('sf.nx.test')).additionals.find((x) => x.type === 'SRV')?.name, '_udp.sf.nx.test');
    A.behave('rcode REFUSED', { name: 'ref.nx.test' });
    assert.equal((await q('ref.nx.test')).rcode, 'REFUSED');

    // Two forwards in one block run in the order written; NXDOMAIN from the first goes to the second.
    B.setRecords('only-b.chain.test', [{ type: 'A', data: '10.5.0.3' }]);
    assert.equal((await q('only-b.chain.test')).answers[0]?.data, '10.5.0.3');
    assert.deepEqual([A.count('only-b.chain.test'), B.count('only-b.chain.test')], [1, 1]);
  });

  test('health_check no_rec and domain shape the probe', async () => {
    C.behave('malformed no-qr', { name: 'x.hcopt.test' });
    assert.equal((await q('x.hcopt.test')).rcode, 'SERVFAIL');
    for (let i = 0; i < 20 && C.count('probe.example.test') === 0; i++) await sleep(50);
    const probe = C.queries({ name: 'probe.example.test' })[0];
    assert.ok(probe, 'a probe was sent');
    assert.deepEqual([probe.type, probe.rd, probe.transport], ['NS', false, 'udp']);
  });

  test('tls:// upstream: client certificate, tls_servername checked and sent as SNI', async (t) => {
    if (tlsSkip) return t.skip(tlsSkip);
    tlsUp.setRecords('www.tls.test', [{ type: 'A', data: '10.6.0.1' }]);
    tlsUp.setRecords('www.tlsip.test', [{ type: 'A', data: '10.6.0.2' }]);
    assert.equal((await q('www.tls.test')).answers[0]?.data, '10.6.0.1');
    assert.equal((await q('www.tls.test', { type: 'AAAA' })).rcode, 'NOERROR');
    assert.equal(tlsUp.queries({ name: 'www.tls.test' }).every((x) => x.transport === 'tcp'), true);
    assert.ok(sni.includes('dns.example.test'), `SNI seen: ${sni.join(', ')}`);
    // Without tls_servername the certificate must name the IP (it does: IP:127.0.0.1).
    assert.equal((await q('www.tlsip.test')).answers[0]?.data, '10.6.0.2');
    // A name the certificate does not carry: no answer is trusted.
    const bad = await q('www.badtls.test');
    assert.equal(bad.rcode, 'SERVFAIL');
    assert.equal(tlsUp.count('www.badtls.test'), 0);
    await s.waitFor(/plugin\/errors: 2 www\.badtls\.test\. A: tls: .*wrong\.example\.test/);
  });

  test('no worker died', () => {
    assert.doesNotMatch(s.stderr(), /died/);
  });
});

describe('health checks, failfast and max_concurrent with three workers', () => {
  let A: FaultServer;
  let B: FaultServer;
  let C: FaultServer;
  let D: FaultServer;
  let s: RunningServer;
  before(async () => {
    [A, B, C, D] = await Promise.all([startFaultServer(), startFaultServer(), startFaultServer(), startFaultServer()]);
    s = await startServer(`
hc.test:{PORT} {
    bind 127.0.0.1
    forward . ${A.address} ${B.address} {
        policy sequential
        health_check 100ms
    }
}
ff.test:{PORT} {
    bind 127.0.0.1
    errors
    forward . ${C.address} {
        failfast_all_unhealthy_upstreams
        health_check 100ms
    }
}
mc.test:{PORT} {
    bind 127.0.0.1
    errors
    forward . ${D.address} {
        max_concurrent 2
    }
}
`, { workers: 3 });
  });
  after(async () => {
    await s.stop();
    await Promise.all([A, B, C, D].map((u) => u.stop()));
  });
  const q = (name: string, opts?: QueryOptions): Promise<Reply> => udpQuery(s.port, name, { timeoutMs: 7000, ...opts });

  test('max_fails failures mark an upstream down; one set of probes for all workers; a probe answer brings it back', async () => {
    A.behave('drop');
    C.behave('drop');
    // Three failed exchanges (each with a fail count of its own) put A above max_fails 2.
    const first = await Promise.all([q('a1.hc.test'), q('a2.hc.test'), q('a3.hc.test'), q('c1.ff.test'), q('c2.ff.test'), q('c3.ff.test')]);
    // B has no such names: its NXDOMAIN is the answer.
    assert.deepEqual(first.map((r) => r.rcode), ['NXDOMAIN', 'NXDOMAIN', 'NXDOMAIN', 'SERVFAIL', 'SERVFAIL', 'SERVFAIL']);
    assert.equal(B.count('a1.hc.test'), 1);
    await sleep(200);
    const probes = (): number => A.queries({ name: '.', type: 'NS' }).length;
    const before = probes();
    await sleep(1000);
    const perSecond = probes() - before;
    assert.ok(perSecond >= 5 && perSecond <= 15, `one prober at 100ms (not one per worker): ${perSecond} probes in 1 s`);
    assert.ok(A.queries({ name: '.', type: 'NS' }).every((x) => x.rd), 'probes ask recursively (no no_rec)');

    // Down: the next queries go straight to B.
    const { r, ms } = await timed(() => q('b1.hc.test'));
    assert.equal(r.rcode, 'NXDOMAIN');
    assert.equal(B.count('b1.hc.test'), 1);
    assert.ok(ms < 1500, `${ms} ms (A's 2 s timeout not waited for)`);
    assert.equal(A.count('b1.hc.test'), 0);
    // failfast_all_unhealthy_upstreams: C is down, SERVFAIL at once.
    const ff = await timed(() => q('c4.ff.test'));
    assert.equal(ff.r.rcode, 'SERVFAIL');
    assert.ok(ff.ms < 1000, `failfast: ${ff.ms} ms`);
    assert.equal(C.count('c4.ff.test'), 0);

    // A answers again: the next probe resets it and it is first in line again.
    A.reset();
    await s.waitFor(new RegExp(`plugin/forward: ${A.address.replace(/\./g, '\\.')} answers health checks again`), 3000);
    await q('back.hc.test');
    assert.equal(A.count('back.hc.test'), 1);
    assert.equal(B.count('back.hc.test'), 0);
    const n = probes();
    await sleep(400);
    assert.equal(probes(), n, 'no probes while healthy');
    assert.match(s.stdout(), /\[WARNING\] plugin\/forward: health check of 127\.0\.0\.1:\d+ failed: read udp 127\.0\.0\.1:\d+: i\/o timeout; probing every 0\.1s/);
  });

  test('max_concurrent: over the limit (counted across workers) is REFUSED', async () => {
    D.behave('delay 600');
    const replies = await Promise.all(Array.from({ length: 8 }, (_, i) => q(`m${i}.mc.test`)));
    const rcodes = replies.map((r) => r.rcode).sort();
    assert.deepEqual(rcodes, ['NXDOMAIN', 'NXDOMAIN', 'REFUSED', 'REFUSED', 'REFUSED', 'REFUSED', 'REFUSED', 'REFUSED']);
    assert.equal(D.count(), 2);
    await s.waitFor(/plugin\/errors: 5 m\d\.mc\.test\. A: concurrent queries exceeded maximum 2/);
    // The slots are given back.
    D.reset();
    assert.equal((await q('after.mc.test')).rcode, 'NXDOMAIN');
  });

  test('no worker died', () => {
    assert.doesNotMatch(s.stderr(), /died/);
  });
});

test('resolv.conf upstreams (nameserver lines, port 53)', async (t) => {
  const dir = tempDir();
  // Parsing: comments, other keywords, IPv6; the server starts with these upstreams.
  const conf = join(dir, 'resolv.conf');
  writeFileSync(conf, '# generated\nsearch svc.cluster.local cluster.local\nnameserver 127.0.0.1\nnameserver ::1 ; comment\noptions ndots:5\n');
  const parsed = await startServer(`.:{PORT} {\n    bind 127.0.0.1\n    forward . ${conf}\n}\n`, { workers: 1 });
  await parsed.stop();

  // End to end needs an upstream on port 53: a fault server on 127.0.0.N:53.
  const n = 2 + Math.floor(Math.random() * 250);
  const host = `127.0.0.${n}`;
  const udp = dgram.createSocket('udp4');
  const bound = await new Promise<string | null>((resolve) => {
    udp.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    udp.bind(53, host, () => resolve(null));
  });
  if (bound !== null) {
    udp.close();
    return t.skip(`cannot bind ${host}:53 (${bound}): needs root or CAP_NET_BIND_SERVICE`);
  }
  const tcp = net.createServer();
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(53, host, () => resolve());
  });
  const up = new FaultServer(udp, tcp, {});
  up.setRecords('www.resolv.test', [{ type: 'A', data: '10.7.0.1' }]);
  writeFileSync(conf, `nameserver ${host}\n`);
  const s = await startServer(`.:{PORT} {\n    bind 127.0.0.1\n    forward . ${conf}\n}\n`, { workers: 1 });
  try {
    assert.equal((await udpQuery(s.port, 'www.resolv.test')).answers[0]?.data, '10.7.0.1');
    assert.equal(up.count('www.resolv.test'), 1);
  } finally {
    await s.stop();
    await up.stop();
  }
});

test('configuration errors point at the file and line', async () => {
  const dir = tempDir();
  const emptyConf = join(dir, 'empty.conf');
  writeFileSync(emptyConf, '# nothing\nsearch x\n');
  const ups = Array.from({ length: 16 }, (_, i) => `127.0.0.${i + 1}`).join(' ');
  const corefile = (directive: string): string => `.:1053 {\n    bind 127.0.0.1\n    ${directive}\n}\n`;
  const cases: Array<[string, string, RegExp]> = [
    ['16 upstreams', `forward . ${ups}`, /Corefile:3:\d+: more than 15 TOs configured: 16/],
    ['bad address', 'forward . 300.1.1.1', /Corefile:3:\d+: not an IP address or file: '300\.1\.1\.1'/],
    ['bad policy', 'forward . 127.0.0.1 {\n        policy fastest\n    }', /Corefile:4:\d+: unknown policy 'fastest'\n {2}hint: use random, round_robin or sequential/],
    ['https', 'forward . https://9.9.9.9', /Corefile:3:\d+: 'https:\/\/' is not supported as a destination protocol/],
    ['no nameservers', `forward . ${emptyConf}`, /Corefile:3:\d+: no nameservers found in/],
    ['no upstream', 'forward .', /Corefile:3:\d+: forward needs a zone and at least one upstream/],
    ['bad port', 'forward . 127.0.0.1:70000', /Corefile:3:\d+: port '70000' is not valid/],
    ['unknown option', 'forward . 127.0.0.1 {\n        maxfails 3\n    }', /Corefile:4:\d+: unknown option 'maxfails' for forward\n {2}hint: known options: except, force_tcp/],
    ['bad rcode', 'forward . 127.0.0.1 {\n        next NXDOMIAN\n    }', /Corefile:4:\d+: NXDOMIAN is not a valid rcode/],
    ['bad duration', 'forward . 127.0.0.1 {\n        health_check soon\n    }', /Corefile:4:\d+: 'soon' is not a duration/],
    ['negative expire', 'forward . 127.0.0.1 {\n        expire -1s\n    }', /Corefile:4:\d+: expire can't be negative/],
    ['health_check option', 'forward . 127.0.0.1 {\n        health_check 1s recursive\n    }', /Corefile:4:\d+: health_check: unknown option recursive/],
    ['max_fails', 'forward . 127.0.0.1 {\n        max_fails many\n    }', /Corefile:4:\d+: expected a whole number, got 'many'/],
    ['tls file', 'forward . tls://127.0.0.1 {\n        tls /nonexistent/ca.pem\n    }', /Corefile:4:\d+: cannot read \/nonexistent\/ca\.pem: ENOENT/],
  ];
  // The first three through the CLI (exit code and stderr), every one through the plan builder.
  const cli = await Promise.all(cases.slice(0, 3).map(async ([what, directive]) => {
    const file = join(dir, `Corefile-${what.replace(/\W/g, '_')}`);
    writeFileSync(file, corefile(directive));
    return { ...(await runCli(['-conf', file])), file };
  }));
  cli.forEach((r, i) => {
    const [what, , expected] = cases[i]!;
    assert.equal(r.code, 1, `${what}: ${r.stderr}`);
    assert.match(r.stderr.replaceAll(r.file, 'Corefile'), expected, what);
  });
  for (const [what, directive, expected] of cases) {
    assert.throws(() => buildPlan(parseCorefile(corefile(directive), 'Corefile'), { defaultPort: 53 }), (err: Error) => {
      assert.ok(err instanceof CorefileError, `${what}: ${err.stack}`);
      assert.match(err.message, expected, what);
      return true;
    });
  }
  // And what parses: every option at once, a resolv.conf among the upstreams.
  const conf = join(dir, 'resolv.conf');
  writeFileSync(conf, 'nameserver 10.0.0.1\nnameserver fe80::1%eth0\n');
  const plan = buildPlan(parseCorefile(corefile(`forward 10.0.0.0/8 dns://127.0.0.1:5353 [::1]:53 tls://192.0.2.1 ${conf} {
        except skip.test 172.16.0.0/12
        force_tcp
        prefer_udp
        expire 20s
        max_fails 3
        tls
        tls_servername dns.example.test
        policy round_robin
        health_check 250ms no_rec domain example.org
        max_concurrent 1000
        next NXDOMAIN refused
        failfast_all_unhealthy_upstreams
    }`), 'Corefile'), { defaultPort: 53 });
  const fwd = plan.servers[0]!.plugins.find((p) => p.name === 'forward')!.config as Record<string, unknown> & { upstreams: Array<{ name: string }> };
  assert.equal(fwd.from, '10.in-addr.arpa.');
  assert.deepEqual(fwd.except, ['skip.test.', '16.172.in-addr.arpa.', '17.172.in-addr.arpa.', '18.172.in-addr.arpa.', '19.172.in-addr.arpa.', '20.172.in-addr.arpa.', '21.172.in-addr.arpa.', '22.172.in-addr.arpa.', '23.172.in-addr.arpa.', '24.172.in-addr.arpa.', '25.172.in-addr.arpa.', '26.172.in-addr.arpa.', '27.172.in-addr.arpa.', '28.172.in-addr.arpa.', '29.172.in-addr.arpa.', '30.172.in-addr.arpa.', '31.172.in-addr.arpa.']);
  assert.deepEqual(fwd.upstreams.map((u) => u.name), ['127.0.0.1:5353', '[::1]:53', 'tls://192.0.2.1:853', '10.0.0.1:53', '[fe80::1%eth0]:53']);
  assert.deepEqual([fwd.forceTcp, fwd.preferUdp, fwd.expireMs, fwd.maxFails, fwd.policy, fwd.maxConcurrent, fwd.next, fwd.failfast], [true, false, 20000, 3, 'round_robin', 1000, [3, 5], true]);
});
