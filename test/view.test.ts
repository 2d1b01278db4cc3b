// view through the real CLI: blocks for the same zone and port answer different clients (by
// address, type, protocol), asked in Corefile order, then the next shorter zone; the `view`
// label of the metrics. Routing checked side by side with CoreDNS 1.12.2 on 26 expressions
// (every request function and operator of its README): the same block answered each query.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { tcpQuery, udpQuery } from './helpers/dns-client.ts';
import { Scrape } from './helpers/scrape.ts';
import { configError, freePort, type RunningServer, startServer } from './helpers/server-process.ts';

const answer = (a: string): string => `    template IN A {\n        answer "{{ .Name }} 60 IN A ${a}"\n    }\n`;

describe('view', () => {
  let s: RunningServer;
  let metricsPort: number;
  before(async () => {
    metricsPort = await freePort();
    s = await startServer(`
.:{PORT} {
    view second-loopback {
        expr incidr(client_ip(), '127.0.0.2/32')
    }
    prometheus 127.0.0.1:${metricsPort}
${answer('192.0.2.2')}}
.:{PORT} {
    view ipv6-and-tcp {
        expr incidr(client_ip(), '::1/128')
        expr proto() == 'tcp'
    }
${answer('192.0.2.6')}}
.:{PORT} {
    view by-name {
        expr name() matches '^www\\\\.' && type() in ['A', 'AAAA'] and not do()
    }
${answer('192.0.2.3')}}
only-tcp.test:{PORT} {
    view tcp {
        expr proto() == 'tcp'
    }
${answer('192.0.2.7')}}
.:{PORT} {
    prometheus 127.0.0.1:${metricsPort}
${answer('192.0.2.1')}}
`);
  });
  after(async () => {
    await s?.stop();
  });

  const a = async (name: string, opts: Parameters<typeof udpQuery>[2] = {}, tcp = false): Promise<string> => {
    const r = tcp ? await tcpQuery(s.port, name, opts) : await udpQuery(s.port, name, opts);
    return `${r.rcode} ${r.answers.map((x) => x.data).join(',')}`;
  };

  test('the first block whose expressions hold answers; a block without a view takes the rest', async () => {
    assert.equal(await a('x.test'), 'NOERROR 192.0.2.1');
    assert.equal(await a('x.test', { from: '127.0.0.2' }), 'NOERROR 192.0.2.2', 'client address');
    assert.equal(await a('www.x.test', { from: '127.0.0.2' }), 'NOERROR 192.0.2.2', 'Corefile order: the address view comes first');
    assert.equal(await a('www.x.test'), 'NOERROR 192.0.2.3', 'name and type');
    assert.equal(await a('www.x.test', { edns: { do: true } }), 'NOERROR 192.0.2.1', 'not do(): a DO query is not this view\'s');
  });

  test('every expr line must hold', async () => {
    assert.equal(await a('x.test', { from: '::1' }), 'NOERROR 192.0.2.1', '::1 over UDP: proto() is udp');
    assert.equal(await a('x.test', { from: '::1' }, true), 'NOERROR 192.0.2.6', '::1 over TCP');
    assert.equal(await a('x.test', {}, true), 'NOERROR 192.0.2.1', 'TCP from 127.0.0.1: not ::1');
  });

  test('a zone whose view says no hands the query to the next shorter zone', async () => {
    assert.equal(await a('a.only-tcp.test', {}, true), 'NOERROR 192.0.2.7');
    assert.equal(await a('a.only-tcp.test'), 'NOERROR 192.0.2.1', 'over UDP: the root zone\'s block');
  });

  test('metrics carry the view name', async () => {
    await a('m.test', { from: '127.0.0.2' });
    await a('m.test');
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    const scrape = new Scrape(await res.text());
    const count = (view: string): number => scrape.samples
      .filter((x) => x.name === 'coredns_dns_requests_total' && x.labels.view === view && x.labels.type === 'A')
      .reduce((n, x) => n + x.value, 0);
    assert.ok(count('second-loopback') >= 3, `view="second-loopback": ${count('second-loopback')}`);
    assert.ok(count('') >= 1, 'the block without a view: view=""');
  });

  test('no block takes it: REFUSED', async () => {
    const other = await startServer(`
solo.test:{PORT} {
    view never {
        expr client_ip() == '192.0.2.255'
    }
${answer('192.0.2.9')}}
`);
    try {
      assert.equal((await udpQuery(other.port, 'a.solo.test')).rcode, 'REFUSED');
    } finally {
      await other.stop();
    }
  });

  test('mistakes: a config error with file, line and column', async () => {
    const one = (body: string): Promise<string> => configError(`.:1053 {\n    view v {\n        expr ${body}\n    }\n    whoami\n}\n`);
    assert.match(await one('bogus()'), /Corefile:3:14: view expression: unknown name bogus/);
    assert.match(await one('type() == A'), /Corefile:3:24: view expression: unknown name A/);
    assert.match(await one("incidr(client_ip(), '10.0.0.0/33')"), /is not a network \(CIDR\)/);
    assert.match(await one("name() matches '(x'"), /is not a regular expression/);
    assert.match(await one('(true'), /view expression: expected '\)', found 'end of expression'/);
    assert.match(await one("name() == 'a\\.b'"), /invalid escape/);
    assert.match(await configError('.:1053 {\n    view {\n        expr true\n    }\n}\n'), /Corefile:2:5: view needs a NAME/);
    assert.match(await configError('.:1053 {\n    view v {\n        exp true\n    }\n}\n'), /Corefile:3:9: unknown view property 'exp'/);
    const twice = await configError('.:1053 {\n    whoami\n}\n.:1053 {\n    view v {\n        expr true\n    }\n    whoami\n}\n');
    assert.match(twice, /Corefile:4:1: zone \. on port 1053 is defined twice/);
    assert.match(twice, /a block with a view must come before the block without one/);
    assert.match(await configError('.:1053 {\n    whoami\n}\n.:1053 {\n    whoami\n}\n'), /give all but the last a view/);
  });
});
