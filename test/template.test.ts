// template through the real CLI: the answers CoreDNS 1.12.2 gave for the same Corefile (checked
// side by side, 9 queries identical): named and numbered groups, the fields, rcode with an
// authority SOA, additional records, a template that applies but does not match (SERVFAIL), one
// with fallthrough, ANY class and type.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { udpQuery } from './helpers/dns-client.ts';
import { configError, freePort, type RunningServer, startServer } from './helpers/server-process.ts';
import { Scrape, scrapeMetrics } from './helpers/scrape.ts';

const text = (a: { data: unknown }): string => (Array.isArray(a.data) ? a.data.map((b) => Buffer.from(b as Buffer).toString()).join('') : typeof a.data === 'string' ? a.data : JSON.stringify(a.data));

describe('template', () => {
  let s: RunningServer;
  let metricsPort: number;
  before(async () => {
    metricsPort = await freePort();
    s = await startServer(`
.:{PORT} {
    bind 127.0.0.1
    prometheus 127.0.0.1:${metricsPort}
    template IN A example.test {
        match "^ip-(?P<a>[0-9]+)-(?P<b>[0-9]+)-(?P<c>[0-9]+)-(?P<d>[0-9]+)[.]example[.]test[.]$"
        answer "{{ .Name }} 60 IN A {{ .Group.a }}.{{ .Group.b }}.{{ .Group.c }}.{{ .Group.d }}"
        fallthrough
    }
    template IN AAAA example.test {
        rcode NXDOMAIN
        authority "example.test. 60 IN SOA ns.example.test. hostmaster.example.test. 1 60 60 60 60"
    }
    template IN TXT example.test {
        match ^(.*)[.]example[.]test[.]$
        answer "{{ .Name }} 60 IN TXT \\"hello {{ index .Match 1 }} {{ .Zone }} {{ .Class }} {{ .Type }}\\""
        additional "extra.example.test. 60 IN A 10.9.9.9"
    }
    template IN MX example.test {
        match ^mx[.]
        answer "{{ .Name }} 60 IN MX 10 mail.example.test."
    }
    template ANY ANY other.test {
        answer "{{ .Name }} 30 IN CNAME target.example.test."
    }
    whoami
}
`, { workers: 1 });
  });
  after(async () => {
    await s.stop();
  });

  test('matching queries get the records made from the templates, authoritative', async () => {
    const a = await udpQuery(s.port, 'ip-10-1-2-3.example.test');
    assert.deepEqual(a.answers.map((x) => [x.name, x.ttl, x.type, x.data]), [['ip-10-1-2-3.example.test', 60, 'A', '10.1.2.3']]);
    assert.equal(a.flags & 0x400, 0x400);
    const txt = await udpQuery(s.port, 'Bar.example.test', { type: 'TXT' });
    assert.deepEqual(txt.answers.map((x) => [x.name, text(x)]), [['bar.example.test', 'hello bar example.test. IN TXT']]);
    assert.deepEqual(txt.additionals.map((x) => [x.name, x.data]), [['extra.example.test', '10.9.9.9']]);
    const aaaa = await udpQuery(s.port, 'x.example.test', { type: 'AAAA' });
    assert.equal(aaaa.rcode, 'NXDOMAIN');
    assert.deepEqual(aaaa.authorities.map((x) => [x.name, x.type]), [['example.test', 'SOA']]);
    assert.deepEqual((await udpQuery(s.port, 'mx.example.test', { type: 'MX' })).answers.map((x) => x.data), [{ preference: 10, exchange: 'mail.example.test' }]);
    for (const type of ['A', 'SRV']) {
      assert.deepEqual((await udpQuery(s.port, 'a.other.test', { type })).answers.map((x) => [x.type, x.data]), [['CNAME', 'target.example.test']], `ANY ANY: ${type}`);
    }
  });

  test('no match: fallthrough goes on to the next plugin; without it SERVFAIL; other zones and types go on', async () => {
    const fell = await udpQuery(s.port, 'foo.example.test');
    assert.equal(fell.answers.length, 0);
    assert.equal(fell.additionals.filter((x) => x.type === 'SRV').length, 1, 'whoami answered');
    assert.equal((await udpQuery(s.port, 'foo.example.test', { type: 'MX' })).rcode, 'SERVFAIL');
    assert.equal((await udpQuery(s.port, 'nope.test', { type: 'TXT' })).additionals.filter((x) => x.type === 'SRV').length, 1);
  });

  test('coredns_template_matches_total: by zone, class and type, as CoreDNS counts (before the records are made)', async () => {
    const read = (): Promise<Scrape> => scrapeMetrics(metricsPort);
    const server = `dns://127.0.0.1:${s.port}`;
    const before = await read();
    await udpQuery(s.port, 'b.other.test', { type: 'SRV' });
    await udpQuery(s.port, 'c.other.test', { type: 'SRV' });
    await udpQuery(s.port, 'ip-10-0-0-1.example.test');
    await udpQuery(s.port, 'foo.example.test'); // no match (fallthrough): not counted
    const after = await read();
    const delta = (zone: string, type: string): number => {
      const l = { server, zone, view: '', class: 'IN', type };
      return after.sum('coredns_template_matches_total', l) - before.sum('coredns_template_matches_total', l);
    };
    assert.equal(delta('other.test.', 'SRV'), 2);
    assert.equal(delta('example.test.', 'A'), 1);
  });

  test('mistakes: a config error with file and line', async () => {
    const bad = async (lines: string): Promise<string> => configError(`.:1053 {\n    template IN A {\n        ${lines}\n    }\n}\n`);
    assert.match(await bad('answer "{{ .Name }} 60 IN A {{ .Bogus }}"'), /Corefile:3:16: '\{\{ \.Bogus \}\}' is not a template field kdns knows/);
    assert.match(await bad('answer "{{ .Name }} 60 IN"'), /Corefile:3:16: the record template is not a record/);
    assert.match(await bad('match ('), /Corefile:3:15: '\(' is not a regular expression/);
    assert.match(await bad('rcode MAYBE'), /Corefile:3:15: unknown rcode 'MAYBE'/);
    assert.match(await configError('.:1053 {\n    template IN BOGUS\n}\n'), /Corefile:2:17: unknown type 'BOGUS'/);
  });
});
