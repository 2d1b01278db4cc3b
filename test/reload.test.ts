// reload through the real process: a changed Corefile (or imported file) replaces the running
// configuration while a client streams UDP queries with a 1 s timeout and no retries, and not one
// of them fails; an invalid edit leaves the old configuration answering and names file:line;
// health/ready keep answering through the swap; SIGTERM during a reload still exits 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TcpConnection, encodeQuery, udpRaw } from './helpers/dns-client.ts';
import { decodeReply } from './helpers/decode.ts';
import { startFaultServer } from './upstream/fault-server.ts';
import { QueryStream } from './helpers/query-stream.ts';
import { freePort, startServer, tempDir, type RunningServer } from './helpers/server-process.ts';
import { parseCorefile } from '../src/corefile/index.ts';
import { buildPlan } from '../src/config/plan.ts';
import { reloadInterval } from '../src/plugins/reload/setup.ts';

/** The Corefile startServer wrote (from the process's own arguments). */
function corefileOf(s: RunningServer): string {
  const args = s.proc.spawnargs;
  return args[args.indexOf('-conf') + 1]!;
}

function edit(s: RunningServer, change: (text: string) => string): void {
  const file = corefileOf(s);
  writeFileSync(file, change(readFileSync(file, 'utf8')));
}

/** `text` as a literal inside a RegExp. */
function re(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Resolves when stdout has `n` (or more) lines matching `re`. */
function waitForCount(s: RunningServer, re: RegExp, n: number, ms = 8000): Promise<void> {
  const g = new RegExp(re.source, 'gm');
  return s.waitFor({ test: (out: string) => (out.match(g)?.length ?? 0) >= n } as unknown as RegExp, ms);
}

/** Polls an HTTP endpoint every 50 ms; anything but 200 OK is recorded. */
function pollHttp(port: number, path: string): { bad: string[]; ok: number; stop: () => Promise<void> } {
  const state = { bad: [] as string[], ok: 0, running: true };
  const loop = (async () => {
    while (state.running) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(1000) });
        const body = await res.text();
        if (res.status === 200 && body === 'OK') state.ok++;
        else state.bad.push(`${res.status} ${body}`);
      } catch (err) {
        state.bad.push((err as Error).message);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    bad: state.bad,
    get ok() {
      return state.ok;
    },
    stop: async () => {
      state.running = false;
      await loop;
    },
  };
}

test('a changed Corefile takes over with no query lost; listeners follow; health and ready answer throughout', async () => {
  const health = await freePort();
  const ready = await freePort();
  const extra = await freePort();
  const s = await startServer(
    `example.org:{PORT} {\n    bind 127.0.0.1\n    reload 2s 1s\n    health 127.0.0.1:${health} {\n        lameduck 4s\n    }\n    ready 127.0.0.1:${ready}\n` +
      `    records {\n        www 60 IN A 10.0.0.1\n    }\n}\n`,
  );
  try {
    await s.waitFor(/^\[INFO\] plugin\/reload: Running configuration SHA512 = [0-9a-f]{128}$/m, 2000);
    const stream = new QueryStream(s.port, 'www.example.org');
    const healthPoll = pollHttp(health, '/health');
    const readyPoll = pollHttp(ready, '/ready');
    stream.start(400);
    await new Promise((r) => setTimeout(r, 300));

    // 1: new data, and a new server block on a port of its own.
    edit(s, (t) => t.replace('10.0.0.1', '10.0.0.2') + `example.net:${extra} {\n    bind 127.0.0.1\n    whoami\n}\n`);
    await s.waitFor('[INFO] Reloading\n', 8000);
    const t0 = Date.now();
    await s.waitFor('[INFO] Reloading complete', 8000);
    // The old configuration's lameduck (4s) does not hold up a reload, as in CoreDNS.
    assert.ok(Date.now() - t0 < 3500, `reload took ${Date.now() - t0} ms`);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await udpRaw(extra, encodeQuery('example.net'), 1000)) !== null, true, 'the new listener answers');

    // 2: the extra block goes away again: its listener closes; the rest keeps answering.
    edit(s, (t) => t.slice(0, t.indexOf('example.net:')));
    await waitForCount(s, /^\[INFO\] Reloading complete$/, 2);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await udpRaw(extra, encodeQuery('example.net'), 300), null, 'the removed listener is closed');
    await new Promise((r) => setTimeout(r, 300));

    await stream.stop();
    await healthPoll.stop();
    await readyPoll.stop();
    assert.deepEqual(stream.failures, [], `${stream.failures.length} of ${stream.sent} queries failed`);
    assert.ok(stream.sent >= 1000, `only ${stream.sent} queries sent`);
    assert.ok((stream.answers.get('10.0.0.1') ?? 0) > 0, 'answers from the first configuration');
    assert.deepEqual(new Set(stream.log.slice(-100)), new Set(['10.0.0.2']), 'the last answers all come from the new configuration');
    assert.deepEqual(healthPoll.bad, [], '/health answered 200 OK throughout');
    assert.ok(healthPoll.ok > 20);
    assert.deepEqual(readyPoll.bad, [], '/ready answered 200 OK throughout');
    assert.equal(await s.stop('SIGTERM'), 0);
    assert.equal(s.stderr(), '');
  } finally {
    await s.stop('SIGKILL');
  }
});

test('an invalid edit keeps the old configuration and names file:line; an imported file is watched too', async () => {
  const port = await freePort();
  const busy = await freePort();
  const holder = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => holder.bind(busy, '127.0.0.1', () => resolve()));
  const dir = tempDir();
  const imported = join(dir, 'records.conf');
  writeFileSync(imported, 'records {\n    www 60 IN A 10.0.1.1\n}\n');
  const original = `example.org:${port} {\n    bind 127.0.0.1\n    reload 2s 1s\n    import ${imported}\n}\n`;
  const srv = await startServer(original, { port });
  // Stopped in `finally` too: a failed assertion must not leave it sending (the file would hang).
  const stream = new QueryStream(port, 'www.example.org');
  try {
    const file = corefileOf(srv);
    stream.start(300);
    const errors = (): string[] => srv.stdout().match(/^\[ERROR\].*$/gm) ?? [];

    // A directive that does not exist: one line with file:line:column and the hint.
    edit(srv, (t) => t.replace('    reload 2s 1s\n', '    reload 2s 1s\n    frobnicate\n'));
    await waitForCount(srv, /^\[ERROR\] plugin\/reload: /, 1);
    assert.match(errors()[0]!, new RegExp(`^\\[ERROR\\] plugin/reload: Corefile changed but reload failed: ${re(file)}:4:5: unknown directive 'frobnicate' \\(hint: available plugins: [a-z0-9_, ]+\\); still serving the previous configuration$`));

    // A port another process holds: the line points at the server block that wants it.
    edit(srv, (t) => t.replace('    frobnicate\n', '') + `example.net:${busy} {\n    bind 127.0.0.1\n    whoami\n}\n`);
    await waitForCount(srv, /^\[ERROR\] plugin\/reload: /, 2);
    assert.match(errors()[1]!, new RegExp(`^\\[ERROR\\] plugin/reload: Corefile changed but reload failed: ${re(file)}:6:1: listen udp 127\\.0\\.0\\.1:${busy}: address already in use .*; still serving the previous configuration$`));

    // A syntax error.
    edit(srv, () => original.replace('    reload 2s 1s\n', '    reload 2s 1s\n    records {\n'));
    await waitForCount(srv, /^\[ERROR\] plugin\/reload: /, 3);
    assert.match(errors()[2]!, new RegExp(`^\\[ERROR\\] plugin/reload: Corefile parse failed: ${re(file)}:\\d+:\\d+: .*; still serving the previous configuration$`));

    // Back to the running Corefile (nothing to reload by itself), and the imported file changes.
    edit(srv, () => original);
    writeFileSync(imported, 'records {\n    www 60 IN A 10.0.1.2\n}\n');
    await srv.waitFor('[INFO] Reloading complete', 8000);
    await new Promise((r) => setTimeout(r, 300));

    await stream.stop();
    assert.deepEqual(stream.failures, [], `${stream.failures.length} of ${stream.sent} queries failed`);
    assert.ok((stream.answers.get('10.0.1.1') ?? 0) > 1000, 'the old configuration answered while the new one was broken');
    assert.equal(stream.log.at(-1), '10.0.1.2');
    assert.equal(errors().length, 3, 'each failure is logged once');
    assert.equal(await srv.stop('SIGTERM'), 0);
    assert.equal(srv.stderr(), '');
  } finally {
    await stream.stop();
    holder.close();
    await srv.stop('SIGKILL');
  }
});

test('reload arguments: CoreDNS defaults, minimums and jitter', () => {
  const plan = (args: string) => buildPlan(parseCorefile(`.:1053 {\n    reload${args}\n    whoami\n}\n`, 'Corefile'), { defaultPort: 53 });
  const between = (args: string, lo: number, hi: number): void => {
    for (let i = 0; i < 20; i++) {
      const ms = reloadInterval(plan(args))!;
      assert.ok(ms >= lo && ms < hi, `reload${args}: ${ms} ms is not in [${lo}, ${hi})`);
    }
  };
  between('', 22_500, 37_500); // 30s +/- 15s/2
  between(' 10s', 7_500, 12_500); // jitter capped at 10s/2, then +/- 2.5s
  between(' 2s 0s', 2_000, 2_001); // no jitter
  between(' 4s 1s', 3_500, 4_500);
  assert.equal(reloadInterval(buildPlan(parseCorefile('.:1053 {\n    whoami\n}\n', 'Corefile'), { defaultPort: 53 })), null);
  assert.throws(() => plan(' 1s'), /Corefile:2:12: reload interval must be at least 2s/);
  assert.throws(() => plan(' 3s 0.5s'), /Corefile:2:15: reload jitter must be 0 or at least 1s/);
  assert.throws(() => plan(' soon'), /Corefile:2:12: 'soon' is not a duration/);
  assert.throws(() => plan(' 10s 5s 1s'), /Corefile:2:19: too many arguments for reload/);
});

test('SIGTERM in the middle of a reload stops cleanly with exit code 0', async () => {
  const s = await startServer(`example.org:{PORT} {\n    bind 127.0.0.1\n    reload 2s 1s\n    whoami\n}\n`, { workers: 4 });
  edit(s, (t) => t.replace('whoami', 'whoami\n    log'));
  await s.waitFor('[INFO] Reloading\n', 8000);
  assert.equal(await s.stop('SIGTERM'), 0);
  // Either the reload finished first or it was called off; nothing is left on the port.
  const probe = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.bind(s.port, '127.0.0.1', () => resolve());
  });
  probe.close();
  assert.equal(s.stderr(), '');
});

test('queries waiting on a slow upstream during a reload are answered; a busy TCP connection moves to the new configuration', async () => {
  const up = await startFaultServer();
  up.setRecords('slow.up.test', [{ type: 'A', ttl: 60, data: '10.9.0.1' }]);
  up.behave('delay 400', { name: 'slow.up.test' });
  const s = await startServer(
    `up.test:{PORT} {\n    bind 127.0.0.1\n    reload 2s 1s\n    forward . ${up.address}\n}\n` +
      `example.org:{PORT} {\n    bind 127.0.0.1\n    records {\n        www 60 IN A 10.0.0.1\n    }\n}\n`,
    { workers: 2 },
  );
  try {
    await s.waitFor(/Running configuration SHA512/, 2000);
    // A client that keeps one TCP connection busy (as NodeLocal DNSCache's force_tcp does).
    const tcp = new TcpConnection(s.port);
    await tcp.connected();
    let tcpAnswers = 0;
    let tcpRunning = true;
    const seen = new Set<string>();
    const tcpLoop = (async () => {
      while (tcpRunning) {
        const r = await tcp.query('www.example.org');
        seen.add(r.answers[0]?.data as string);
        tcpAnswers++;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })().catch((err: Error) => err);

    edit(s, (t) => t.replace('10.0.0.1', '10.0.0.2'));
    await s.waitFor('[INFO] Reloading\n', 8000);
    // Queries that reach the old workers now wait 400 ms on the upstream, past the swap.
    const slow = Array.from({ length: 20 }, () => udpRaw(s.port, encodeQuery('slow.up.test'), 3000));
    await s.waitFor('[INFO] Reloading complete', 8000);
    const replies = await Promise.all(slow);
    assert.equal(replies.filter((r) => r === null).length, 0, 'every query that was waiting on the upstream is answered');
    for (const r of replies) assert.equal(decodeReply(r!).answers[0]?.data, '10.9.0.1');

    // The old workers let go of the TCP connection (after its answers) instead of serving the old
    // data on it forever; the client reconnects and gets the new configuration.
    const closed = await Promise.race([tcp.closed.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5000))]);
    tcpRunning = false;
    await tcpLoop;
    tcp.close();
    assert.ok(closed, 'the old configuration closed the busy TCP connection');
    assert.ok(tcpAnswers > 0);
    const fresh = new TcpConnection(s.port);
    assert.equal((await fresh.query('www.example.org')).answers[0]?.data, '10.0.0.2');
    fresh.close();
    assert.equal(await s.stop('SIGTERM'), 0);
  } finally {
    await s.stop('SIGKILL');
    await up.stop();
  }
});
