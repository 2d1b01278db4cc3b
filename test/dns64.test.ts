// dns64 end to end: the real CLI forwarding to an upstream in this process, queried over UDP from
// ::1 and 127.0.0.1. Expected answers as CoreDNS 1.12.2's on the same upstream (run side by side
// while this was written: identical).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { udpQuery } from './helpers/dns-client.ts';
import type { Reply } from './helpers/decode.ts';
import { type RunningServer, configError, freePort, startServer } from './helpers/server-process.ts';
import { scrapeMetrics } from './helpers/scrape.ts';
import { startFaultServer, type FaultServer } from './upstream/fault-server.ts';

let upstream: FaultServer;
let plain: RunningServer;
let options: RunningServer;
let metricsPort: number;

before(async () => {
  upstream = await startFaultServer({ zone: 'test', negativeTtl: 30 });
  upstream.setRecords('v4only.test', [{ type: 'A', ttl: 300, data: '192.0.2.1' }, { type: 'A', ttl: 20, data: '192.0.2.2' }]);
  upstream.setRecords('both.test', [{ type: 'A', ttl: 60, data: '192.0.2.3' }, { type: 'AAAA', ttl: 60, data: '2001:db8::3' }]);
  upstream.setRecords('alias.test', [{ type: 'CNAME', ttl: 60, data: 'v4only.test' }]);
  upstream.setRecords('empty.test', []);
  metricsPort = await freePort();
  plain = await startServer(`.:{PORT} {\n    prometheus 127.0.0.1:${metricsPort}\n    dns64\n    forward . ${upstream.address}\n}\n`, { workers: 2 });
  options = await startServer(`.:{PORT} {\n    dns64 {\n        prefix 64:ff9b:1::/48\n        translate_all\n        allow_ipv4\n    }\n    forward . ${upstream.address}\n}\n`, { workers: 1 });
});

after(async () => {
  await plain?.stop();
  await options?.stop();
  await upstream?.stop();
});

const q = (s: RunningServer, name: string, type: string, from?: string): Promise<Reply> => udpQuery(s.port, name, { type, from });
const data = (r: Reply): string[] => r.answers.map((a) => `${a.name} ${a.ttl} ${a.type} ${a.data as string}`);

test('an IPv6 client asking AAAA of an IPv4-only name: AAAA under 64:ff9b::/96, TTL at most the SOA\'s', async () => {
  const r = await q(plain, 'v4only.test', 'AAAA', '::1');
  assert.equal(r.rcode, 'NOERROR');
  // The upstream's NODATA carried an SOA of TTL 30: the first record's 300 s is cut to it.
  assert.deepEqual(data(r), ['v4only.test 30 AAAA 64:ff9b::c000:201', 'v4only.test 20 AAAA 64:ff9b::c000:202']);
  assert.equal(r.flag_aa, false, 'a reply made here, as CoreDNS makes it');
});

test('answers that need nothing pass through: real AAAA, NXDOMAIN, other types, IPv4 clients', async () => {
  assert.deepEqual(data(await q(plain, 'both.test', 'AAAA', '::1')), ['both.test 60 AAAA 2001:db8::3']);
  const nx = await q(plain, 'nx.test', 'AAAA', '::1');
  assert.equal(nx.rcode, 'NXDOMAIN');
  assert.equal(nx.authorities[0]?.type, 'SOA');
  assert.deepEqual(data(await q(plain, 'v4only.test', 'A', '::1')), ['v4only.test 300 A 192.0.2.1', 'v4only.test 20 A 192.0.2.2']);
  const v4 = await q(plain, 'v4only.test', 'AAAA', '127.0.0.1');
  assert.deepEqual(v4.answers, [], 'without allow_ipv4 an IPv4 client gets the NODATA');
  assert.equal(v4.authorities[0]?.type, 'SOA');
});

test('a name without A records either: the A answer (empty), and CNAMEs are kept', async () => {
  const empty = await q(plain, 'empty.test', 'AAAA', '::1');
  assert.equal(empty.rcode, 'NOERROR');
  assert.deepEqual(empty.answers, []);
  const alias = await q(plain, 'alias.test', 'AAAA', '::1');
  assert.deepEqual(data(alias), ['alias.test 60 CNAME v4only.test']);
});

test('prefix /48 (the u octet skipped, RFC 6052), translate_all, allow_ipv4', async () => {
  assert.deepEqual(data(await q(options, 'v4only.test', 'AAAA', '127.0.0.1')), ['v4only.test 30 AAAA 64:ff9b:1:c000:2:100::', 'v4only.test 20 AAAA 64:ff9b:1:c000:2:200::']);
  // translate_all: the real AAAA is replaced by the synthesized one.
  assert.deepEqual(data(await q(options, 'both.test', 'AAAA', '::1')), ['both.test 60 AAAA 64:ff9b:1:c000:2:300::']);
});

test('coredns_dns64_requests_translated_total counts synthesized answers only', async () => {
  const before = (await scrapeMetrics(metricsPort)).sum('coredns_dns64_requests_translated_total');
  await q(plain, 'v4only.test', 'AAAA', '::1');
  await q(plain, 'both.test', 'AAAA', '::1');
  await q(plain, 'v4only.test', 'AAAA', '127.0.0.1');
  assert.equal((await scrapeMetrics(metricsPort)).sum('coredns_dns64_requests_translated_total') - before, 1);
});

test('dns64 config errors name the file and line', async () => {
  const cases: Array<[string, RegExp]> = [
    ['dns64 10.0.0.0/8', /Corefile:2:\d+: '10.0.0.0\/8' is not an IPv6 prefix/],
    ['dns64 64:ff9b::/100', /Corefile:2:\d+: invalid prefix length 100/],
    ['dns64 64:ff9b::/96 64:ff9b::/96', /Corefile:2:\d+: too many arguments for dns64.*usage: dns64/s],
    ['dns64 {\n        prefix\n    }', /Corefile:3:\d+: .*prefix PREFIX/s],
    ['dns64 {\n        translate\n    }', /Corefile:3:\d+: unknown option 'translate' for dns64/],
  ];
  for (const [line, re] of cases) assert.match(await configError(`.:1053 {\n    ${line}\n    whoami\n}\n`), re, line);
});
