// file end to end: the real CLI serving zone files, queried over UDP on loopback. The expected
// answers are CoreDNS 1.12.2's for the same zone file (run side by side while this was written).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { udpQuery } from './helpers/dns-client.ts';
import type { Reply } from './helpers/decode.ts';
import { type RunningServer, configError, startServer, tempDir } from './helpers/server-process.ts';
import { eventually } from './helpers/eventually.ts';

const dir = tempDir();
const db = join(dir, 'db.example.org');
let kdns: RunningServer;

const zone = (serial: number, www: string): string => `$ORIGIN example.org.
$TTL 3600
@   IN SOA ns1.example.org. admin.example.org. (
        ${serial} ; serial
        7200 3600 1209600 300 )
    IN NS  ns1
ns1 IN A   192.0.2.53
www 1h30m IN A ${www}
    IN AAAA 2001:db8::10
txt 60 IN TXT "hello \\"world\\"" two
alias IN CNAME www
_http._tcp IN SRV 0 5 80 www
a.b.c IN A 192.0.2.20
$INCLUDE sub/extra.db sub.example.org.
after IN A 192.0.2.30
`;

before(async () => {
  mkdirSync(join(dir, 'sub'));
  writeFileSync(join(dir, 'sub', 'extra.db'), 'host IN A 192.0.2.40 ; relative to the included origin\n');
  writeFileSync(db, zone(2024010101, '192.0.2.10'));
  kdns = await startServer(`example.org:{PORT} {\n    bind 127.0.0.1\n    file ${db} {\n        reload 100ms\n    }\n}\n`, { workers: 2 });
});

after(async () => {
  await kdns?.stop();
});

const q = (name: string, type = 'A'): Promise<Reply> => udpQuery(kdns.port, name, { type });
const data = (rrs: Reply['answers']): string[] => rrs.filter((r) => r.type !== 'OPT').map((r) => `${r.name} ${r.ttl} ${r.type} ${typeof r.data === 'string' ? r.data : JSON.stringify(r.data)}`).sort();

test('answers with the zone NS in authority, CNAMEs followed, SRV targets in additional (as CoreDNS)', async () => {
  const a = await q('www.example.org');
  assert.equal(a.rcode, 'NOERROR');
  assert.ok(a.flag_aa);
  assert.deepEqual(data(a.answers), ['www.example.org 5400 A 192.0.2.10']);
  assert.deepEqual(data(a.authorities), ['example.org 3600 NS ns1.example.org']);
  // A blank owner is the previous one; a record without a TTL takes $TTL (RFC 2308 4).
  assert.deepEqual(data((await q('www.example.org', 'AAAA')).answers), ['www.example.org 3600 AAAA 2001:db8::10']);
  assert.deepEqual(data((await q('alias.example.org')).answers), ['alias.example.org 3600 CNAME www.example.org', 'www.example.org 5400 A 192.0.2.10']);
  const srv = await q('_http._tcp.example.org', 'SRV');
  assert.deepEqual(data(srv.answers), ['_http._tcp.example.org 3600 SRV {"priority":0,"weight":5,"port":80,"target":"www.example.org"}']);
  assert.deepEqual(data(srv.additionals), ['www.example.org 3600 AAAA 2001:db8::10', 'www.example.org 5400 A 192.0.2.10']);
  const ns = await q('example.org', 'NS');
  assert.deepEqual(data(ns.answers), ['example.org 3600 NS ns1.example.org']);
  assert.deepEqual(data(ns.authorities), []);
  assert.deepEqual(data(ns.additionals), ['ns1.example.org 3600 A 192.0.2.53']);
  const txt = await q('txt.example.org', 'TXT');
  assert.deepEqual(txt.answers.map((r) => (r.data as Buffer[]).map(String)), [['hello "world"', 'two']]);
});

test('NXDOMAIN and NODATA carry the SOA; empty non-terminals are NODATA', async () => {
  for (const [name, type, rcode] of [['nope.example.org', 'A', 'NXDOMAIN'], ['www.example.org', 'TXT', 'NOERROR'], ['b.c.example.org', 'A', 'NOERROR']] as const) {
    const r = await q(name, type);
    assert.equal(r.rcode, rcode, name);
    assert.equal(r.answers.length, 0, name);
    const soa = r.authorities.find((x) => x.type === 'SOA');
    assert.equal(soa?.name, 'example.org', name);
    assert.equal((soa!.data as { serial: number }).serial, 2024010101);
  }
});

test('$INCLUDE reads a file relative to the zone file, with its own origin, and the origin comes back after it', async () => {
  assert.deepEqual(data((await q('host.sub.example.org')).answers), ['host.sub.example.org 3600 A 192.0.2.40']);
  assert.deepEqual(data((await q('after.example.org')).answers), ['after.example.org 3600 A 192.0.2.30']);
});

test('reload: a new serial is published, an edit with the same serial is not, a broken file keeps the last good zone', async () => {
  writeFileSync(db, zone(2024010101, '192.0.2.99'));
  await new Promise((r) => setTimeout(r, 600));
  assert.deepEqual(data((await q('www.example.org')).answers), ['www.example.org 5400 A 192.0.2.10'], 'same serial: not reloaded');
  writeFileSync(db, zone(2024010102, '192.0.2.11'));
  await eventually(async () => assert.deepEqual(data((await q('www.example.org')).answers), ['www.example.org 5400 A 192.0.2.11']));
  await eventually(async () => assert.match(kdns.stdout(), /\[INFO\] plugin\/file: Successfully reloaded zone "example.org." in ".*db.example.org" with 2024010102 SOA serial/));
  writeFileSync(db, `${zone(2024010103, '192.0.2.12')}broken IN A 999.1.1.1\n`);
  await eventually(async () => assert.match(kdns.stdout(), /\[ERROR\] plugin\/file: reloading zone "example.org.": \/.*db.example.org:16: '999.1.1.1' is not an IPv4 address \(in 'broken IN A 999.1.1.1'\); serving the last good version/));
  assert.deepEqual(data((await q('www.example.org')).answers), ['www.example.org 5400 A 192.0.2.11']);
});

test('configuration errors name the Corefile and the zone file line', async () => {
  const d = tempDir();
  const write = (name: string, text: string): string => {
    writeFileSync(join(d, name), text);
    return join(d, name);
  };
  const soa = '@ IN SOA ns.example.org. h.example.org. 1 7200 1800 86400 300\n';
  const err = async (text: string): Promise<string> => (await configError(`example.org:1053 {\n    file ${write('db', text)}\n}\n`)).replaceAll(d, 'DIR');
  assert.match(await err(`${soa}www IN A 1.2.3\n`), /Corefile:2:10: DIR\/db:2: '1.2.3' is not an IPv4 address/);
  assert.match(await err('www IN A 192.0.2.1\n'), /DIR\/db:1: no SOA record at example.org.\n  hint: a zone starts with its SOA/);
  assert.match(await err(`${soa}www.other.test. IN A 192.0.2.1\n`), /DIR\/db:2: www.other.test. is outside the zone example.org./);
  assert.match(await err(`${soa}www IN TXT "open\n`), /DIR\/db:2: a quoted string runs past the end of the line/);
  assert.match(await err(`@ IN SOA ns.example.org. h.example.org. ( 1 7200\n`), /DIR\/db:1: '\(' is not closed/);
  assert.match(await err(`${soa}$GENERATE 1-3 h$ A 192.0.2.$\n`), /DIR\/db:2: unknown directive \$GENERATE/);
  assert.match(await configError('example.org:1053 {\n    file /nonexistent/db\n}\n'), /Corefile:2:10: \/nonexistent\/db:1: cannot read it: ENOENT/);
  assert.match(await configError('example.org:1053 {\n    file\n}\n'), /Corefile:2:5: file needs a zone file/);
});
