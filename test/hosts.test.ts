// The hosts plugin through the real CLI and UDP: /etc/hosts lines and inline lines, A/AAAA/PTR,
// NODATA and SERVFAIL as CoreDNS answers them, fallthrough, reloading, configuration errors.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Reply, udpQuery } from './helpers/dns-client.ts';
import { type RunningServer, runCli, startServer, tempDir } from './helpers/server-process.ts';
import { buildPlan } from '../src/config/plan.ts';
import { CorefileError, parseCorefile } from '../src/corefile/index.ts';
import { eventually } from './helpers/eventually.ts';

const HOSTS = `# a comment line
127.0.0.1   localhost.hosts.test
10.0.0.1    Web.Hosts.Test  www.hosts.test   # two names, comment after them
fd00::1     web.hosts.test
::ffff:10.0.0.2 mapped.hosts.test
10.0.0.3
not-an-address broken.hosts.test
10.0.0.4    outside.example
10.0.0.5    *.apps.hosts.test
10.0.0.6    gone.hosts.test
`;

const data = (r: Reply): unknown[] => r.answers.map((a) => a.data);

describe('hosts', () => {
  let s: RunningServer;
  let dir: string;
  let file: string;
  let later: string;
  before(async () => {
    dir = tempDir();
    file = join(dir, 'hosts');
    later = join(dir, 'later-hosts');
    writeFileSync(file, HOSTS);
    writeFileSync(join(dir, 'ft-hosts'), '10.1.0.1 a.ft.test\n10.1.0.2 b.ft.test\n');
    s = await startServer(`
.:{PORT} {
    bind 127.0.0.1
    hosts ${file} hosts.test {
        10.0.0.7 inline.hosts.test web.hosts.test
        fd00::7  inline.hosts.test
        ttl 60
        reload 100ms
    }
    whoami
}
ft.test:{PORT} {
    bind 127.0.0.1
    hosts ${join(dir, 'ft-hosts')} {
        fallthrough
    }
    records {
        c 30 IN A 10.1.0.3
        a 30 IN TXT "from records"
    }
}
fu.test:{PORT} {
    bind 127.0.0.1
    hosts {
        10.3.0.1 a.fu.test
        fallthrough
        fallthrough_unsupported
    }
    records {
        a 30 IN TXT "from records"
    }
}
nr.test:{PORT} 2.10.in-addr.arpa:{PORT} {
    bind 127.0.0.1
    hosts ${later} {
        10.2.0.1 a.nr.test
        no_reverse
        reload 100ms
    }
    whoami
}
`, { workers: 2 });
  });
  after(async () => {
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('A and AAAA from the file and the inline lines, merged; case-insensitive; ttl', async () => {
    const a = await udpQuery(s.port, 'WEB.hosts.TEST');
    assert.equal(a.rcode, 'NOERROR');
    assert.ok(a.flag_aa, 'CoreDNS sets AA on hosts answers');
    assert.deepEqual(data(a), ['10.0.0.1', '10.0.0.7']);
    assert.equal(a.answers[0]!.name, 'WEB.hosts.TEST');
    assert.equal(a.answers[0]!.ttl, 60);
    assert.deepEqual(data(await udpQuery(s.port, 'web.hosts.test', { type: 'AAAA' })), ['fd00::1']);
    assert.deepEqual(data(await udpQuery(s.port, 'www.hosts.test')), ['10.0.0.1'], 'second name on a line');
    assert.deepEqual(data(await udpQuery(s.port, 'inline.hosts.test', { type: 'AAAA' })), ['fd00::7']);
    assert.deepEqual(data(await udpQuery(s.port, 'localhost.hosts.test')), ['127.0.0.1']);
    assert.deepEqual(data(await udpQuery(s.port, 'mapped.hosts.test')), ['10.0.0.2'], 'IPv4-mapped IPv6 is an A record');
  });

  test('PTR for IPv4 and IPv6 addresses: one per name, whatever the zone', async () => {
    const v4 = await udpQuery(s.port, '1.0.0.10.in-addr.arpa', { type: 'PTR' });
    assert.equal(v4.rcode, 'NOERROR');
    assert.ok(v4.flag_aa);
    assert.deepEqual(data(v4), ['web.hosts.test', 'www.hosts.test']);
    assert.equal(v4.answers[0]!.ttl, 60);
    assert.deepEqual(data(await udpQuery(s.port, '2.0.0.10.in-addr.arpa', { type: 'PTR' })), ['mapped.hosts.test']);
    assert.deepEqual(data(await udpQuery(s.port, '7.0.0.10.in-addr.arpa', { type: 'PTR' })), ['inline.hosts.test', 'web.hosts.test']);
    const v6 = `1.${'0.'.repeat(29)}d.f.ip6.arpa`;
    assert.deepEqual(data(await udpQuery(s.port, v6.toUpperCase(), { type: 'PTR' })), ['web.hosts.test']);
  });

  test('NODATA for other types at a known name; SERVFAIL for unknown names (no SOA either way)', async () => {
    for (const [name, type] of [['web.hosts.test', 'MX'], ['mapped.hosts.test', 'AAAA'], ['web.hosts.test', 'TXT']] as const) {
      const r = await udpQuery(s.port, name, { type });
      assert.equal(r.rcode, 'NOERROR', `${name} ${type}`);
      assert.ok(r.flag_aa);
      assert.equal(r.answers.length, 0);
      assert.equal(r.authorities.length, 0, 'no SOA: a hosts file has none');
    }
    const nx = await udpQuery(s.port, 'nope.hosts.test');
    assert.equal(nx.rcode, 'SERVFAIL');
    assert.equal(nx.flag_aa, false);
    assert.equal((await udpQuery(s.port, 'broken.hosts.test')).rcode, 'SERVFAIL', 'a line with a bad address is skipped');
    assert.equal((await udpQuery(s.port, 'web.hosts.test', { type: 'ANY' })).answers[0]!.type, 'HINFO');
  });

  test('names outside the zones, PTRs hosts lacks and PTRs of forward names go to the next plugin', async () => {
    for (const [name, type] of [['outside.example', 'A'], ['9.9.9.10.in-addr.arpa', 'PTR'], ['web.hosts.test', 'PTR']] as const) {
      const r = await udpQuery(s.port, name, { type });
      assert.equal(r.rcode, 'NOERROR', name);
      assert.equal(r.additionals[0]?.data, '127.0.0.1', `${name}: whoami answered`);
    }
    assert.equal((await udpQuery(s.port, '4.0.0.10.in-addr.arpa', { type: 'PTR' })).additionals[0]?.data, '127.0.0.1', 'names outside the zones get no PTR');
  });

  test('a *. wildcard matches one label below it, and has no PTR', async () => {
    assert.deepEqual(data(await udpQuery(s.port, 'Anything.apps.hosts.test')), ['10.0.0.5']);
    assert.equal((await udpQuery(s.port, 'a.b.apps.hosts.test')).rcode, 'SERVFAIL');
    assert.equal((await udpQuery(s.port, 'apps.hosts.test')).rcode, 'SERVFAIL');
    assert.equal((await udpQuery(s.port, '5.0.0.10.in-addr.arpa', { type: 'PTR' })).additionals[0]?.data, '127.0.0.1');
  });

  test('fallthrough: unknown names go on, known names stay (NODATA)', async () => {
    assert.deepEqual(data(await udpQuery(s.port, 'a.ft.test')), ['10.1.0.1']);
    assert.deepEqual(data(await udpQuery(s.port, 'c.ft.test')), ['10.1.0.3'], 'records answered');
    const txt = await udpQuery(s.port, 'a.ft.test', { type: 'TXT' });
    assert.equal(txt.rcode, 'NOERROR');
    assert.equal(txt.answers.length, 0, 'hosts has the name: NODATA, no fallthrough');
    assert.equal((await udpQuery(s.port, 'zz.ft.test')).rcode, 'NXDOMAIN', 'records said NXDOMAIN');
    const fu = await udpQuery(s.port, 'a.fu.test', { type: 'TXT' });
    assert.deepEqual(fu.answers.map((a) => a.data.toString()), ['from records'], 'fallthrough_unsupported');
    assert.deepEqual(data(await udpQuery(s.port, 'a.fu.test')), ['10.3.0.1']);
  });

  test('no_reverse; a missing file serves the inline lines, then is read when it appears', async () => {
    assert.match(s.stdout(), new RegExp(`\\[WARNING\\] plugin/hosts: File does not exist: ${later}`));
    assert.deepEqual(data(await udpQuery(s.port, 'a.nr.test')), ['10.2.0.1']);
    assert.equal((await udpQuery(s.port, '1.0.2.10.in-addr.arpa', { type: 'PTR' })).additionals[0]?.data, '127.0.0.1', 'no PTR: whoami answered');
    writeFileSync(later, '10.2.0.2 b.nr.test\n');
    await eventually(async () => assert.deepEqual(data(await udpQuery(s.port, 'b.nr.test')), ['10.2.0.2']), 3_000);
    assert.deepEqual(data(await udpQuery(s.port, 'a.nr.test')), ['10.2.0.1']);
  });

  test('edits are picked up while running; a deleted file keeps its last content', async () => {
    writeFileSync(file, `${HOSTS.replace('10.0.0.6    gone.hosts.test\n', '')}10.0.0.8 new.hosts.test\n10.0.0.9 web.hosts.test\n`);
    await eventually(async () => assert.deepEqual(data(await udpQuery(s.port, 'new.hosts.test')), ['10.0.0.8']), 3_000);
    assert.equal((await udpQuery(s.port, 'gone.hosts.test')).rcode, 'SERVFAIL');
    assert.equal((await udpQuery(s.port, '6.0.0.10.in-addr.arpa', { type: 'PTR' })).additionals[0]?.data, '127.0.0.1');
    assert.deepEqual(data(await udpQuery(s.port, 'web.hosts.test')), ['10.0.0.1', '10.0.0.9', '10.0.0.7']);
    await s.waitFor(/\[INFO\] plugin\/hosts: reloaded .*hosts: \d+ names updated, \d+ removed/, 3000);
    rmSync(file);
    await s.waitFor(`[WARNING] plugin/hosts: cannot read ${file}: ENOENT; serving its last content`, 3000);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(s.stdout().split(`cannot read ${file}`).length, 2, 'logged once');
    assert.deepEqual(data(await udpQuery(s.port, 'new.hosts.test')), ['10.0.0.8']);
  });
});

describe('hosts configuration errors', () => {
  const block = (body: string, head = 'hosts /nonexistent/hosts'): string => `.:1053 {\n    ${head} {\n${body}    }\n}\n`;
  /** The error setup gives for `corefile` (in-process: the CLI prints the same message). */
  const planError = (corefile: string): string => {
    try {
      buildPlan(parseCorefile(corefile, 'Corefile'), { defaultPort: 1053 });
    } catch (err) {
      if (err instanceof CorefileError) return err.message;
      throw err;
    }
    throw new Error(`no error for: ${corefile}`);
  };

  test('through the CLI: exit 1, file:line:column and a hint', async () => {
    const dir = tempDir();
    const file = join(dir, 'Corefile');
    writeFileSync(file, block('        ttl 0\n'));
    const r = await runCli(['-conf', file, '-workers', '1'], { cwd: dir });
    rmSync(dir, { recursive: true, force: true });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `kdns: ${file}:3:13: 0 is out of range\n  hint: use a value from 1 to 65535\n`);
  });

  test('bad options and bad inline lines say where and what', () => {
    const cases: Array<[string, RegExp]> = [
      [block('        ttl\n'), /^Corefile:3:9: ttl needs an argument\n  hint: usage: ttl SECONDS$/],
      [block('        ttl 60 120\n'), /^Corefile:3:16: too many arguments for ttl/],
      [block('        reload 5x\n'), /^Corefile:3:16: '5x' is not a duration\n  hint: /],
      [block('        reload -1s\n'), /^Corefile:3:16: '-1s' is not a duration/],
      [block('        no_reverse please\n'), /^Corefile:3:20: no_reverse takes no arguments/],
      [block('        10.0.0.300 web.example.org\n'), /^Corefile:3:9: '10\.0\.0\.300' is neither a hosts option nor an IP address\n  hint: host lines are ADDRESS NAME\.\.\.; options: ttl, no_reverse/],
      [block('        10.0.0.1\n'), /^Corefile:3:9: no name after 10\.0\.0\.1/],
      [block('        10.0.0.1 a..b\n'), /^Corefile:3:18: 'a\.\.b' is not a valid host name/],
      [block('        fallthrough\n        10.0.0.1 web.example.org\n'), /^Corefile:4:9: unknown option '10\.0\.0\.1' for hosts\n  hint: host lines go before fallthrough/],
      [block('        fallthrough_unsupported\n'), /^Corefile:3:9: fallthrough_unsupported needs fallthrough/],
      [block('        10.0.0.1 web.example.org\n', 'hosts /nonexistent/hosts other.org'), /^Corefile:3:18: web\.example\.org\. is not inside other\.org\./],
      [block('', 'hosts /'), /^Corefile:2:11: hosts file \/ is a directory/],
      ['.:1053 {\n    hosts\n    hosts\n}\n', /^Corefile:3:5: plugin 'hosts' is given twice/],
    ];
    for (const [corefile, want] of cases) assert.match(planError(corefile), want);
  });
});
