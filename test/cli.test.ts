// The command line: flags as CoreDNS takes them, config errors with file:line:column, start-up
// failures as one clear line, the built-in demo, and a clean exit on SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import dgram from 'node:dgram';
import { join } from 'node:path';
import { udpQuery } from './helpers/dns-client.ts';
import { BIN, configError, freePort, runCli, spawnCli, startServer, tempDir } from './helpers/server-process.ts';

test('-version and -plugins', async () => {
  const v = await runCli(['-version']);
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^kdns-\d+\.\d+\.\d+\n/);
  const p = await runCli(['-plugins']);
  assert.equal(p.code, 0);
  for (const name of ['dns.errors', 'dns.log', 'dns.whoami', 'dns.bind', 'dns.records', 'dns.any', 'dns.timeouts']) {
    assert.match(p.stdout, new RegExp(`^  ${name.replace('.', '\\.')}$`, 'm'));
  }
});

test('unknown flags and bad values exit 2 with the usage', async () => {
  const r = await runCli(['-nope']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /flag provided but not defined: -nope/);
  assert.match(r.stderr, /Usage: kdns/);
  const w = await runCli(['-workers', 'zero']);
  assert.equal(w.code, 2);
  assert.match(w.stderr, /invalid value 'zero' for -workers/);
});


test('config errors name the file, line and column and give a hint', async () => {
  assert.match(await configError('.:1053 {\n    whoami\n    frobnicate on\n}\n'), /^kdns: Corefile:3:5: unknown directive 'frobnicate'\n  hint: available plugins: .*whoami/);
  assert.match(await configError('.:1053 {\n    whoami\n    whoami\n}\n'), /Corefile:3:5: plugin 'whoami' is given twice in this server block/);
  assert.match(await configError('.:99999 {\n    whoami\n}\n'), /Corefile:1:1: port '99999' is not valid/);
  assert.match(await configError('.:1053 {\n    whoami\n'), /Corefile:\d+:\d+: .*expected '}'/);
  assert.match(await configError('.:1053 {\n    log {\n        class sometimes\n    }\n}\n'), /Corefile:3:15: unknown log class 'sometimes'\n  hint: use all, success, denial or error/);
  assert.match(await configError('.:1053 {\n    records {\n        www 60 IN A 300.1.1.1\n    }\n}\n'), /Corefile:3:21: '300.1.1.1' is not an IPv4 address/);
  assert.match(await configError('.:1053 {\n    whoami\n}\n.:1053 {\n    whoami\n}\n'), /Corefile:4:1: zone \. on port 1053 is defined twice/);
  assert.match(await configError('.:1053 {\n    geoip /var/lib/GeoLite2-City.mmdb\n}\n'), /Corefile:2:5: plugin 'geoip' is not available in kdns yet/);
  const missing = await runCli(['-conf', '/nonexistent/Corefile']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^kdns: \/nonexistent\/Corefile: cannot read Corefile/);
});

test('a missing or unreadable kubeconfig or manifests path is one clear line (and a hint) and exit code 1', async () => {
  const dir = tempDir();
  const bad = join(dir, 'bad-kubeconfig');
  writeFileSync(bad, 'garbage: [\n');
  const block = (inner: string): string => `.:1053 {\n    kubernetes cluster.local {\n        ${inner}\n    }\n}\n`;
  const lines = (text: string): string[] => text.trimEnd().split('\n');
  const missing = await configError(block('kubeconfig /nonexistent/kubeconfig'));
  assert.deepEqual(lines(missing), ['kdns: Corefile:3:20: cannot read /nonexistent/kubeconfig', '  hint: check the path and the permissions']);
  const broken = await configError(block(`kubeconfig ${bad}`));
  assert.deepEqual(lines(broken), [`kdns: Corefile:3:20: cannot load kubeconfig ${bad}: deficient indentation (2:1)`, '  hint: it must be a kubeconfig file as kubectl reads it']);
  const manifests = await configError(block('manifests /nonexistent/dir'));
  assert.deepEqual(lines(manifests), ['kdns: Corefile:3:19: /nonexistent/dir: cannot read manifests: ENOENT; give a manifest file or a directory of *.yaml, *.yml or *.json files']);
});

test('a port already in use is one clear line and exit code 1', async () => {
  const port = await freePort();
  const holder = dgram.createSocket('udp4');
  await new Promise<void>((r) => holder.bind(port, '127.0.0.1', () => r()));
  try {
    const dir = tempDir();
    writeFileSync(join(dir, 'Corefile'), `.:${port} {\n bind 127.0.0.1\n whoami\n}\n`);
    const r = await runCli(['-conf', join(dir, 'Corefile'), '-workers', '1']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `kdns: listen udp 127.0.0.1:${port}: address already in use (another DNS server, or another kdns, is running on port ${port})\n`);
  } finally {
    holder.close();
  }
});

test('-dns.port sets the port of blocks that name none; -quiet prints nothing', async () => {
  const port = await freePort();
  const dir = tempDir();
  writeFileSync(join(dir, 'Corefile'), 'example.test {\n bind 127.0.0.1\n records {\n  www 5 IN A 10.1.2.3\n }\n}\n');
  const s = spawnCli(['-conf', join(dir, 'Corefile'), '-dns.port', String(port), '-workers', '1', '-quiet']);
  try {
    let r;
    for (let i = 0; i < 100 && !r; i++) r = await udpQuery(port, 'www.example.test', { timeoutMs: 200 }).catch(() => undefined);
    assert.equal(r!.answers[0]!.data, '10.1.2.3');
    assert.equal(s.stdout(), '');
  } finally {
    assert.equal(await s.stop(), 0);
  }
});

test('reads ./Corefile when no -conf is given', async () => {
  const port = await freePort();
  const dir = tempDir();
  writeFileSync(join(dir, 'Corefile'), `.:${port} {\n bind 127.0.0.1\n records example.test {\n  here 5 IN A 10.4.4.4\n }\n}\n`);
  const s = spawnCli(['-workers', '1'], { cwd: dir });
  try {
    await s.waitFor(/^kdns-/m, 20_000);
    assert.match(s.stdout(), new RegExp(`^example\\.test\\.:${port}$|^\\.:${port}$`, 'm'));
    assert.equal((await udpQuery(port, 'here.example.test')).answers[0]!.data, '10.4.4.4');
  } finally {
    await s.stop();
  }
});

test('with no Corefile at all it runs the built-in demo and says how to query it', async () => {
  const port = await freePort();
  const dir = tempDir();
  const s = spawnCli(['-dns.port', String(port), '-workers', '1'], { cwd: dir });
  try {
    await s.waitFor(/^kdns-/m, 20_000);
    assert.match(s.stdout(), new RegExp(`running the built-in demo on 127\\.0\\.0\\.1:${port}`));
    assert.match(s.stdout(), /dig @127\.0\.0\.1 -p \d+ kubernetes\.default\.svc\.cluster\.local/);
    const r = await udpQuery(port, 'kubernetes.default.svc.cluster.local');
    assert.equal(r.answers[0]!.data, '10.96.0.1');
    const ptr = await udpQuery(port, '10.0.96.10.in-addr.arpa', { type: 'PTR' });
    assert.equal(ptr.answers[0]!.data, 'kube-dns.kube-system.svc.cluster.local');
    const db = await udpQuery(port, 'db.demo.svc.cluster.local');
    assert.deepEqual(db.answers.map((a) => a.data).sort(), ['10.244.1.10', '10.244.2.10'], 'the headless service answers its ready pods');
    // Outside names go to /etc/resolv.conf's nameservers, which a test machine may not reach:
    // whatever comes back is the upstream's answer or forward's SERVFAIL, never a local answer.
    const other = await udpQuery(port, 'anything.example.org', { timeoutMs: 7000 });
    assert.equal(other.flag_aa, false);
    assert.notEqual(other.rcode, 'REFUSED');
    await s.waitFor(/"A IN anything\.example\.org\. udp \d+ false 512" (NOERROR|NXDOMAIN|SERVFAIL)/, 5000);
    await s.waitFor('"A IN kubernetes.default.svc.cluster.local. udp', 5000);
  } finally {
    assert.equal(await s.stop('SIGINT'), 0);
  }
});

test('SIGTERM stops the server with exit code 0 and removes the pidfile', async () => {
  const dir = tempDir();
  const pidfile = join(dir, 'kdns.pid');
  const s = await startServer('.:{PORT} {\n bind 127.0.0.1\n whoami\n}\n', { workers: 2, args: ['-pidfile', pidfile] });
  assert.equal(Number((await import('node:fs')).readFileSync(pidfile, 'utf8')), s.proc.pid);
  assert.equal(await s.stop('SIGTERM'), 0);
  assert.equal(existsSync(pidfile), false);
});

test('on a Node.js older than 22.12 the program refuses to run and says why', (t) => {
  const candidates = ['/usr/bin/node', '/usr/local/bin/node'];
  const old = candidates.find((p) => {
    if (!existsSync(p)) return false;
    const [maj, min] = execFileSync(p, ['-p', 'process.versions.node']).toString().trim().split('.').map(Number) as [number, number];
    return maj < 22 || (maj === 22 && min < 12);
  });
  if (!old) {
    t.skip('no Node.js older than 22.12 on this machine');
    return;
  }
  let out = '';
  let code = 0;
  try {
    execFileSync(old, [BIN, '-version'], { stdio: 'pipe' });
  } catch (err) {
    const e = err as { status: number; stderr: Buffer };
    code = e.status;
    out = e.stderr.toString();
  }
  assert.equal(code, 1);
  assert.match(out, /kdns needs Node\.js 22\.12\.0 or newer \(Node 24 LTS recommended\); this is Node\.js \d+/);
});
