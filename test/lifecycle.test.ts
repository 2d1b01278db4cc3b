// The process under load, as an operator's rollout meets it: SIGTERM with a lameduck loses no
// query, and a worker that dies is replaced while the others answer. A client streams UDP
// queries with a 1 s timeout and no retry, so every loss shows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QueryStream } from './helpers/query-stream.ts';
import { TcpConnection, encodeQuery } from './helpers/dns-client.ts';
import { startServer } from './helpers/server-process.ts';

const RECORDS = '    records example.org {\n        www 60 IN A 10.0.0.1\n    }\n';

test('SIGTERM under load: every query is answered through the lameduck, then exit 0', async () => {
  const s = await startServer(`.:{PORT} {\n    bind 127.0.0.1\n    health 127.0.0.1:0 {\n        lameduck 1500ms\n    }\n${RECORDS}}\n`, { workers: 2 });
  const stream = new QueryStream(s.port, 'www.example.org');
  stream.start(400);
  await new Promise((r) => setTimeout(r, 500));
  const exited = s.stop('SIGTERM');
  // Keep sending for most of the lameduck: a client that has not yet learned the pod is going.
  await new Promise((r) => setTimeout(r, 1200));
  await stream.stop();
  assert.deepEqual(stream.failures, [], `${stream.failures.length} of ${stream.sent} failed`);
  assert.ok(stream.sent >= 500, `sent ${stream.sent}`);
  assert.equal(stream.answers.get('10.0.0.1'), stream.sent);
  assert.equal(await exited, 0);
});

test('a worker killed under load is replaced; the other answers meanwhile, losses stay bounded', async (t) => {
  const s = await startServer(`.:{PORT} {\n    bind 127.0.0.1\n${RECORDS}}\n`, { workers: 2, env: { KDNS_TEST_HOOKS: '1' } });
  try {
    const stream = new QueryStream(s.port, 'www.example.org');
    stream.start(400);
    await new Promise((r) => setTimeout(r, 500));
    // Over TCP the crash query lands on one worker; that worker dies mid-stream.
    const c = new TcpConnection(s.port);
    await c.connected();
    c.send(encodeQuery('crash.kdns.test', { type: 'TXT', cls: 'CH' }));
    const deadline = Date.now() + 5000;
    while (!/worker \d died/.test(s.stderr()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    c.close();
    assert.match(s.stderr(), /\[ERROR\] worker \d died: test hook: worker crash requested; starting a replacement/);
    await new Promise((r) => setTimeout(r, 1500));
    const before = stream.failures.length;
    // After the replacement: nothing more is lost.
    await new Promise((r) => setTimeout(r, 1000));
    await stream.stop();
    assert.equal(stream.failures.length, before, `losses after the replacement: ${stream.failures.slice(before).join('; ')}`);
    // Only what was queued on the dead worker's socket (or in flight in it) can be lost.
    assert.ok(stream.failures.length <= stream.sent * 0.05, `${stream.failures.length} of ${stream.sent} lost`);
    assert.ok(stream.sent >= 1000, `sent ${stream.sent}`);
    t.diagnostic(`${stream.failures.length} of ${stream.sent} queries lost around the crash`);
  } finally {
    assert.equal(await s.stop(), 0);
  }
});
