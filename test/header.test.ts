// header through the real CLI: the flags CoreDNS 1.12.2 answers with for the same Corefile
// (checked side by side: whoami behind query and response rules, rd on and off), and the query
// bits forward sends on.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { udpQuery } from './helpers/dns-client.ts';
import { configError, type RunningServer, startServer } from './helpers/server-process.ts';
import { type FaultServer, startFaultServer } from './upstream/fault-server.ts';

const flagsOf = (f: number): string => [['aa', 0x400], ['rd', 0x100], ['ra', 0x80]].filter(([, bit]) => f & (bit as number)).map(([n]) => n).join(',');

describe('header', () => {
  let s: RunningServer;
  let up: FaultServer;
  before(async () => {
    up = await startFaultServer();
    up.setRecords('www.fwd.test', [{ type: 'A', data: '10.3.0.1' }]);
    s = await startServer(`
q.test:{PORT} {
    bind 127.0.0.1
    header {
        query set rd
        query clear aa
    }
    whoami
}
r.test:{PORT} {
    bind 127.0.0.1
    header {
        set ra
        response clear aa
    }
    whoami
}
b.test:{PORT} {
    bind 127.0.0.1
    header {
        response set ra aa
        response clear rd
        response set rd
    }
    whoami
}
fwd.test:{PORT} {
    bind 127.0.0.1
    header {
        query clear rd
        response set aa
    }
    forward . ${up.address}
}
`, { workers: 1 });
  });
  after(async () => {
    await s.stop();
    await up.stop();
  });

  test('response rules in order (the last one on a flag wins), query rules seen in the echoed RD', async () => {
    const cases: Array<[string, boolean, string]> = [
      ['x.q.test', true, 'aa,rd'], ['x.q.test', false, 'aa,rd'],
      ['x.r.test', true, 'rd,ra'], ['x.r.test', false, 'ra'],
      ['x.b.test', true, 'aa,rd,ra'], ['x.b.test', false, 'aa,rd,ra'],
    ];
    for (const [name, rd, want] of cases) {
      const r = await udpQuery(s.port, name, { rd });
      assert.equal(r.rcode, 'NOERROR');
      assert.equal(flagsOf(r.flags), want, `${name} rd=${rd}`);
    }
    assert.match(s.stderr() + s.stdout(), /\[WARNING\] plugin\/header: the rule at .*Corefile:\d+ has no selector; it applies to responses/);
  });

  test('query rules change the query forward sends; response rules the relayed answer', async () => {
    const r = await udpQuery(s.port, 'www.fwd.test', { rd: true });
    assert.deepEqual(r.answers.map((a) => a.data), ['10.3.0.1']);
    assert.deepEqual(up.queries({ name: 'www.fwd.test' }).map((q) => q.rd), [false]);
    assert.equal(r.flags & 0x400, 0x400, 'aa set on the upstream\'s answer');
    assert.equal(r.flags & 0x100, 0, 'rd cleared for the plugins after it, and so in the echo');
  });

  test('mistakes: a config error with file and line', async () => {
    assert.match(await configError('.:1053 {\n    header\n}\n'), /Corefile:2:5: header needs a block/);
    assert.match(await configError('.:1053 {\n    header {\n        answer set aa\n    }\n}\n'), /Corefile:3:9: unknown header selector 'answer'/);
    assert.match(await configError('.:1053 {\n    header {\n        query flip aa\n    }\n}\n'), /Corefile:3:15: unknown header action 'flip'/);
    assert.match(await configError('.:1053 {\n    header {\n        query set ad\n    }\n}\n'), /Corefile:3:19: unknown header flag 'ad'.*aa ra rd/s);
    assert.match(await configError('.:1053 {\n    header {\n        response set\n    }\n}\n'), /Corefile:3:18: a header rule needs at least one flag/);
  });
});
