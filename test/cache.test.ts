// The cache plugin through the real CLI: in front of `records` (answers that never change, so
// caching shows in TTLs that count down) and in front of `forward` to the scriptable fault server
// (which counts the queries that get past the cache).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type QueryOptions, type Reply, encodeQuery, tcpQuery, udpQuery, udpRaw } from './helpers/dns-client.ts';
import { decodeReply } from './helpers/decode.ts';
import { type RunningServer, runCli, startServer, tempDir } from './helpers/server-process.ts';
import { type FaultServer, startFaultServer } from './upstream/fault-server.ts';
import { buildPlan } from '../src/config/plan.ts';
import { CorefileError, parseCorefile } from '../src/corefile/index.ts';
import type { CacheConfig } from '../src/plugins/cache/setup.ts';

const ttls = (r: Reply): number[] => [...r.answers, ...r.authorities, ...r.additionals].filter((a) => a.type !== 'OPT').map((a) => a.ttl);

/** A query with the CD bit set (the test client has no option for it). */
async function udpQueryCd(port: number, name: string, opts: QueryOptions = {}): Promise<Reply> {
  const msg = encodeQuery(name, opts);
  msg[3]! |= 0x10;
  const raw = await udpRaw(port, msg, 2000);
  if (!raw) throw new Error(`no answer for ${name}`);
  return decodeReply(raw);
}

/** Sends `names` in parallel batches; returns the replies in order. */
async function many(port: number, names: string[], batch = 200): Promise<Reply[]> {
  const out: Reply[] = [];
  for (let i = 0; i < names.length; i += batch) out.push(...(await Promise.all(names.slice(i, i + batch).map((n) => udpQuery(port, n)))));
  return out;
}

const SOA = (zone: string, ttl: number): string => `@ ${ttl} IN SOA ns.${zone}. admin.${zone}. 1 7200 1800 86400 ${ttl}`;

describe('cache in front of records', () => {
  let s: RunningServer;
  const first = new Map<string, Reply>();
  const evictNames = Array.from({ length: 2000 }, (_, i) => `n${i}.evict.test`);
  let evictFirst: Reply[] = [];

  before(async () => {
    s = await startServer(`
example.test:{PORT} {
    bind 127.0.0.1
    cache
    records {
        ${SOA('example.test', 30)}
        www  120 IN A 10.0.0.1
        www  100 IN A 10.0.0.2
        txt  60 IN TXT "hello"
    }
}
capped.test:{PORT} {
    bind 127.0.0.1
    cache 30 {
        success 9984 20 10
        denial 9984 8
    }
    records {
        ${SOA('capped.test', 60)}
        long  300 IN A 10.0.1.1
        short 2 IN A 10.0.1.2
        mid   25 IN A 10.0.1.3
    }
}
keep.test:{PORT} {
    bind 127.0.0.1
    cache {
        keepttl
    }
    records {
        ${SOA('keep.test', 30)}
        www 50 IN A 10.0.2.1
    }
}
zoned.test:{PORT} {
    bind 127.0.0.1
    cache in.zoned.test {
        disable success no.in.zoned.test
    }
    records {
        ${SOA('zoned.test', 30)}
        out     40 IN A 10.0.3.1
        a.in    40 IN A 10.0.3.2
        a.no.in 40 IN A 10.0.3.3
    }
}
evict.test:{PORT} {
    bind 127.0.0.1
    cache {
        denial 1024
    }
    records {
        ${SOA('evict.test', 30)}
    }
}
`, { workers: 1 });
    // First round: every entry is stored now; the tests look again a second later.
    const prime: Array<[string, string, QueryOptions]> = [
      ['www', 'WwW.ExAmple.TEST', { id: 4242 }],
      ['nx', 'nope.example.test', {}],
      ['nodata', 'txt.example.test', { type: 'AAAA' }],
      ['long', 'long.capped.test', {}],
      ['short', 'short.capped.test', {}],
      ['mid', 'mid.capped.test', {}],
      ['cappednx', 'nope.capped.test', {}],
      ['keep', 'www.keep.test', {}],
      ['out', 'out.zoned.test', {}],
      ['in', 'a.in.zoned.test', {}],
      ['no', 'a.no.in.zoned.test', {}],
      ['nonx', 'b.no.in.zoned.test', {}],
    ];
    for (const [k, name, opts] of prime) first.set(k, await udpQuery(s.port, name, opts));
    evictFirst = await many(s.port, evictNames);
    await sleep(1100);
  });
  after(async () => {
    await s.stop();
  });

  test('a hit comes from the cache: TTLs count down, the ID and the question are the client’s', async () => {
    const a = first.get('www')!;
    assert.equal(a.id, 4242);
    assert.equal(a.questions[0]!.name, 'WwW.ExAmple.TEST');
    // Every record gets the item's TTL: the lowest of the answer (CoreDNS).
    assert.deepEqual(ttls(a), [100, 100]);
    assert.ok(a.flag_aa);
    const b = await udpQuery(s.port, 'www.EXAMPLE.test', { id: 999 });
    assert.equal(b.id, 999);
    assert.equal(b.questions[0]!.name, 'www.EXAMPLE.test');
    assert.equal(b.answers[0]!.name, 'www.EXAMPLE.test');
    assert.deepEqual(b.answers.map((x) => x.data).sort(), ['10.0.0.1', '10.0.0.2']);
    assert.deepEqual(ttls(b), [99, 99]);
    assert.ok(b.flag_aa, 'the AA bit of the stored answer is kept');
    // TCP reaches the same per-worker cache.
    const t = await tcpQuery(s.port, 'www.example.test');
    assert.deepEqual(ttls(t), [99, 99]);
  });

  test('DO and CD are part of the key', async () => {
    const plain = await udpQuery(s.port, 'www.example.test');
    assert.deepEqual(ttls(plain), [99, 99]);
    const withDo = await udpQuery(s.port, 'www.example.test', { edns: { do: true } });
    assert.deepEqual(ttls(withDo), [100, 100], 'a DO query is an entry of its own');
    assert.equal(withDo.additionals.find((x) => x.type === 'OPT')?.flag_do, true);
    const withCd = await udpQueryCd(s.port, 'www.example.test');
    assert.deepEqual(ttls(withCd), [100, 100], 'so is a CD query');
    assert.ok(withCd.flag_cd);
  });

  test('NXDOMAIN and NODATA are cached for the SOA’s TTL', async () => {
    const nx = first.get('nx')!;
    assert.equal(nx.rcode, 'NXDOMAIN');
    assert.deepEqual(ttls(nx), [30]);
    const nx2 = await udpQuery(s.port, 'NOPE.example.test');
    assert.equal(nx2.rcode, 'NXDOMAIN');
    assert.deepEqual(ttls(nx2), [29]);
    assert.equal(nx2.authorities[0]!.type, 'SOA');
    const nd = first.get('nodata')!;
    assert.equal(nd.rcode, 'NOERROR');
    assert.deepEqual(ttls(nd), [30]);
    const nd2 = await udpQuery(s.port, 'txt.example.test', { type: 'AAAA' });
    assert.equal(nd2.answers.length, 0);
    assert.deepEqual(ttls(nd2), [29]);
  });

  test('cache TTL, success TTL and MINTTL, denial TTL', async () => {
    assert.deepEqual(ttls(first.get('long')!), [20], 'success TTL caps 300');
    assert.deepEqual(ttls(first.get('short')!), [10], 'MINTTL raises 2');
    assert.deepEqual(ttls(first.get('mid')!), [20], 'success TTL 20 overrides cache 30');
    assert.deepEqual(ttls(first.get('cappednx')!), [8], 'denial TTL caps the SOA');
    assert.deepEqual(ttls(await udpQuery(s.port, 'long.capped.test')), [19]);
    assert.deepEqual(ttls(await udpQuery(s.port, 'short.capped.test')), [9]);
    assert.deepEqual(ttls(await udpQuery(s.port, 'nope.capped.test')), [7]);
  });

  test('keepttl serves the item’s full TTL until it expires', async () => {
    assert.deepEqual(ttls(first.get('keep')!), [50]);
    assert.deepEqual(ttls(await udpQuery(s.port, 'www.keep.test')), [50]);
  });

  test('only the cache’s zones are cached; disable success leaves denial cached', async () => {
    assert.deepEqual(ttls(first.get('out')!), [40]);
    assert.deepEqual(ttls(await udpQuery(s.port, 'out.zoned.test')), [40], 'outside the cache zones');
    assert.deepEqual(ttls(await udpQuery(s.port, 'a.in.zoned.test')), [39]);
    assert.deepEqual(ttls(await udpQuery(s.port, 'a.no.in.zoned.test')), [40], 'success disabled there');
    const nx = await udpQuery(s.port, 'b.no.in.zoned.test');
    assert.equal(nx.rcode, 'NXDOMAIN');
    assert.deepEqual(ttls(nx), [29], 'denial still cached there');
  });

  test('capacity: 256 shards of at least 4 items, random eviction in a full shard', async () => {
    assert.ok(evictFirst.every((r) => r.rcode === 'NXDOMAIN' && ttls(r)[0] === 30));
    const again = await many(s.port, evictNames);
    const cached = again.filter((r) => ttls(r)[0] === 29).length;
    // Whatever was found cached was stored in the first round, so no more than the capacity
    // (1024) can be; with 2000 names most shards are full.
    assert.ok(cached <= 1024, `${cached} cached`);
    assert.ok(cached >= 300, `${cached} cached`);
  });
});

function plan(body: string): CacheConfig {
  const p = buildPlan(parseCorefile(`example.test:1053 {\n    ${body}\n    whoami\n}\n`, 'Corefile'), { defaultPort: 53 });
  return p.servers[0]!.plugins.find((x) => x.name === 'cache')!.config as CacheConfig;
}

function planError(body: string): string {
  try {
    plan(body);
  } catch (err) {
    if (err instanceof CorefileError) return err.message;
    throw err;
  }
  assert.fail(`no error for: ${body}`);
}

test('cache options: CoreDNS’s defaults, capacities in shards of 256', () => {
  const d = plan('cache');
  assert.deepEqual(d.zones, ['example.test.']);
  assert.deepEqual(d.success, { shardCapacity: 39, maxTtl: 3600, minTtl: 5 });
  assert.deepEqual(d.denial, { shardCapacity: 39, maxTtl: 1800, minTtl: 5 });
  assert.equal(d.servfailTtl, 5);
  assert.deepEqual([d.prefetchAmount, d.staleMs, d.verifyStale, d.keepTtl], [0, 0, false, false]);
  const c = plan('cache 300 a.example.test b.example.test {\n success 5000\n denial 100 60 0\n prefetch 3 30s 25%\n serve_stale\n servfail 0\n disable success c.example.test\n keepttl\n }');
  assert.deepEqual(c.zones, ['a.example.test.', 'b.example.test.']);
  assert.deepEqual(c.success, { shardCapacity: 19, maxTtl: 300, minTtl: 5 });
  assert.deepEqual(c.denial, { shardCapacity: 4, maxTtl: 60, minTtl: 0 }, 'capacity below 1024 is 1024');
  assert.deepEqual([c.prefetchAmount, c.prefetchWindowMs, c.prefetchPercentage], [3, 30_000, 25]);
  assert.deepEqual([c.staleMs, c.verifyStale, c.servfailTtl, c.keepTtl], [3_600_000, false, 0, true]);
  assert.deepEqual([c.noSuccess, c.noDenial], [['c.example.test.'], []]);
  const v = plan('cache {\n serve_stale 10m VERIFY\n disable denial\n }');
  assert.deepEqual([v.staleMs, v.verifyStale, v.noDenial], [600_000, true, ['.']]);
});

test('cache configuration errors name the file, line and column', async () => {
  const opt = (line: string): string => `cache {\n        ${line}\n    }`;
  const cases: Array<[string, RegExp]> = [
    ['cache 0', /^Corefile:2:11: cache TTL must be above zero, got 0/],
    [opt('success'), /^Corefile:3:9: success needs at least 1 argument\n  hint: usage: success CAPACITY \[TTL\] \[MINTTL\]/],
    [opt('denial 100 0'), /^Corefile:3:20: cache TTL must be above zero/],
    [opt('success 100 10 -1'), /^Corefile:3:24: -1 is out of range/],
    [opt('prefetch 2 10%'), /^Corefile:3:20: '10%' is not a duration/],
    [opt('prefetch 2 1m 5%'), /^Corefile:3:23: percentage 5% is out of range\n  hint: use a value from 10% to 90%/],
    [opt('prefetch 2 1m 50'), /^Corefile:3:23: '50' is not a percentage/],
    [opt('serve_stale 1h later'), /^Corefile:3:24: unknown serve_stale refresh mode 'later'\n  hint: use immediate or verify/],
    [opt('servfail 10m'), /^Corefile:3:18: SERVFAIL responses may not be cached for more than 5 minutes/],
    [opt('servfail -1s'), /^Corefile:3:18: '-1s' is a negative duration/],
    [opt('disable everything'), /^Corefile:3:17: cannot disable 'everything'/],
    [opt('keepttl now'), /^Corefile:3:17: too many arguments for keepttl/],
    [opt('frobnicate'), /^Corefile:3:9: unknown option 'frobnicate' for cache\n  hint: known options: success, denial, prefetch, serve_stale, servfail, disable, keepttl/],
    ['cache\n    cache 10', /^Corefile:3:5: plugin 'cache' is given twice in this server block/],
  ];
  for (const [body, re] of cases) assert.match(planError(body), re);
  // And through the CLI: one line on stderr, exit code 1.
  const dir = tempDir();
  const file = join(dir, 'Corefile');
  writeFileSync(file, '.:1053 {\n    cache {\n        prefetch 2 1m 5%\n    }\n    whoami\n}\n');
  const r = await runCli(['-conf', file, '-workers', '1']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `kdns: ${file}:3:23: percentage 5% is out of range\n  hint: use a value from 10% to 90%\n`);
});

describe('cache in front of forward', () => {
  let up: FaultServer;
  let s: RunningServer;
  before(async () => {
    up = await startFaultServer({ zone: 'test', negativeTtl: 7 });
    const fwd = `forward . ${up.address}`;
    s = await startServer(`
basic.test:{PORT} {
    bind 127.0.0.1
    cache
    ${fwd}
}
fail.test:{PORT} {
    bind 127.0.0.1
    cache {
        servfail 2s
        success 9984 3600 0
    }
    ${fwd}
}
dis.test:{PORT} {
    bind 127.0.0.1
    cache in.dis.test {
        disable denial nx.in.dis.test
        disable success ok.in.dis.test
    }
    ${fwd}
}
keep.test:{PORT} {
    bind 127.0.0.1
    cache {
        keepttl
    }
    ${fwd}
}
pre.test:{PORT} {
    bind 127.0.0.1
    cache {
        success 9984 3600 1
        prefetch 2 1m 50%
    }
    ${fwd}
}
stale.test:{PORT} {
    bind 127.0.0.1
    cache {
        success 9984 3600 1
        serve_stale
    }
    ${fwd}
}
verify.test:{PORT} {
    bind 127.0.0.1
    cache {
        success 9984 3600 1
        serve_stale 1h verify
    }
    ${fwd}
}
`, { workers: 1 });
  });
  after(async () => {
    await s.stop();
    await up.stop();
  });

  test('the second query is answered from the cache: same answer, TTL counting down, client’s ID and case', async () => {
    up.setRecords('www.basic.test', [{ type: 'A', ttl: 30, data: '10.1.0.1' }, { type: 'A', ttl: 40, data: '10.1.0.2' }]);
    const a = await udpQuery(s.port, 'WWW.Basic.Test', { id: 1234 });
    assert.equal(a.rcode, 'NOERROR');
    assert.deepEqual(ttls(a), [30, 30]);
    assert.equal(up.count('www.basic.test'), 1);
    await sleep(1100);
    const b = await udpQuery(s.port, 'www.BASIC.test', { id: 4321 });
    assert.equal(b.id, 4321);
    assert.equal(b.questions[0]!.name, 'www.BASIC.test');
    assert.deepEqual(b.answers.map((x) => x.data).sort(), ['10.1.0.1', '10.1.0.2']);
    assert.deepEqual(ttls(b), [29, 29]);
    assert.equal(up.count('www.basic.test'), 1, 'the upstream saw one query');
    // A DO query is an entry of its own, and the upstream sees its DO bit.
    const d = await udpQuery(s.port, 'www.basic.test', { edns: { do: true } });
    assert.deepEqual(ttls(d), [30, 30]);
    assert.equal(up.count('www.basic.test'), 2);
    assert.equal(up.queries({ name: 'www.basic.test' })[1]!.do, true);
    await udpQuery(s.port, 'www.basic.test', { edns: { do: true } });
    assert.equal(up.count('www.basic.test'), 2);
  });

  test('NXDOMAIN and NODATA are cached for the SOA’s TTL', async () => {
    up.setRecords('nodata.basic.test', []);
    const nx = await udpQuery(s.port, 'nx.basic.test');
    assert.equal(nx.rcode, 'NXDOMAIN');
    assert.deepEqual(ttls(nx), [7]);
    const nd = await udpQuery(s.port, 'nodata.basic.test');
    assert.equal(nd.rcode, 'NOERROR');
    assert.deepEqual(ttls(nd), [7]);
    for (let i = 0; i < 3; i++) {
      assert.equal((await udpQuery(s.port, 'nx.basic.test')).rcode, 'NXDOMAIN');
      assert.equal((await udpQuery(s.port, 'nodata.basic.test')).answers.length, 0);
    }
    assert.equal(up.count('nx.basic.test'), 1);
    assert.equal(up.count('nodata.basic.test'), 1);
  });

  test('a truncated answer is not cached; a full one is, and each client gets what fits', async () => {
    // UDP answer truncated, and the TCP retry fails: forward relays the truncated answer.
    up.behave('truncate', { name: 'tc.basic.test', times: 1 });
    up.behave('close');
    const tc = await udpQuery(s.port, 'tc.basic.test');
    up.reset();
    assert.ok(tc.flag_tc);
    const again = await udpQuery(s.port, 'tc.basic.test');
    assert.ok(!again.flag_tc);
    assert.equal(up.count('tc.basic.test'), 1, 'asked again (the log was reset): the truncated answer was not cached');
    // 40 A records: more than a client without EDNS takes over UDP.
    up.large('big.basic.test');
    const small = await udpQuery(s.port, 'big.basic.test');
    assert.ok(small.flag_tc);
    const asked = up.count('big.basic.test');
    const full = await tcpQuery(s.port, 'big.basic.test');
    assert.equal(full.answers.length, 40);
    assert.equal(up.count('big.basic.test'), asked, 'the TCP retry is a cache hit');
  });

  test('a SERVFAIL from the upstream is cached for the servfail duration; TTL 0 is not cached with MINTTL 0', async () => {
    up.behave('rcode SERVFAIL', { name: 'sf.fail.test' });
    assert.equal((await udpQuery(s.port, 'sf.fail.test')).rcode, 'SERVFAIL');
    assert.equal((await udpQuery(s.port, 'sf.fail.test')).rcode, 'SERVFAIL');
    assert.equal(up.count('sf.fail.test'), 1);
    up.setRecords('zero.fail.test', [{ type: 'A', ttl: 0, data: '10.2.0.1' }]);
    await udpQuery(s.port, 'zero.fail.test');
    await udpQuery(s.port, 'zero.fail.test');
    assert.equal(up.count('zero.fail.test'), 2);
    up.behave('answer', { name: 'sf.fail.test' });
    await sleep(2100);
    assert.equal((await udpQuery(s.port, 'sf.fail.test')).rcode, 'NXDOMAIN', 'asked again once 2s are over');
    assert.equal(up.count('sf.fail.test'), 2);
  });

  test('zones and disable: outside names and disabled classes reach the upstream every time', async () => {
    up.setRecords('a.dis.test', [{ type: 'A', data: '10.3.0.1' }]);
    up.setRecords('a.in.dis.test', [{ type: 'A', data: '10.3.0.2' }]);
    up.setRecords('a.ok.in.dis.test', [{ type: 'A', data: '10.3.0.3' }]);
    for (const n of ['a.dis.test', 'a.in.dis.test', 'x.nx.in.dis.test', 'a.ok.in.dis.test', 'x.ok.in.dis.test']) {
      await udpQuery(s.port, n);
      await udpQuery(s.port, n);
    }
    assert.equal(up.count('a.dis.test'), 2, 'outside the cache zone');
    assert.equal(up.count('a.in.dis.test'), 1);
    assert.equal(up.count('x.nx.in.dis.test'), 2, 'denial disabled');
    assert.equal(up.count('a.ok.in.dis.test'), 2, 'success disabled');
    assert.equal(up.count('x.ok.in.dis.test'), 1, 'denial still cached where success is disabled');
  });

  test('keepttl: the full TTL while cached', async () => {
    up.setRecords('www.keep.test', [{ type: 'A', ttl: 20, data: '10.4.0.1' }]);
    await udpQuery(s.port, 'www.keep.test');
    await sleep(1100);
    const r = await udpQuery(s.port, 'www.keep.test');
    assert.deepEqual(ttls(r), [20]);
    assert.equal(up.count('www.keep.test'), 1);
  });

  test('prefetch: a popular item is refreshed before it expires while clients keep hitting it', async () => {
    up.setRecords('hot.pre.test', [{ type: 'A', ttl: 4, data: '10.5.0.1' }]);
    const t0 = Date.now();
    await udpQuery(s.port, 'hot.pre.test');
    const seen: number[] = [];
    // Hits every 250 ms; at 2 s the TTL is down to 2 (50% of 4) and the hit prefetches.
    while (Date.now() - t0 < 3200) {
      await sleep(250);
      const r = await udpQuery(s.port, 'hot.pre.test');
      assert.equal(r.answers.length, 1);
      seen.push(ttls(r)[0]!);
    }
    const queries = up.queries({ name: 'hot.pre.test' });
    assert.equal(queries.length, 2, `one prefetch (TTLs seen: ${seen.join(' ')})`);
    const refreshedAt = queries[1]!.time - queries[0]!.time;
    assert.ok(refreshedAt >= 1900 && refreshedAt < 4000, `prefetched after ${refreshedAt} ms, before the item expired`);
    assert.ok(Math.min(...seen) >= 1, `never expired in between (${seen.join(' ')})`);
    assert.ok(seen.at(-1)! >= 3, `the refreshed item counts down from 4 again (${seen.join(' ')})`);
  });

  test('serve_stale immediate: an expired item is served with TTL 0 at once while it is refreshed', async () => {
    up.setRecords('s.stale.test', [{ type: 'A', ttl: 1, data: '10.6.0.1' }]);
    await udpQuery(s.port, 's.stale.test');
    await sleep(1100);
    up.behave('drop', { name: 's.stale.test' });
    const t0 = Date.now();
    const r = await udpQuery(s.port, 's.stale.test');
    assert.ok(Date.now() - t0 < 1000, 'not waiting for the upstream');
    assert.equal(r.rcode, 'NOERROR');
    assert.equal(r.answers[0]!.data, '10.6.0.1');
    assert.deepEqual(ttls(r), [0]);
    await sleep(100);
    assert.equal(up.count('s.stale.test'), 2, 'the refresh went out');
  });

  test('serve_stale verify: asks first, serves stale only when the refresh fails', async () => {
    up.setRecords('v.verify.test', [{ type: 'A', ttl: 1, data: '10.7.0.1' }]);
    await udpQuery(s.port, 'v.verify.test');
    await sleep(1100);
    up.behave('rcode SERVFAIL', { name: 'v.verify.test' });
    const stale = await udpQuery(s.port, 'v.verify.test');
    assert.equal(up.count('v.verify.test'), 2, 'verified with the upstream first');
    assert.equal(stale.rcode, 'NOERROR');
    assert.equal(stale.answers[0]!.data, '10.7.0.1');
    assert.deepEqual(ttls(stale), [0]);
    up.reset();
    up.setRecords('v.verify.test', [{ type: 'A', ttl: 30, data: '10.7.0.2' }]);
    const fresh = await udpQuery(s.port, 'v.verify.test');
    assert.equal(fresh.answers[0]!.data, '10.7.0.2');
    assert.deepEqual(ttls(fresh), [30]);
    assert.equal(up.count('v.verify.test'), 1);
    await udpQuery(s.port, 'v.verify.test');
    assert.equal(up.count('v.verify.test'), 1, 'the verified answer was cached');
  });
});
