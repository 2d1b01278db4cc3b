// Record table: entries written by the primary's writer, read and answered by the worker path,
// checked by decoding the produced wire messages with dns-packet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import { decodeReply } from './helpers/decode.ts';
import { Query, parseQuery, PARSE_OK } from '../src/dns/query.ts';
import { ResponseWriter, TCP_PREFIX } from '../src/dns/response.ts';
import { TableWriter } from '../src/table/writer.ts';
import { TableReader } from '../src/table/reader.ts';
import { answerFromTable } from '../src/table/answer.ts';
import { ZoneMatcher } from '../src/table/zone-match.ts';
import { RecordStore, defaultSoa } from '../src/table/record-store.ts';
import type { RR } from '../src/table/entry.ts';
import { nameToWire } from '../src/dns/name.ts';

const zone = 'example.test.';
const records: RR[] = [
  { name: 'www.example.test.', type: 'A', ttl: 30, data: '10.0.0.1' },
  { name: 'www.example.test.', type: 'A', ttl: 30, data: '10.0.0.2' },
  { name: 'www.example.test.', type: 'AAAA', ttl: 30, data: 'fd00::1' },
  { name: 'alias.example.test.', type: 'CNAME', ttl: 30, data: 'www.example.test.' },
  { name: 'out.example.test.', type: 'CNAME', ttl: 30, data: 'elsewhere.org.' },
  { name: '_http._tcp.svc.ns.example.test.', type: 'SRV', ttl: 30, data: { priority: 0, weight: 100, port: 80, target: 'www.example.test.' } },
  { name: 'txt.example.test.', type: 'TXT', ttl: 30, data: ['hello world'] },
];

function setup() {
  const writer = new TableWriter();
  const store = new RecordStore(writer, [defaultSoa(zone, 5, 1)]);
  store.set('static', records);
  store.flush();
  writer.setReady(true);
  const reader = new TableReader(writer.buffer);
  writer.onSwap = (sab) => reader.attach(sab);
  return { writer, reader, store };
}

/** A repeatable integer in [0, n) per call (a linear congruential generator), for the random tests. */
function seededRand(seed: number): (n: number) => number {
  return (n) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
}

function ask(reader: TableReader, name: string, type: string, opts: { edns?: boolean; tcp?: boolean; zones?: string[] } = {}) {
  const msg = dnsPacket.encode({
    id: 4242, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: type as 'A', class: 'IN' }],
    additionals: opts.edns ? [{ type: 'OPT', name: '.', udpPayloadSize: 4096, flags: 0 } as never] : [],
  });
  const q = new Query();
  assert.equal(parseQuery(msg, msg.length, q), PARSE_OK);
  q.tcp = opts.tcp ?? false;
  const w = new ResponseWriter();
  const zones = new ZoneMatcher(opts.zones ?? [zone]);
  const z = zones.match(q);
  assert.ok(z >= 0, 'query in zone');
  answerFromTable(reader, zones, z, q, w);
  const len = w.finish(q);
  return decodeReply(Buffer.from(w.buf.subarray(TCP_PREFIX, TCP_PREFIX + len)));
}

test('A records, question echoed with its case, AA set', () => {
  const { reader } = setup();
  const r = ask(reader, 'WWW.Example.TEST', 'A');
  assert.equal(r.id, 4242);
  assert.equal(r.rcode, 'NOERROR');
  assert.equal(r.questions[0]!.name, 'WWW.Example.TEST');
  assert.ok(r.flag_aa);
  assert.ok(r.flag_rd);
  assert.deepEqual(r.answers.map((a) => a.data as string).sort(), ['10.0.0.1', '10.0.0.2']);
});

test('NODATA carries the SOA, NXDOMAIN carries the SOA, empty non-terminal is NODATA', () => {
  const { reader } = setup();
  const nodata = ask(reader, 'txt.example.test', 'A');
  assert.equal(nodata.rcode, 'NOERROR');
  assert.equal(nodata.answers!.length, 0);
  assert.equal(nodata.authorities![0]!.type, 'SOA');
  const nx = ask(reader, 'nope.deeper.example.test', 'A');
  assert.equal(nx.rcode, 'NXDOMAIN');
  assert.equal(nx.authorities![0]!.type, 'SOA');
  assert.equal(nx.authorities![0]!.name.toLowerCase(), 'example.test');
  assert.equal((nx.authorities![0] as { data: { mname: string; rname: string } }).data.mname, 'ns.dns.example.test');
  assert.equal((nx.authorities![0] as { data: { mname: string; rname: string } }).data.rname, 'hostmaster.example.test');
  const ent = ask(reader, 'ns.example.test', 'A');
  assert.equal(ent.rcode, 'NOERROR');
  assert.equal(ent.answers!.length, 0);
});

test('CNAME chased inside the zone, not outside; SRV gets additional addresses', () => {
  const { reader } = setup();
  const c = ask(reader, 'alias.example.test', 'A');
  assert.deepEqual(c.answers!.map((a) => a.type), ['CNAME', 'A', 'A']);
  const o = ask(reader, 'out.example.test', 'A');
  assert.deepEqual(o.answers!.map((a) => a.type), ['CNAME']);
  const s = ask(reader, '_http._tcp.svc.ns.example.test', 'SRV');
  assert.equal((s.answers![0] as { data: { port: number } }).data.port, 80);
  assert.deepEqual(s.additionals!.map((a) => a.type).sort(), ['A', 'A', 'AAAA']);
});

test('ANY gets the RFC 8482 HINFO only', () => {
  const { reader } = setup();
  const r = ask(reader, 'www.example.test', 'ANY');
  assert.equal(r.answers!.length, 1);
  assert.equal(r.answers![0]!.type, 'HINFO');
});

test('updates, removals and growth into new buffers stay visible to the reader', () => {
  const { writer, reader, store } = setup();
  for (let i = 0; i < 5000; i++) {
    store.set(`host${i}`, [{ name: `h${i}.example.test.`, type: 'A', ttl: 5, data: `10.1.${i >> 8}.${i & 255}` }]);
    store.flush();
  }
  assert.ok(writer.stats().swaps > 0, 'table grew into a new buffer');
  const r = ask(reader, 'h4321.example.test', 'A');
  assert.equal(r.answers[0]!.data, '10.1.16.225');
  store.remove('host4321');
  store.flush();
  assert.equal(ask(reader, 'h4321.example.test', 'A').rcode, 'NXDOMAIN');
  assert.equal(ask(reader, 'www.example.test', 'A').rcode, 'NOERROR');
});

test('incremental changes rebuild dependents and empty non-terminals', () => {
  const { reader, store } = setup();
  // The SRV's additional section follows the target's addresses when only the target changes.
  store.set('www', [{ name: 'www.example.test.', type: 'A', ttl: 30, data: '10.0.0.99' }]);
  store.set('static', records.filter((r) => r.name !== 'www.example.test.'));
  store.flush();
  const s = ask(reader, '_http._tcp.svc.ns.example.test', 'SRV');
  assert.deepEqual(s.additionals.map((a) => a.data), ['10.0.0.99']);
  // Removing the only name below an empty non-terminal removes the non-terminal too.
  assert.equal(ask(reader, 'ns.example.test', 'A').rcode, 'NOERROR');
  store.set('static', records.filter((r) => r.name !== 'www.example.test.' && !r.name.includes('svc.ns')));
  store.flush();
  assert.equal(ask(reader, 'ns.example.test', 'A').rcode, 'NXDOMAIN');
  assert.equal(ask(reader, 'svc.ns.example.test', 'A').rcode, 'NXDOMAIN');
  // Two owners contributing to one name: removing one keeps the other's records.
  store.set('extra', [{ name: 'www.example.test.', type: 'A', ttl: 30, data: '10.0.0.100' }]);
  store.flush();
  assert.deepEqual(ask(reader, 'www.example.test', 'A').answers.map((a) => a.data).sort(), ['10.0.0.100', '10.0.0.99']);
  store.remove('www');
  store.flush();
  assert.deepEqual(ask(reader, 'www.example.test', 'A').answers.map((a) => a.data), ['10.0.0.100']);
  // The apex stays with its SOA when everything else is gone.
  for (const o of ['static', 'extra']) store.remove(o);
  store.flush();
  assert.equal(ask(reader, 'example.test', 'SOA').answers[0]!.type, 'SOA');
  assert.equal(ask(reader, 'www.example.test', 'A').rcode, 'NXDOMAIN');
});

test('a record set too big for one DNS message keeps the records that fit, additional ones first to go', () => {
  const { reader, store } = setup();
  const big: RR[] = [];
  for (let i = 0; i < 3000; i++) {
    const host = `host-${i}.big.example.test.`;
    big.push({ name: 'big.example.test.', type: 'A', ttl: 5, data: `10.1.${i >> 8}.${i & 255}` });
    big.push({ name: host, type: 'A', ttl: 5, data: `10.1.${i >> 8}.${i & 255}` });
    big.push({ name: '_http._tcp.big.example.test.', type: 'SRV', ttl: 5, data: { priority: 0, weight: 1, port: 80, target: host } });
  }
  store.set('big', big);
  store.flush();
  const a = ask(reader, 'big.example.test', 'A', { tcp: true });
  assert.equal(a.answers.length, 3000, '3000 A records (about 48 KB) fit');
  const srv = ask(reader, '_http._tcp.big.example.test', 'SRV', { tcp: true });
  assert.ok(srv.answers.length > 1000 && srv.answers.length < 3000, `SRV answers cut to fit: ${srv.answers.length}`);
  assert.equal(srv.additionals.filter((r) => r.type === 'A').length, 0, 'no room left for additional addresses');
  assert.ok(srv.raw.length <= 65535);
  for (const r of srv.answers) assert.match(r.data.target, /^host-\d+\.big\.example\.test$/, 'every target decodes (no pointer into dropped bytes)');
});

test('names are compressed against the question and earlier names, whatever their length or bytes', () => {
  const writer = new TableWriter();
  const zones = [zone, 'ip6.arpa.'];
  const store = new RecordStore(writer, zones.map((z) => defaultSoa(z, 5, 1)));
  // A 34-label PTR owner: more suffixes than the encoder scans before it indexes them.
  const ptr = `${'1.0.0.0.'.repeat(7)}0.0.d.f.ip6.arpa.`;
  const rrs: RR[] = [{ name: ptr, type: 'PTR', ttl: 5, data: 'pod.example.test.' }];
  // 40 SRV targets (the index path again, inside one variant) with their addresses, and a
  // UTF-8 label (its suffixes are measured in bytes, not characters).
  for (let i = 0; i < 40; i++) {
    rrs.push({ name: '_dns._udp.many.example.test.', type: 'SRV', ttl: 5, data: { priority: 0, weight: 2, port: 53, target: `t${i}.many.example.test.` } });
    rrs.push({ name: `t${i}.many.example.test.`, type: 'A', ttl: 5, data: `10.2.0.${i}` });
  }
  rrs.push({ name: 'größe.example.test.', type: 'CNAME', ttl: 5, data: 'www.größe.example.test.' });
  rrs.push({ name: 'www.größe.example.test.', type: 'A', ttl: 5, data: '10.3.0.1' });
  store.set('s', rrs);
  store.flush();
  writer.setReady(true);
  const reader = new TableReader(writer.buffer);

  const p = ask(reader, ptr, 'PTR', { zones });
  assert.deepEqual(p.answers.map((r) => [r.name, r.data]), [[ptr.slice(0, -1), 'pod.example.test']]);
  // Owner a pointer to the question (2 bytes), target written out (no common suffix).
  assert.equal(p.raw.length, 12 + ptr.length + 1 + 4 + 2 + 10 + 'pod.example.test.'.length + 1);

  const srv = ask(reader, '_dns._udp.many.example.test', 'SRV', { zones, tcp: true });
  assert.equal(srv.answers.length, 40);
  assert.deepEqual(srv.answers.map((r) => r.data.target).sort(), Array.from({ length: 40 }, (_, i) => `t${i}.many.example.test`).sort());
  assert.deepEqual(srv.additionals.filter((r) => r.type === 'A').map((r) => [r.name, r.data]).sort(),
    Array.from({ length: 40 }, (_, i) => [`t${i}.many.example.test`, `10.2.0.${i}`]).sort());
  // Each additional owner is a pointer to its SRV target (RFC 2782 keeps the target itself
  // uncompressed): 2 + 10 + 4 bytes an A record.
  const additionalBytes = srv.additionals.filter((r) => r.type === 'A').length * 16;
  const answerBytes = srv.raw.length - 12 - ('_dns._udp.many.example.test.'.length + 1 + 4) - additionalBytes;
  assert.equal(answerBytes, srv.answers.reduce((n, r) => n + 2 + 10 + 6 + r.data.target.length + 2, 0), 'answer owners are pointers, targets written out');

  const c = ask(reader, 'größe.example.test', 'A', { zones });
  assert.deepEqual(c.answers.map((r) => [r.type, r.data]), [['CNAME', 'www.größe.example.test'], ['A', '10.3.0.1']]);
});

test('empty non-terminals follow random adds and removes at every depth (RFC 8020: NODATA above a name, NXDOMAIN where nothing is)', () => {
  const { reader, store } = setup();
  // A small tree, so owners collide on names and on ancestors: 3 labels at each of 3 depths.
  const labels = ['a', 'b', 'c'];
  const names: string[] = [];
  for (const x of labels) {
    names.push(`${x}.${zone}`);
    for (const y of labels) {
      names.push(`${y}.${x}.${zone}`);
      for (const z of labels) names.push(`${z}.${y}.${x}.${zone}`);
    }
  }
  const rand = seededRand(7);
  const held = new Map<string, string[]>(); // owner -> names it holds records at
  for (let step = 0; step < 400; step++) {
    const owner = `o${rand(6)}`;
    if (rand(3) === 0) {
      store.remove(owner);
      held.delete(owner);
    } else {
      const mine = [...new Set(Array.from({ length: 1 + rand(3) }, () => names[rand(names.length)]!))];
      store.set(owner, mine.map((name, i) => ({ name, type: 'A', ttl: 30, data: `10.0.${step % 250}.${i + 1}` })));
      held.set(owner, mine);
    }
    store.flush();
    const withRecords = new Set([...held.values()].flat());
    for (const name of names) {
      const here = withRecords.has(name);
      const below = [...withRecords].some((n) => n.endsWith(`.${name}`));
      const r = ask(reader, name, 'A');
      const want = here ? 'NOERROR with records' : below ? 'NOERROR without records' : 'NXDOMAIN';
      const got = r.rcode === 'NXDOMAIN' ? 'NXDOMAIN' : r.answers.length > 0 ? 'NOERROR with records' : 'NOERROR without records';
      assert.equal(got, want, `step ${step}: ${name}`);
    }
  }
});

// Written leaves leave the store's map and are found again through the table's owner tags
// (RecordStore.entry): random changes (owners sharing names, SRVs whose additional section
// follows other owners' addresses, records the store drops and regenerates, removed owners'
// numbers reused, several changes per flush, before and after the table is ready) must answer
// exactly as a store built in one go from the same final state.
test('a store changed at random answers like one built from its final state', () => {
  const labels = ['a', 'b', 'c', 'd'];
  const names = labels.flatMap((x) => [`${x}.${zone}`, ...labels.map((y) => `${y}.${x}.${zone}`)]);
  const rand = seededRand(11);
  const recordsFor = (owner: string, step: number): RR[] => {
    const out: RR[] = [];
    for (let k = 0, n = 1 + rand(3); k < n; k++) {
      const name = names[rand(names.length)]!;
      if (rand(4) === 0) out.push({ name, type: 'SRV', ttl: 30, data: { priority: 0, weight: 10, port: 80 + k, target: names[rand(names.length)]! } });
      else out.push({ name, type: 'A', ttl: 30, data: `10.${owner.length}.${step % 250}.${k + 1}` });
    }
    return out;
  };
  for (const readyFirst of [false, true]) {
    const writer = new TableWriter();
    const store = new RecordStore(writer, [defaultSoa(zone, 5, 1)]);
    if (readyFirst) writer.setReady(true);
    const reader = new TableReader(writer.buffer);
    writer.onSwap = (sab) => reader.attach(sab);
    const held = new Map<string, RR[]>(); // owner -> its records, in the order set
    for (let step = 0; step < 300; step++) {
      const owner = `o${rand(8)}`;
      if (rand(3) === 0) {
        store.remove(owner);
        held.delete(owner);
      } else {
        const rrs = recordsFor(owner, step);
        // Half the owners can make their records again: the store keeps none of those.
        store.set(owner, rrs, [], rand(2) === 0 ? () => rrs : undefined);
        held.delete(owner);
        held.set(owner, rrs);
      }
      if (rand(3) !== 0) continue; // several changes per flush
      store.flush();
      writer.setReady(true);
      const fresh = new TableWriter();
      const ref = new RecordStore(fresh, [defaultSoa(zone, 5, 1)]);
      for (const [o, rrs] of held) ref.set(o, rrs);
      ref.flush();
      fresh.setReady(true);
      const refReader = new TableReader(fresh.buffer);
      for (const name of names) {
        for (const type of ['A', 'SRV']) {
          const got = ask(reader, name, type);
          const want = ask(refReader, name, type);
          const view = (r: typeof got) => ({
            rcode: r.rcode,
            answers: r.answers.map((a) => JSON.stringify(a.data)).sort(),
            additionals: r.additionals.map((a) => JSON.stringify(a.data)).sort(),
          });
          assert.deepEqual(view(got), view(want), `ready first ${readyFirst}, step ${step}: ${name} ${type}`);
        }
      }
    }
  }
});

// An owner's SRV on its own target is not counted as a dependent (RecordStore.depend): it changes
// with the owner. Once another owner has addresses at that target too, the SRV's additional
// section must follow that owner's changes (RecordStore.shareTarget).
test("an SRV on its owner's own name follows a second owner's addresses at that name", () => {
  for (const regenerate of [false, true]) {
    const writer = new TableWriter();
    const store = new RecordStore(writer, [defaultSoa(zone, 5, 1)]);
    writer.setReady(true);
    const reader = new TableReader(writer.buffer);
    writer.onSwap = (sab) => reader.attach(sab);
    const target = `svc.${zone}`;
    const own: RR[] = [
      { name: target, type: 'A', ttl: 30, data: '10.0.0.1' },
      { name: `_http._tcp.${target}`, type: 'SRV', ttl: 30, data: { priority: 0, weight: 100, port: 80, target } },
    ];
    store.set('a', own, [], regenerate ? () => own : undefined);
    store.flush();
    const additional = (): string[] => ask(reader, `_http._tcp.${target}`, 'SRV').additionals.map((r) => String(r.data)).sort();
    assert.deepEqual(additional(), ['10.0.0.1']);
    for (const [step, addresses] of [['joins', ['10.0.0.2']], ['changes', ['10.0.0.3']], ['grows', ['10.0.0.3', '10.0.0.4']]] as const) {
      store.set('b', addresses.map((data) => ({ name: target, type: 'A', ttl: 30, data })));
      store.flush();
      assert.deepEqual(additional(), ['10.0.0.1', ...addresses], `regenerate ${regenerate}: b ${step}`);
    }
    store.remove('b');
    store.flush();
    assert.deepEqual(additional(), ['10.0.0.1'], `regenerate ${regenerate}: b gone`);
    // Joining again after leaving: counted once more, not twice (a removal of a finds them all).
    store.set('b', [{ name: target, type: 'A', ttl: 30, data: '10.0.0.9' }]);
    store.flush();
    assert.deepEqual(additional(), ['10.0.0.1', '10.0.0.9'], `regenerate ${regenerate}: b back`);
    store.set('a', own.slice(0, 1));
    store.flush();
    assert.equal(ask(reader, `_http._tcp.${target}`, 'SRV').rcode, 'NXDOMAIN', `regenerate ${regenerate}: a's SRV gone`);
    store.set('b', [{ name: target, type: 'A', ttl: 30, data: '10.0.0.8' }]);
    store.flush();
    assert.deepEqual(ask(reader, target, 'A').answers.map((r) => String(r.data)).sort(), ['10.0.0.1', '10.0.0.8']);
  }
});
