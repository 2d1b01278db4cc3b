// loop: the probe query kdns sends itself at start-up; more than two arrivals is a forwarding
// loop and stops the server with exit code 1. Through the real CLI (forwarding to itself, or to a
// relay that sends every query back), and the two halves of the plugin in this process.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { udpQuery } from './helpers/dns-client.ts';
import { type RunningServer, configError, freePort, spawnCli, startServer, tempDir } from './helpers/server-process.ts';
import { type FaultServer, startFaultServer } from './upstream/fault-server.ts';
import { QTYPE, RCODE } from '../src/dns/constants.ts';
import { PARSE_OK, Query, parseQuery } from '../src/dns/query.ts';
import { ResponseWriter } from '../src/dns/response.ts';
import { NEXT, type Handler, type PrimaryPart, type RequestState, type ServerControl } from '../src/plugin/types.ts';
import { loop } from '../src/plugins/loop/setup.ts';
import createHandler, { type LoopConfig } from '../src/plugins/loop/handler.ts';

const LOOP_LINE = (self: string, zone: string, zoneRe: string) => new RegExp(
  String.raw`^\[FATAL\] plugin/loop: Loop \((127\.0\.0\.1:\d+) -> ${self.replace(/[.[\]]/g, '\\$&')}\) detected for zone "${zone.replace(/\./g, '\\.')}", `
  + String.raw`see https://coredns\.io/plugins/loop#troubleshooting\. Query: "HINFO \d+\.\d+\.${zoneRe}"\. `, 'm');

/** Runs the CLI on `corefile` ({PORT} replaced) until it exits; fails if that takes longer than `ms`. */
async function runUntilExit(corefile: string, port: number, ms: number, args: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const dir = tempDir();
  const file = join(dir, 'Corefile');
  writeFileSync(file, corefile.replaceAll('{PORT}', String(port)));
  const t0 = Date.now();
  const s = spawnCli(['-conf', file, ...args], { cwd: dir });
  const timer = setTimeout(() => s.proc.kill('SIGKILL'), ms);
  const code = await new Promise<number | null>((resolve) => s.proc.on('close', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, stdout: s.stdout(), stderr: s.stderr(), ms: Date.now() - t0 };
}

/** A UDP "upstream" that sends every query it gets on to `port` and relays the answers back. */
async function startRelay(port: number): Promise<{ port: number; relayed: () => number; close: () => void }> {
  const front = dgram.createSocket('udp4');
  const back = dgram.createSocket('udp4');
  const clients = new Map<number, { port: number; address: string }>();
  let relayed = 0;
  front.on('message', (m, rinfo) => {
    relayed++;
    clients.set(m.readUInt16BE(0), { port: rinfo.port, address: rinfo.address });
    back.send(m, port, '127.0.0.1');
  });
  back.on('message', (m) => {
    const c = clients.get(m.readUInt16BE(0));
    if (c) front.send(m, c.port, c.address);
  });
  front.on('error', () => {});
  back.on('error', () => {});
  await new Promise<void>((r) => front.bind(0, '127.0.0.1', () => r()));
  await new Promise<void>((r) => back.bind(0, '127.0.0.1', () => r()));
  return { port: front.address().port, relayed: () => relayed, close: () => { front.close(); back.close(); } };
}

describe('loop with forward', () => {
  for (const workers of [1, 3]) {
    test(`forwarding to itself (${workers} workers): exit code 1 with the loop message, within seconds`, async () => {
      const port = await freePort();
      const r = await runUntilExit('.:{PORT} {\n    loop\n    forward . 127.0.0.1:{PORT}\n}\n', port, 15_000, ['-workers', String(workers)]);
      assert.equal(r.code, 1, `stderr: ${r.stderr}`);
      assert.match(r.stderr, LOOP_LINE(`:${port}`, '.', ''));
      assert.match(r.stderr, /\/etc\/resolv\.conf/);
      assert.match(r.stderr, /127\.0\.0\.53/);
      assert.match(r.stderr, /resolvConf/);
      assert.ok(r.ms < 10_000, `took ${r.ms} ms`);
    });
  }

  test('a loop through another server (a relay that sends every query back): the same', async () => {
    const port = await freePort();
    const relay = await startRelay(port);
    try {
      const r = await runUntilExit(`example.test:{PORT} {\n    bind 127.0.0.1\n    loop\n    forward . 127.0.0.1:${relay.port}\n}\n`, port, 15_000, ['-workers', '1']);
      assert.equal(r.code, 1, `stderr: ${r.stderr}`);
      assert.match(r.stderr, LOOP_LINE(`127.0.0.1:${port}`, 'example.test.', String.raw`example\.test\.`));
      assert.ok(relay.relayed() >= 2, 'the probe went through the relay');
    } finally {
      relay.close();
    }
  });

  describe('forwarding to a real upstream', () => {
    let up: FaultServer;
    let s: RunningServer;
    before(async () => {
      up = await startFaultServer();
      up.setRecords('svc.example.test', [{ type: 'A', ttl: 30, data: '10.0.0.1' }]);
      s = await startServer(`.:{PORT} {\n    bind 127.0.0.1\n    loop\n    forward . ${up.address}\n}\n`);
    });
    after(async () => {
      await s.stop();
      await up.stop();
    });

    test('keeps running and answers; the probe reached the upstream once', async () => {
      const r = await udpQuery(s.port, 'svc.example.test');
      assert.deepEqual(r.answers.map((a) => a.data), ['10.0.0.1']);
      await sleep(1500);
      assert.equal(s.proc.exitCode, null);
      assert.doesNotMatch(s.stderr(), /FATAL/);
      const probes = up.queries({ type: 'HINFO' });
      assert.equal(probes.length, 1);
      assert.match(probes[0]!.name, /^\d+\.\d+\.?$/);
    });
  });
});

describe('loop without a loop', () => {
  let s: RunningServer;
  before(async () => {
    s = await startServer('.:{PORT} {\n    bind 127.0.0.1\n    loop\n    whoami\n}\n');
  });
  after(async () => {
    await s.stop();
  });

  test('loop + whoami keeps running and answers', async () => {
    await sleep(1000);
    const r = await udpQuery(s.port, 'anything.test');
    assert.equal(r.rcode, 'NOERROR');
    assert.equal(r.additionals[0]!.data, '127.0.0.1');
    // HINFO queries other than the probe go through untouched.
    for (let i = 0; i < 4; i++) assert.equal((await udpQuery(s.port, '1.2.', { type: 'HINFO' })).rcode, 'NOERROR');
    assert.equal(s.proc.exitCode, null);
    assert.doesNotMatch(s.stderr(), /FATAL/);
  });
});

describe('loop configuration', () => {
  const configErrorOf = (directive: string): Promise<string> => configError(`.:1053 {\n    ${directive}\n    whoami\n}\n`);

  test('loop takes no arguments and no block, once per server block', async () => {
    assert.match(await configErrorOf('loop 5s'), /Corefile:2:\d+: loop takes no arguments/);
    assert.match(await configErrorOf('loop {\n    }'), /loop takes no block/);
    assert.match(await configErrorOf('loop\n    loop'), /plugin 'loop' is given twice/);
  });
});

// The primary's probe and the workers' counting, in this process: a UDP socket stands in for
// the server and hands each probe it gets to the worker handler, as often as a test wants.
describe('loop probe and counter', () => {
  const request = (): RequestState => ({ start: 0, error: null, responseLen: 0, defer: () => { throw new Error('no defer'); }, spawn: () => { throw new Error('no spawn'); }, subChain: () => { throw new Error('no subChain'); } });
  const tok = (text: string) => ({ text, file: 'Corefile', line: 1, column: 1, quoted: false });

  async function harness(zone: string): Promise<{ sock: dgram.Socket; port: number; handler: Handler; primary: PrimaryPart; probes: Array<{ msg: Buffer; port: number }>; fatal: string[]; ctl: ServerControl }> {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const port = sock.address().port;
    const instance = loop.setup({
      directive: { name: tok('loop'), args: [], block: null },
      block: { zones: [zone], port, key: `dns://${zone}:${port}` },
      createTable: () => { throw new Error('no tables'); },
    });
    const handler = await createHandler(instance.worker!.config as LoopConfig);
    const probes: Array<{ msg: Buffer; port: number }> = [];
    sock.on('message', (msg, rinfo) => probes.push({ msg, port: rinfo.port }));
    const fatal: string[] = [];
    const ctl: ServerControl = { fatal: (m) => fatal.push(m), parts: () => [] };
    return { sock, port, handler, primary: instance.primary!, probes, fatal, ctl };
  }

  /** Hands `msg` to the handler as if it had arrived from 127.0.0.1:`from`; returns its verdict. */
  function arrive(h: Handler, msg: Buffer, from: number): number {
    const q = new Query();
    assert.equal(parseQuery(msg, msg.length, q), PARSE_OK);
    q.remoteAddress = '::ffff:127.0.0.1';
    q.remotePort = from;
    return h.serve!(q, new ResponseWriter(), request());
  }

  async function until(cond: () => boolean, ms = 3000): Promise<void> {
    for (const t0 = Date.now(); !cond(); await sleep(10)) if (Date.now() - t0 > ms) throw new Error('timed out');
  }

  test('a third arrival of the probe is a loop: fatal, naming sender, address, zone and query', async () => {
    const h = await harness('example.test.');
    try {
      h.primary.listening!(h.ctl, ['127.0.0.1']);
      await until(() => h.probes.length === 1);
      const probe = h.probes[0]!;
      const q = new Query();
      parseQuery(probe.msg, probe.msg.length, q);
      assert.equal(q.qtype, QTYPE.HINFO);
      assert.match(q.nameText(), /^\d+\.\d+\.example\.test\.$/);
      assert.equal(arrive(h.handler, probe.msg, probe.port), NEXT);
      assert.equal(arrive(h.handler, probe.msg, 40001), NEXT);
      assert.equal(h.fatal.length, 0);
      assert.equal(arrive(h.handler, probe.msg, 40002), RCODE.SERVFAIL);
      await until(() => h.fatal.length > 0, 1000);
      assert.equal(h.fatal.length, 1);
      assert.ok(h.fatal[0]!.startsWith(`plugin/loop: Loop (127.0.0.1:40002 -> 127.0.0.1:${h.port}) detected for zone "example.test.", see https://coredns.io/plugins/loop#troubleshooting. Query: "HINFO ${q.nameText()}". `), h.fatal[0]);
    } finally {
      h.primary.stop?.();
      h.sock.close();
    }
  });

  test('the first answer ends probing: later arrivals are passed on and not counted', async () => {
    const h = await harness('.');
    try {
      h.primary.listening!(h.ctl, null);
      await until(() => h.probes.length === 1);
      const probe = h.probes[0]!;
      // Answer it (any rcode will do).
      const reply = Buffer.from(probe.msg);
      reply[2] = reply[2]! | 0x80;
      reply[3] = RCODE.SERVFAIL;
      h.sock.send(reply, probe.port, '127.0.0.1');
      await sleep(100);
      for (let i = 0; i < 5; i++) assert.equal(arrive(h.handler, probe.msg, 40000 + i), NEXT);
      await sleep(100);
      assert.deepEqual(h.fatal, []);
    } finally {
      h.primary.stop?.();
      h.sock.close();
    }
  });

  test('a copy that arrives after the attempt timed out, before the next one, still counts', async () => {
    // forward sends an in-flight query upstream once per worker and tries again after 2 s: in a
    // loop the third copy can come just after the probe's own 2 s.
    const h = await harness('.');
    try {
      h.primary.listening!(h.ctl, ['127.0.0.1']);
      await until(() => h.probes.length === 1);
      const probe = h.probes[0]!;
      assert.equal(arrive(h.handler, probe.msg, 40001), NEXT);
      assert.equal(arrive(h.handler, probe.msg, 40002), NEXT);
      await sleep(2300);
      assert.equal(h.probes.length, 1);
      assert.equal(arrive(h.handler, probe.msg, 40003), RCODE.SERVFAIL);
      await until(() => h.fatal.length > 0, 1000);
      assert.match(h.fatal[0]!, /^plugin\/loop: Loop \(127\.0\.0\.1:40003 -> 127\.0\.0\.1:\d+\) detected for zone "\."/);
    } finally {
      h.primary.stop?.();
      h.sock.close();
    }
  });

  test('an unanswered probe is sent again after 2 s + 1 s, its count starting over', async () => {
    const h = await harness('.');
    try {
      h.primary.listening!(h.ctl, ['127.0.0.1']);
      await until(() => h.probes.length === 1);
      const first = h.probes[0]!;
      assert.equal(arrive(h.handler, first.msg, 40001), NEXT);
      assert.equal(arrive(h.handler, first.msg, 40002), NEXT);
      const t0 = Date.now();
      await until(() => h.probes.length === 2, 5000);
      const waited = Date.now() - t0;
      assert.ok(waited > 2500 && waited < 4000, `second probe after ${waited} ms`);
      // Same probe name; the two earlier arrivals no longer count.
      assert.deepEqual(h.probes[1]!.msg.subarray(12), first.msg.subarray(12));
      assert.equal(arrive(h.handler, h.probes[1]!.msg, 40003), NEXT);
      assert.equal(arrive(h.handler, h.probes[1]!.msg, 40004), NEXT);
      assert.deepEqual(h.fatal, []);
    } finally {
      h.primary.stop?.();
      h.sock.close();
    }
  });
});
