// The data plane's shape: several worker threads share each port (SO_REUSEPORT), and a worker
// that dies is replaced while the others keep answering.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TcpConnection, encodeQuery, udpQuery, udpRaw } from './helpers/dns-client.ts';
import { decodeReply } from './helpers/decode.ts';
import { type RunningServer, startServer } from './helpers/server-process.ts';

const COREFILE = `.:{PORT} {\n bind 127.0.0.1\n records example.test {\n  www 60 IN A 10.0.0.1\n }\n whoami\n}\n`;

async function answeredOutOf(port: number, n: number): Promise<number> {
  const replies = await Promise.all(Array.from({ length: n }, () => udpRaw(port, encodeQuery('www.example.test'), 500)));
  return replies.filter((r) => r !== null && decodeReply(r).answers[0]?.data === '10.0.0.1').length;
}

describe('worker threads', () => {
  let s: RunningServer;
  before(async () => {
    s = await startServer(COREFILE, { workers: 2, env: { KDNS_TEST_HOOKS: '1' } });
  });
  after(async () => {
    assert.equal(await s.stop(), 0);
  });

  test('the start-up banner counts the workers', () => {
    assert.match(s.stdout(), /, 2 workers$/m);
  });

  test('a crashed worker is replaced; the server keeps answering throughout', async () => {
    assert.equal(await answeredOutOf(s.port, 100), 100);
    // The crash query goes over TCP to land on whichever worker accepts it.
    const c = new TcpConnection(s.port);
    await c.connected();
    c.send(encodeQuery('crash.kdns.test', { type: 'TXT', cls: 'CH' }));
    const deadline = Date.now() + 5000;
    let during = 0;
    let sent = 0;
    while (!/worker \d died/.test(s.stderr()) && Date.now() < deadline) {
      during += await answeredOutOf(s.port, 20);
      sent += 20;
    }
    c.close();
    assert.match(s.stderr(), /\[ERROR\] worker \d died: test hook: worker crash requested; starting a replacement/);
    // While one worker is down, the other answers (datagrams already queued on the dead
    // socket may be lost, nothing more).
    for (let i = 0; i < 10; i++) {
      during += await answeredOutOf(s.port, 20);
      sent += 20;
    }
    assert.ok(during >= sent * 0.9, `${during}/${sent} answered while a worker was down`);
    // Once replaced, everything is answered again, over UDP and TCP.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await answeredOutOf(s.port, 200), 200);
    const t = new TcpConnection(s.port);
    assert.equal((await t.query('www.example.test')).answers[0]!.data, '10.0.0.1');
    t.close();
  });

  test('test hooks are off unless KDNS_TEST_HOOKS=1', async () => {
    const plain = await startServer(COREFILE, { workers: 1 });
    try {
      const r = await udpQuery(plain.port, 'crash.kdns.test', { type: 'TXT', cls: 'CH' });
      assert.ok(r.rcode.length > 0);
      await new Promise((res) => setTimeout(res, 200));
      assert.doesNotMatch(plain.stderr(), /died/);
    } finally {
      await plain.stop();
    }
  });
});
