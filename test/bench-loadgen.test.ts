// Smoke test of the benchmark tooling: minimal responder + load generator on loopback.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runLoad } from '../bench/loadgen.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

test('loadgen drives the minimal responder with no loss', { timeout: 15_000 }, async (t) => {
  const child = spawn(process.execPath, ['bench/minimal-responder.ts', '--port', '0', '--host', '127.0.0.1'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => {
    child.kill('SIGKILL');
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`responder not ready: ${out}`)), 5000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /ready (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`responder exited (${code}): ${out}`)));
  });

  const maxQueries = 20_000;
  const r = await runLoad({
    server: `127.0.0.1:${port}`,
    duration: 1,
    warmup: 0.2,
    maxQueries,
    concurrency: 16,
    timeoutMs: 1000,
    qname: 'kubernetes.default.svc.cluster.local',
    qtype: 'A',
    pid: child.pid,
  });

  assert.ok(r.answered > 0, 'some answers');
  assert.ok(r.sent <= maxQueries, 'bounded by max-queries');
  assert.equal(r.timeouts, 0, 'no timeouts on loopback');
  assert.equal(r.answered, r.sent, 'every measured query answered');
  assert.equal(r.mismatched, 0);
  assert.equal(r.rcodes.NOERROR, r.answered, 'all NOERROR');
  assert.ok(r.qps > 0);
  const l = r.latencyMs;
  assert.ok(l.p50 > 0, 'p50 > 0');
  assert.ok(l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.p999 && l.p999 <= l.max, `percentiles monotonic: ${JSON.stringify(l)}`);
  assert.ok(r.target !== null && r.target.cpuUs >= 0, 'target CPU measured');
});

test('loadgen: names written {unique}.rest get a fresh first label per query, other names are sent as they are', { timeout: 15_000 }, async (t) => {
  const dgram = await import('node:dgram');
  const dnsPacket = (await import('dns-packet')).default;
  const seen: string[] = [];
  const sock = dgram.createSocket('udp4');
  sock.on('message', (msg, rinfo) => {
    seen.push(dnsPacket.decode(msg).questions![0]!.name);
    const out = Buffer.from(msg);
    out[2] = out[2]! | 0x80;
    sock.send(out, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  t.after(() => sock.close());
  const r = await runLoad({
    server: `127.0.0.1:${sock.address().port}`,
    duration: 1,
    warmup: 0,
    maxQueries: 400,
    concurrency: 4,
    queries: [{ name: '{unique}.miss.example.net', type: 'A' }, { name: 'hit.example.net', type: 'A' }],
  });
  assert.equal(r.answered, 400);
  assert.equal(r.mismatched, 0);
  const unique = seen.filter((n) => n.endsWith('.miss.example.net'));
  const fixed = seen.filter((n) => !n.endsWith('.miss.example.net'));
  assert.equal(unique.length, 200);
  assert.equal(new Set(unique).size, 200, 'every {unique} name differs');
  assert.ok(unique.every((n) => /^u[0-9a-z]{10}\.miss\.example\.net$/.test(n)), unique[0]);
  assert.deepEqual([...new Set(fixed)], ['hit.example.net']);
});
