// The plugins of the server core, through the real CLI: log, errors, whoami, any, bind.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { tcpQuery, udpQuery } from './helpers/dns-client.ts';
import { type RunningServer, startServer } from './helpers/server-process.ts';

describe('log, errors, whoami, any', () => {
  let s: RunningServer;
  before(async () => {
    s = await startServer(`
example.test:{PORT} {
    bind 127.0.0.1
    log
    errors
    records example.test {
        www 60 IN A 10.0.0.1
    }
}
quiet.test:{PORT} {
    bind 127.0.0.1
    log {
        class denial error
    }
    errors {
        consolidate 300ms "no next plugin"
    }
    records sub.quiet.test {
        ok 60 IN A 10.0.0.2
    }
}
who.test:{PORT} {
    bind 127.0.0.1
    any
    whoami
}
`, { workers: 1 });
  });
  after(async () => {
    await s.stop();
  });

  test('log writes one CoreDNS-format line per query', async () => {
    await udpQuery(s.port, 'WWW.example.test', { id: 777 });
    await s.waitFor('- 777 "', 5000);
    const line = s.stdout().split('\n').find((l) => l.includes('- 777 "'))!;
    assert.match(line, /^\[INFO\] 127\.0\.0\.1:\d+ - 777 "A IN www\.example\.test\. udp 34 false 512" NOERROR qr,aa,rd 50 \d+\.\d+s$/);
    await tcpQuery(s.port, 'www.example.test', { id: 778, edns: { udpSize: 4096, do: true } });
    await s.waitFor('- 778 "', 5000);
    assert.match(s.stdout(), /- 778 "A IN www\.example\.test\. tcp \d+ true 4096" NOERROR qr,aa,rd \d+ /);
  });

  test('log class filter: denial and error are logged, success is not', async () => {
    await udpQuery(s.port, 'ok.sub.quiet.test', { id: 801 });
    await udpQuery(s.port, 'nope.sub.quiet.test', { id: 802 });
    await s.waitFor('- 802 "', 5000);
    assert.match(s.stdout(), /- 802 "A IN nope\.sub\.quiet\.test\. udp \d+ false 512" NXDOMAIN qr,aa,rd/);
    assert.doesNotMatch(s.stdout(), /- 801 "/);
  });

  test('errors: SERVFAIL from the end of the chain is printed; consolidate sums them up', async () => {
    // quiet.test's records cover only sub.quiet.test: other names fall off the end of the chain.
    for (let i = 0; i < 3; i++) {
      const r = await udpQuery(s.port, `x${i}.quiet.test`);
      assert.equal(r.rcode, 'SERVFAIL');
    }
    await s.waitFor("[ERROR] plugin/errors: 3 errors like 'no next plugin' occurred in last 0.3s", 5000);
    assert.doesNotMatch(s.stdout(), /plugin\/errors: 2 x0\.quiet\.test/);
  });

  test('whoami over UDP and TCP', async () => {
    const u = await udpQuery(s.port, 'me.who.test');
    assert.equal(u.rcode, 'NOERROR');
    assert.ok(u.flag_aa);
    assert.equal(u.answers.length, 0);
    assert.equal(u.additionals[0]!.type, 'A');
    assert.equal(u.additionals[0]!.data, '127.0.0.1');
    assert.equal(u.additionals[1]!.name, '_udp.me.who.test');
    assert.equal(u.additionals[1]!.type, 'SRV');
    assert.ok(u.additionals[1]!.data.port > 0);
    const t = await tcpQuery(s.port, 'me.who.test');
    assert.equal(t.additionals[1]!.name, '_tcp.me.who.test');
  });

  test('any answers ANY with HINFO before whoami sees it', async () => {
    const r = await udpQuery(s.port, 'me.who.test', { type: 'ANY' });
    assert.equal(r.answers.length, 1);
    assert.equal(r.answers[0]!.type, 'HINFO');
    assert.equal(r.additionals.length, 0);
  });
});

describe('errors without consolidate', () => {
  test('prints rcode, name, type and the error', async () => {
    const s = await startServer('chain.test:{PORT} {\n bind 127.0.0.1\n errors\n records sub.chain.test {\n  a 5 IN A 10.0.0.1\n }\n}\n', { workers: 1 });
    try {
      const r = await udpQuery(s.port, 'other.chain.test', { type: 'AAAA' });
      assert.equal(r.rcode, 'SERVFAIL');
      await s.waitFor('[ERROR] plugin/errors: 2 other.chain.test. AAAA: no next plugin found', 5000);
    } finally {
      await s.stop();
    }
  });
});

describe('default listeners (no bind)', () => {
  test('listen on every address, dual-stack; IPv4 clients are logged as plain IPv4', async () => {
    const s = await startServer('.:{PORT} {\n log\n whoami\n}\n', { workers: 1 });
    try {
      const r = await udpQuery(s.port, 'dual.test', { id: 4242 });
      assert.equal(r.additionals[0]!.data, '127.0.0.1');
      await s.waitFor('- 4242 "', 5000);
      assert.match(s.stdout(), /^\[INFO\] 127\.0\.0\.1:\d+ - 4242 "A IN dual\.test\. udp/m);
      const { udpRaw, encodeQuery } = await import('./helpers/dns-client.ts');
      const v6 = await udpRaw(s.port, encodeQuery('dual.test', { id: 4343 }), 1000, '::1').catch(() => null);
      if (v6 !== null) {
        const { decodeReply } = await import('./helpers/decode.ts');
        const who = decodeReply(v6).additionals[0]!;
        assert.equal(who.type, 'AAAA');
        assert.equal(who.data, '::1');
        await s.waitFor('- 4343 "', 5000);
        assert.match(s.stdout(), /^\[INFO\] \[::1\]:\d+ - 4343 "/m);
      }
    } finally {
      await s.stop();
    }
  });
});

describe('bind', () => {
  test('listens on the named addresses only; except removes one', async () => {
    const s = await startServer('.:{PORT} {\n bind 127.0.0.1 127.0.0.3 except 127.0.0.3\n whoami\n}\n', { workers: 1 });
    try {
      assert.equal((await udpQuery(s.port, 'a.test')).rcode, 'NOERROR');
      const { udpRaw, encodeQuery } = await import('./helpers/dns-client.ts');
      assert.equal(await udpRaw(s.port, encodeQuery('a.test'), 300, '127.0.0.3'), null);
    } finally {
      await s.stop();
    }
  });
});
