// bufsize through the real CLI: answers are cut at SIZE whatever the client advertises, a
// smaller advertisement stays, and forward passes the capped size upstream (the query's bytes).
// CoreDNS 1.12.2 with the same Corefile (hosts file, bufsize 700) truncated at the same sizes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { udpQuery } from './helpers/dns-client.ts';
import { configError, type RunningServer, startServer, tempDir } from './helpers/server-process.ts';
import { type FaultServer, startFaultServer } from './upstream/fault-server.ts';

const TC = 0x0200;

describe('bufsize', () => {
  let s: RunningServer;
  let up: FaultServer;
  before(async () => {
    up = await startFaultServer();
    up.setRecords('www.up.test', [{ type: 'A', data: '10.2.0.1' }]);
    const dir = tempDir();
    const hosts = join(dir, 'hosts');
    // 60 addresses: an answer of ~1,000 bytes, over 700 and under 1232.
    writeFileSync(hosts, Array.from({ length: 60 }, (_, i) => `10.1.0.${i + 1} big.capped.test big.open.test\n`).join(''));
    s = await startServer(`
capped.test:{PORT} {
    bind 127.0.0.1
    bufsize 700
    hosts ${hosts}
}
open.test:{PORT} {
    bind 127.0.0.1
    hosts ${hosts}
}
up.test:{PORT} {
    bind 127.0.0.1
    bufsize
    forward . ${up.address}
}
`, { workers: 1 });
  });
  after(async () => {
    await s.stop();
    await up.stop();
  });

  test('an answer larger than SIZE is truncated however much the client can take; smaller ones pass', async () => {
    const open = await udpQuery(s.port, 'big.open.test', { edns: { udpSize: 4096 } });
    assert.equal(open.flags & TC, 0);
    assert.equal(open.answers.length, 60, 'without bufsize the client\'s 4096 holds it');
    for (const udpSize of [4096, 1232, 701]) {
      const r = await udpQuery(s.port, 'big.capped.test', { edns: { udpSize } });
      assert.equal(r.flags & TC, TC, `advertised ${udpSize}: cut at 700`);
    }
    // A client that takes less keeps its own limit (bufsize only lowers).
    assert.equal((await udpQuery(s.port, 'big.capped.test', { edns: { udpSize: 600 } })).flags & TC, TC);
    assert.equal((await udpQuery(s.port, 'big.capped.test', { edns: false })).flags & TC, TC);
  });

  test('forward sends the capped size upstream (default 1232); a smaller one unchanged', async () => {
    for (const [asked, seen] of [[4096, 1232], [1400, 1232], [800, 800]] as const) {
      up.reset();
      const r = await udpQuery(s.port, 'www.up.test', { edns: { udpSize: asked } });
      assert.deepEqual(r.answers.map((a) => a.data), ['10.2.0.1']);
      assert.deepEqual(up.queries({ name: 'www.up.test' }).map((q) => q.udpSize), [seen], `client ${asked}`);
    }
    up.reset();
    await udpQuery(s.port, 'www.up.test', { edns: false });
    assert.deepEqual(up.queries({ name: 'www.up.test' }).map((q) => q.edns), [false], 'no OPT is added');
  });

  test('SIZE out of range or extra arguments: a config error with file and line', async () => {
    assert.match(await configError('.:1053 {\n    bufsize 100\n}\n'), /Corefile:2:13: 100 is out of range.*512 to 4096/s);
    assert.match(await configError('.:1053 {\n    bufsize 1232 4096\n}\n'), /Corefile:2:18: too many arguments for bufsize/);
  });
});
