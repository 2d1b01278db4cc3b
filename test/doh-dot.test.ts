// tls:// (DNS over TLS, RFC 7858) and https:// (DNS over HTTPS, RFC 8484) server blocks through
// the real CLI: pipelined DoT with out-of-order answers, records and forwarded names (answers
// deferred by forward), DoH GET and POST over HTTP/2 and HTTP/1.1, every HTTP refusal, ID 0,
// DNS errors as HTTP 200, Cache-Control, plain-HTTP DoH, client certificates, idle timeout,
// connection cap, metrics labels, a crashed worker, SIGTERM, reload, config errors, a port in
// use, and Debian's dig (+tls, +https) as a real client.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { type Certificates, makeCertificates, opensslMissing } from './helpers/certificates.ts';
import { TcpConnection, encodeQuery } from './helpers/dns-client.ts';
import { type Reply, decodeReply } from './helpers/decode.ts';
import { eventually } from './helpers/eventually.ts';
import { scrapeMetrics } from './helpers/scrape.ts';
import { type RunningServer, configError, freePort, runCli, startServer, tempDir } from './helpers/server-process.ts';
import { type Daemon, missingTool, startUnbound } from './helpers/unbound.ts';
import { type FaultServer, startFaultServer } from './upstream/fault-server.ts';

const NO_OPENSSL = opensslMissing();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let certsMade: Certificates | null = null;
/** One set of certificates for the whole file (openssl takes a moment). */
function certs(): Certificates {
  certsMade ??= makeCertificates(tempDir(), { ips: ['127.0.0.1'], dns: ['dns.kdns.test'] });
  return certsMade;
}
const ca = (): Buffer => readFileSync(certs().ca);

const RECORDS = `    records cluster.test {
        www 300 IN A 192.0.2.1
        api 120 IN A 192.0.2.2
    }
`;

/** A DoT connection (TLS, then the TCP framing); resolves once the handshake is done. */
async function dot(port: number, opts: tls.ConnectionOptions = {}): Promise<{ c: TcpConnection; sock: tls.TLSSocket }> {
  let sock!: tls.TLSSocket;
  const c = new TcpConnection(port, '127.0.0.1', () => (sock = tls.connect({ host: '127.0.0.1', port, ca: ca(), ...opts })));
  await once(sock, 'secureConnect');
  return { c, sock };
}

async function dotQuery(port: number, name: string, opts: { type?: string; id?: number } = {}): Promise<Reply> {
  const { c } = await dot(port);
  try {
    return await c.query(name, { ...opts, timeoutMs: 3000 });
  } finally {
    c.close();
  }
}

interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

interface HttpCall {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer;
}

/** One request on a fresh HTTP/2 connection (TLS, ALPN h2). */
async function h2(port: number, call: HttpCall): Promise<HttpResult> {
  const session = http2.connect(`https://127.0.0.1:${port}`, { ca: ca() });
  session.on('error', () => {});
  try {
    const req = session.request({ ':method': call.method ?? 'GET', ':path': call.path, ...call.headers });
    req.end(call.body);
    const [headers] = (await once(req, 'response')) as [http2.IncomingHttpHeaders];
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return { status: Number(headers[':status']), headers, body: Buffer.concat(chunks) };
  } finally {
    session.close();
  }
}

/** One request on a fresh HTTP/1.1 connection: over TLS (no ALPN h2), or plain. */
function h1(port: number, call: HttpCall, secure = true): Promise<HttpResult> {
  const options: https.RequestOptions = { host: '127.0.0.1', port, method: call.method ?? 'GET', path: call.path, headers: call.headers, agent: false, timeout: 5000 };
  return new Promise((resolve, reject) => {
    const done = (res: http.IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    };
    const req = secure ? https.request({ ...options, ca: ca() }, done) : http.request(options, done);
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('HTTP request timed out')));
    req.end(call.body);
  });
}

const get = (name: string, opts: { type?: string; id?: number } = {}): HttpCall => ({ path: `/dns-query?dns=${encodeQuery(name, opts).toString('base64url')}`, headers: { accept: 'application/dns-message' } });
const post = (msg: Buffer, type = 'application/dns-message'): HttpCall => ({ method: 'POST', path: '/dns-query', headers: { 'content-type': type }, body: msg });

function dnsAnswer(r: HttpResult): Reply {
  assert.equal(r.status, 200, `HTTP ${r.status}: ${r.body.toString()}`);
  assert.equal(r.headers['content-type'], 'application/dns-message');
  return decodeReply(r.body);
}

const addresses = (r: Reply): string[] => r.answers.filter((a) => a.type === 'A').map((a) => a.data as string);

describe('DoT and DoH', { skip: NO_OPENSSL }, () => {
  let s: RunningServer | null = null;
  let ub: Daemon | { skip: string } | null = null;
  let fault: FaultServer | null = null;
  const port = { dot: 0, doh: 0, plain: 0, plainDot: 0, mtls: 0, metrics: 0 };

  before(async () => {
    const c = certs();
    fault = await startFaultServer();
    fault.setRecords('late.slow.test', [{ type: 'A', data: '192.0.2.99', ttl: 60 }]);
    fault.setRecords('www.example.test', [{ type: 'A', data: '192.0.2.10', ttl: 300 }]);
    // Outside names go to Debian's unbound when it is installed, else to the fault server (same data).
    ub = await startUnbound({ localData: [{ zone: 'example.test.' }, 'www.example.test. 300 IN A 192.0.2.10'] });
    const upstream = 'skip' in ub ? fault.address : ub.address;
    for (const k of Object.keys(port) as Array<keyof typeof port>) port[k] = await freePort();
    s = await startServer(`tls://.:${port.dot} https://.:${port.doh} {
    bind 127.0.0.1
    tls ${c.server} ${c.serverKey}
${RECORDS}    forward . ${upstream}
    prometheus 127.0.0.1:${port.metrics}
}
tls://slow.test:${port.dot} https://slow.test:${port.doh} {
    bind 127.0.0.1
    tls ${c.server} ${c.serverKey}
    forward . ${fault.address}
}
https://cluster.test:${port.plain} tls://cluster.test:${port.plainDot} {
    bind 127.0.0.1
${RECORDS}}
tls://.:${port.mtls} {
    bind 127.0.0.1
    tls ${c.server} ${c.serverKey} ${c.ca} {
        client_auth require_and_verify
    }
    timeouts {
        idle 1s
    }
    whoami
}
`, { workers: 2 });
  });
  after(async () => {
    await s?.stop();
    await fault?.stop();
    if (ub && !('skip' in ub)) await ub.stop();
  });

  test('start-up lists the blocks with their scheme, as CoreDNS', () => {
    assert.match(s!.stdout(), new RegExp(`^tls://\\.:${port.dot}$`, 'm'));
    assert.match(s!.stdout(), new RegExp(`^https://slow\\.test\\.:${port.doh}$`, 'm'));
  });

  test('DoT: pipelined queries on one connection, answered as they complete (out of order)', { timeout: 15_000 }, async () => {
    fault!.behave('delay 400', { name: 'late.slow.test' });
    const { c, sock } = await dot(port.dot);
    try {
      assert.equal(sock.authorized, true, 'the server certificate verifies against the test CA');
      const names = ['late.slow.test', 'www.cluster.test', 'www.example.test', 'api.cluster.test', 'nope.cluster.test'];
      // Wait for every answer before sending: the helper hands each arriving message to the next waiter.
      const arriving = names.map(() => c.next(3000));
      names.forEach((n, i) => c.send(encodeQuery(n, { id: 100 + i })));
      const replies = (await Promise.all(arriving)).map(decodeReply);
      const byName = new Map(replies.map((r) => [r.questions[0]!.name, r]));
      assert.deepEqual(addresses(byName.get('www.cluster.test')!), ['192.0.2.1']);
      assert.deepEqual(addresses(byName.get('api.cluster.test')!), ['192.0.2.2']);
      assert.deepEqual(addresses(byName.get('www.example.test')!), ['192.0.2.10'], 'forwarded to the upstream');
      assert.deepEqual(addresses(byName.get('late.slow.test')!), ['192.0.2.99'], 'forwarded, delayed');
      assert.equal(byName.get('nope.cluster.test')!.rcode, 'NXDOMAIN');
      for (const r of replies) assert.equal(r.id, 100 + names.indexOf(r.questions[0]!.name));
      assert.equal(replies.at(-1)!.questions[0]!.name, 'late.slow.test', 'the slow answer came last, after the ones sent behind it');
      // The connection stays usable after all that.
      assert.deepEqual(addresses(await c.query('www.cluster.test')), ['192.0.2.1']);
    } finally {
      c.close();
      fault!.reset();
    }
  });

  test('DoT: a TLS session resumes on whichever worker the next connection lands', { timeout: 10_000 }, async () => {
    const first = await dot(port.dot);
    let session: Buffer | undefined;
    first.sock.on('session', (t: Buffer) => (session = t));
    // TLS 1.3 tickets come after the handshake, with the first answer.
    assert.deepEqual(addresses(await first.c.query('www.cluster.test')), ['192.0.2.1']);
    await eventually(async () => assert.ok(session, 'the server issued a session ticket'), 2000);
    first.c.close();
    // Two workers: with per-worker ticket keys about half of these would fall back to a full handshake.
    for (let i = 0; i < 6; i++) {
      const { c, sock } = await dot(port.dot, { session });
      try {
        assert.equal(sock.isSessionReused(), true, `connection ${i + 2} resumed`);
        assert.deepEqual(addresses(await c.query('api.cluster.test')), ['192.0.2.2']);
      } finally {
        c.close();
      }
    }
  });

  test('DoT: a TCP client that does not speak TLS gets no answer', { timeout: 10_000 }, async () => {
    const c = new TcpConnection(port.dot);
    try {
      await c.connected();
      await assert.rejects(c.query('www.cluster.test', { timeoutMs: 1500 }));
    } finally {
      c.close();
    }
  });

  for (const [label, send] of [['HTTP/2', h2], ['HTTP/1.1', h1]] as const) {
    test(`DoH over ${label}: GET and POST, records and forwarded names, Cache-Control`, { timeout: 15_000 }, async () => {
      const r1 = await send(port.doh, get('www.cluster.test'));
      assert.deepEqual(addresses(dnsAnswer(r1)), ['192.0.2.1']);
      assert.equal(r1.headers['cache-control'], 'max-age=300');
      const r2 = await send(port.doh, post(encodeQuery('api.cluster.test')));
      assert.deepEqual(addresses(dnsAnswer(r2)), ['192.0.2.2']);
      assert.equal(r2.headers['cache-control'], 'max-age=120');
      assert.equal(Number(r2.headers['content-length']), r2.body.length);
      // Through forward: the answer is deferred, then written to the HTTP response.
      const r3 = await send(port.doh, get('www.example.test'));
      assert.deepEqual(addresses(dnsAnswer(r3)), ['192.0.2.10']);
      const r4 = await send(port.doh, post(encodeQuery('late.slow.test')));
      assert.deepEqual(addresses(dnsAnswer(r4)), ['192.0.2.99']);
      assert.equal(r4.headers['cache-control'], 'max-age=60');
    });
  }

  test('DoH: ALPN offers h2 and http/1.1', { timeout: 10_000 }, async () => {
    for (const proto of ['h2', 'http/1.1']) {
      const sock = tls.connect({ host: '127.0.0.1', port: port.doh, ca: ca(), ALPNProtocols: [proto] });
      await once(sock, 'secureConnect');
      assert.equal(sock.alpnProtocol, proto);
      sock.destroy();
    }
  });

  test('DoH: negative answers are cached no longer than the SOA minimum (RFC 8484 5.1)', { timeout: 10_000 }, async () => {
    const r = await h2(port.doh, get('nope.cluster.test'));
    const reply = dnsAnswer(r);
    assert.equal(reply.rcode, 'NXDOMAIN');
    const soa = reply.authorities.find((a) => a.type === 'SOA')!;
    assert.equal(r.headers['cache-control'], `max-age=${Math.min(soa.ttl, soa.data.minimum as number)}`);
  });

  test('DoH: a query with ID 0 (RFC 8484 4.1) is answered with ID 0', { timeout: 10_000 }, async () => {
    const reply = dnsAnswer(await h2(port.doh, get('www.cluster.test', { id: 0 })));
    assert.equal(reply.id, 0);
    assert.deepEqual(addresses(reply), ['192.0.2.1']);
  });

  test('DoH: DNS errors are HTTP 200 with the DNS message (FORMERR, REFUSED)', { timeout: 10_000 }, async () => {
    const noQuestion = Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]);
    const formerr = dnsAnswer(await h2(port.doh, post(noQuestion)));
    assert.equal(formerr.rcode, 'FORMERR');
    assert.equal(formerr.id, 0x1234);
    // The plain block serves cluster.test only: anything else is REFUSED.
    const r = await h1(port.plain, get('www.example.test'), false);
    assert.equal(r.headers['cache-control'], 'max-age=5');
    assert.equal(dnsAnswer(r).rcode, 'REFUSED');
  });

  test('DoH: refusals: 404 path, 405 method, 415 type, 400 bad message, 413 too large', { timeout: 20_000 }, async () => {
    const query = encodeQuery('www.cluster.test');
    const response = Buffer.from(query);
    response[2]! |= 0x80; // QR: a response is not a query
    const big = Buffer.alloc(65536, 1);
    const cases: Array<[string, HttpCall, number]> = [
      ['other path', { path: '/resolve?dns=' + query.toString('base64url') }, 404],
      ['root path', { path: '/' }, 404],
      ['PUT', { method: 'PUT', path: '/dns-query', headers: { 'content-type': 'application/dns-message' }, body: query }, 405],
      ['DELETE', { method: 'DELETE', path: '/dns-query' }, 405],
      ['POST text/plain', post(query, 'text/plain'), 415],
      ['POST application/dns-json', post(query, 'application/dns-json'), 415],
      ['POST without a type', { method: 'POST', path: '/dns-query', body: query }, 415],
      ['GET without dns', { path: '/dns-query' }, 400],
      ['GET with two dns', { path: `/dns-query?dns=${query.toString('base64url')}&dns=${query.toString('base64url')}` }, 400],
      ['GET with a bad dns', { path: '/dns-query?dns=!!not*base64' }, 400],
      ['GET too short', { path: '/dns-query?dns=AAAA' }, 400],
      ['POST empty', post(Buffer.alloc(0)), 400],
      ['POST a response', post(response), 400],
      ['POST over 65535 bytes', post(big), 413],
    ];
    for (const [label, send] of [['HTTP/2', h2], ['HTTP/1.1', h1]] as const) {
      for (const [what, call, status] of cases) {
        const r = await send(port.doh, call);
        assert.equal(r.status, status, `${label} ${what}: ${r.status} ${r.body.toString()}`);
        assert.notEqual(r.headers['content-type'], 'application/dns-message', `${label} ${what}`);
        if (status === 405) assert.equal(r.headers['allow'], 'GET, POST');
      }
    }
    // Upper-case media type with a parameter is still application/dns-message.
    assert.deepEqual(addresses(dnsAnswer(await h1(port.doh, post(query, 'Application/DNS-Message; charset=binary')))), ['192.0.2.1']);
    // Padding, which RFC 8484 leaves out, is forgiven.
    const padded = encodeQuery('api.cluster.test').toString('base64');
    assert.deepEqual(addresses(dnsAnswer(await h2(port.doh, { path: `/dns-query?dns=${padded.replaceAll('+', '-').replaceAll('/', '_')}` }))), ['192.0.2.2']);
  });

  test('without tls, as CoreDNS: DoH over plain HTTP/1.1, DoT as plain TCP (for a TLS-terminating proxy)', { timeout: 10_000 }, async () => {
    assert.deepEqual(addresses(dnsAnswer(await h1(port.plain, get('www.cluster.test'), false))), ['192.0.2.1']);
    assert.deepEqual(addresses(dnsAnswer(await h1(port.plain, post(encodeQuery('api.cluster.test')), false))), ['192.0.2.2']);
    assert.equal((await h1(port.plain, { path: '/x' }, false)).status, 404);
    const c = new TcpConnection(port.plainDot);
    try {
      const [a, b] = await Promise.all([c.query('www.cluster.test'), c.query('api.cluster.test')]);
      assert.deepEqual([...addresses(a), ...addresses(b)], ['192.0.2.1', '192.0.2.2']);
    } finally {
      c.close();
    }
  });

  test('client_auth require_and_verify: no certificate, no answer; the CA-signed one gets in', { timeout: 10_000 }, async () => {
    const without = dot(port.mtls).then(({ c }) => c.query('who.test', { timeoutMs: 2000 }).finally(() => c.close()));
    await assert.rejects(without);
    const c = certs();
    const { c: conn, sock } = await dot(port.mtls, { cert: readFileSync(c.client), key: readFileSync(c.clientKey) });
    try {
      const r = await conn.query('who.test');
      assert.equal(r.rcode, 'NOERROR');
      assert.ok(r.additionals.some((a) => a.type === 'SRV' && a.name === '_tcp.who.test' && a.data.port === sock.localPort), 'whoami sees a TCP client');
    } finally {
      conn.close();
    }
  });

  test('timeouts idle applies to DoT connections', { timeout: 10_000 }, async () => {
    const c = certs();
    const { c: conn } = await dot(port.mtls, { cert: readFileSync(c.client), key: readFileSync(c.clientKey) });
    const t0 = Date.now();
    await conn.query('who.test');
    await conn.closed;
    const ms = Date.now() - t0;
    assert.ok(ms >= 800 && ms < 3000, `closed after ${ms} ms (idle 1s)`);
  });

  test('metrics: server="tls://…" and "https://…", proto tcp; coredns_dns_https_responses_total by status', { timeout: 10_000 }, async () => {
    await h2(port.doh, get('www.cluster.test'));
    await dotQuery(port.dot, 'www.cluster.test');
    const m = await scrapeMetrics(port.metrics);
    const tlsServer = `tls://127.0.0.1:${port.dot}`;
    const httpsServer = `https://127.0.0.1:${port.doh}`;
    assert.ok(m.sum('coredns_dns_requests_total', { server: tlsServer, zone: '.', proto: 'tcp' }) >= 1);
    assert.ok(m.sum('coredns_dns_requests_total', { server: httpsServer, zone: '.', proto: 'tcp' }) >= 1);
    assert.equal(m.sum('coredns_dns_requests_total', { server: tlsServer, proto: 'udp' }), 0);
    assert.equal(m.sum('coredns_dns_requests_total', { server: httpsServer, proto: 'udp' }), 0);
    assert.ok(m.sum('coredns_dns_responses_total', { server: httpsServer, rcode: 'NOERROR', plugin: 'records' }) >= 1);
    assert.ok(m.sum('coredns_plugin_enabled', { server: tlsServer, name: 'forward' }) === 1);
    const statuses = (server: string): Record<string, number> => Object.fromEntries(m.series('coredns_dns_https_responses_total', { server }).map((x) => [x.labels.status!, x.value]));
    const doh = statuses(httpsServer);
    for (const st of ['200', '400', '404', '405', '413', '415']) assert.ok((doh[st] ?? 0) >= 1, `status ${st}: ${JSON.stringify(doh)}`);
    assert.ok((statuses(`https://127.0.0.1:${port.plain}`)['200'] ?? 0) >= 1, 'counted without a prometheus plugin in the block, as CoreDNS');
  });

  describe('dig as a client', { skip: missingTool('dig') ?? digLacksTls() }, () => {
    const dig = (args: string[]): Promise<string> => new Promise((resolve, reject) => {
      execFile('dig', ['@127.0.0.1', `+tls-ca=${certs().ca}`, '+tries=1', '+time=5', '+short', ...args], { timeout: 15_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout.trim())));
    });
    test('dig +tls (DoT)', { timeout: 20_000 }, async () => {
      assert.equal(await dig(['-p', String(port.dot), '+tls', 'www.cluster.test']), '192.0.2.1');
      assert.equal(await dig(['-p', String(port.dot), '+tls', '+tls-hostname=dns.kdns.test', 'www.example.test']), '192.0.2.10');
    });
    test('dig +https (DoH over HTTP/2, POST and GET)', { timeout: 20_000 }, async () => {
      assert.equal(await dig(['-p', String(port.doh), '+https', 'www.cluster.test']), '192.0.2.1');
      assert.equal(await dig(['-p', String(port.doh), '+https-get', 'api.cluster.test']), '192.0.2.2');
      assert.equal(await dig(['-p', String(port.doh), '+https=/dns-query', 'late.slow.test']), '192.0.2.99');
    });
  });
});

/** Why this dig cannot test DoT/DoH (BIND before 9.17 has no +tls / +https), or undefined. */
function digLacksTls(): string | undefined {
  try {
    const help = execFileSync('dig', ['-h'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return help.includes('+[no]tls') && help.includes('+[no]https') ? undefined : 'this dig has no +tls/+https (BIND 9.18 or newer has them)';
  } catch {
    return 'dig -h failed';
  }
}

describe('DoT and DoH listeners in the process life', { skip: NO_OPENSSL }, () => {
  let fault: FaultServer | null = null;
  before(async () => {
    fault = await startFaultServer();
    fault.setRecords('late.slow.test', [{ type: 'A', data: '192.0.2.99', ttl: 60 }]);
  });
  after(async () => {
    await fault?.stop();
  });

  /** One worker, at most 3 connections each listener; a dns:// block takes the crash hook. */
  async function server(dotPort: number, dohPort: number, extra: { env?: Record<string, string>; block?: string } = {}): Promise<RunningServer> {
    const c = certs();
    return startServer(`.:{PORT} {
    bind 127.0.0.1
    whoami
}
tls://.:${dotPort} https://.:${dohPort} {
    bind 127.0.0.1
    tls ${c.server} ${c.serverKey}
${extra.block ?? ''}${RECORDS}    forward . ${fault!.address}
}
`, { workers: 1, args: ['-tcp.maxconns', '3'], env: extra.env });
  }

  test('a crashed worker is replaced and its DoT and DoH listeners with it', { timeout: 60_000 }, async () => {
    const [dotPort, dohPort] = [await freePort(), await freePort()];
    const s = await server(dotPort, dohPort, { env: { KDNS_TEST_HOOKS: '1' } });
    try {
      assert.deepEqual(addresses(await dotQuery(dotPort, 'www.cluster.test')), ['192.0.2.1']);
      const c = new TcpConnection(s.port);
      await c.connected();
      c.send(encodeQuery('crash.kdns.test', { type: 'TXT', cls: 'CH' }));
      await eventually(async () => assert.match(s.stderr(), /worker 0 died: test hook: worker crash requested; starting a replacement/), 15_000);
      c.close();
      // Bounds for a loaded machine: a replacement thread loads the plugins and TLS afresh.
      await eventually(async () => assert.deepEqual(addresses(await dotQuery(dotPort, 'www.cluster.test')), ['192.0.2.1']), 15_000);
      await eventually(async () => assert.deepEqual(addresses(dnsAnswer(await h2(dohPort, get('api.cluster.test')))), ['192.0.2.2']), 15_000);
    } finally {
      await s.stop('SIGKILL');
    }
  });

  test('-tcp.maxconns caps open DoT and DoH connections per worker', { timeout: 30_000 }, async () => {
    const [dotPort, dohPort] = [await freePort(), await freePort()];
    const s = await server(dotPort, dohPort);
    const open: TcpConnection[] = [];
    const sessions: http2.ClientHttp2Session[] = [];
    try {
      for (let i = 0; i < 3; i++) open.push((await dot(dotPort)).c);
      await assert.rejects(dot(dotPort).then(({ c }) => c.query('www.cluster.test', { timeoutMs: 1500 }).finally(() => c.close())), 'a 4th DoT connection is closed');
      open.pop()!.close();
      await eventually(async () => assert.deepEqual(addresses(await dotQuery(dotPort, 'www.cluster.test')), ['192.0.2.1']), 5000);
      for (let i = 0; i < 3; i++) {
        const session = http2.connect(`https://127.0.0.1:${dohPort}`, { ca: ca() });
        session.on('error', () => {});
        await once(session, 'connect');
        sessions.push(session);
      }
      await assert.rejects(h2(dohPort, get('www.cluster.test')), 'a 4th DoH connection is closed');
    } finally {
      for (const c of open) c.close();
      for (const x of sessions) x.destroy();
      await s.stop('SIGKILL');
    }
  });

  test('SIGTERM: answers owed are written, idle DoT and DoH connections are closed, exit 0', { timeout: 30_000 }, async () => {
    const [dotPort, dohPort] = [await freePort(), await freePort()];
    const s = await server(dotPort, dohPort);
    fault!.behave('delay 800', { name: 'late.slow.test' });
    try {
      const idle = await dot(dotPort);
      const busy = await dot(dotPort);
      const session = http2.connect(`https://127.0.0.1:${dohPort}`, { ca: ca() });
      session.on('error', () => {});
      await once(session, 'connect');
      const sessionClosed = once(session, 'close');
      const h1Socket = tls.connect({ host: '127.0.0.1', port: dohPort, ca: ca(), ALPNProtocols: ['http/1.1'] });
      h1Socket.on('error', () => {});
      await once(h1Socket, 'secureConnect');
      const h1Closed = once(h1Socket, 'close');
      // Forwarded with an 800 ms delay upstream: in flight when SIGTERM arrives.
      const pending = busy.c.query('late.slow.test', { timeoutMs: 5000 });
      const dohPending = h2(dohPort, get('late.slow.test'));
      await sleep(200);
      const t0 = Date.now();
      const exited = s.stop('SIGTERM');
      assert.deepEqual(addresses(await pending), ['192.0.2.99'], 'the DoT answer owed is written before the connection closes');
      assert.deepEqual(addresses(dnsAnswer(await dohPending)), ['192.0.2.99'], 'the DoH answer owed is written');
      await busy.c.closed;
      await idle.c.closed;
      await sessionClosed;
      await h1Closed;
      assert.equal(await exited, 0);
      assert.ok(Date.now() - t0 < 4000, `exit took ${Date.now() - t0} ms: idle connections must not hold it up`);
    } finally {
      fault!.reset();
      await s.stop('SIGKILL');
    }
  });

  test('reload keeps DoT and DoH answering; old connections are closed once answered', { timeout: 40_000 }, async () => {
    const [dotPort, dohPort] = [await freePort(), await freePort()];
    const s = await server(dotPort, dohPort, { env: { KDNS_RELOAD_MIN_INTERVAL_MS: '200' }, block: '    reload 400ms 200ms\n' });
    try {
      const old = await dot(dotPort);
      assert.deepEqual(addresses(await old.c.query('www.cluster.test')), ['192.0.2.1']);
      // Fresh DoT and DoH connections all through the reload: none may fail.
      const failures: string[] = [];
      const seen = new Set<string>();
      let running = true;
      const loop = (async () => {
        while (running) {
          try {
            seen.add(addresses(await dotQuery(dotPort, 'www.cluster.test'))[0]!);
            seen.add(addresses(dnsAnswer(await h1(dohPort, get('www.cluster.test'))))[0]!);
          } catch (err) {
            failures.push((err as Error).message);
          }
          await sleep(20);
        }
      })();
      await sleep(300);
      const file = s.proc.spawnargs[s.proc.spawnargs.indexOf('-conf') + 1]!;
      writeFileSync(file, readFileSync(file, 'utf8').replace('www 300 IN A 192.0.2.1', 'www 300 IN A 192.0.2.3'));
      await s.waitFor('Reloading complete', 10_000);
      await eventually(async () => assert.ok(seen.has('192.0.2.3')), 5000);
      running = false;
      await loop;
      assert.deepEqual(failures, []);
      await old.c.closed; // the old worker drained it
      assert.deepEqual(addresses(await dotQuery(dotPort, 'www.cluster.test')), ['192.0.2.3']);
      assert.deepEqual(addresses(dnsAnswer(await h2(dohPort, get('www.cluster.test')))), ['192.0.2.3']);
    } finally {
      await s.stop('SIGKILL');
    }
  });
});

describe('DoT and DoH configuration errors: one line with file:line and a hint, exit 1', { skip: NO_OPENSSL }, () => {
  const block = (body: string, key = 'tls://.:8853'): string => `${key} {\n${body}    whoami\n}\n`;

  test('unreadable certificate', { timeout: 15_000 }, async () => {
    const err = await configError(block(`    tls /nonexistent/cert.pem ${certs().serverKey}\n`));
    assert.match(err, /^kdns: Corefile:2:9: cannot read the certificate file '\/nonexistent\/cert\.pem': ENOENT/);
    assert.match(err, /hint: /);
  });

  test('a key that does not belong to the certificate', { timeout: 15_000 }, async () => {
    const c = certs();
    const err = await configError(block(`    tls ${c.server} ${c.clientKey}\n`, 'https://.:8443'));
    assert.match(err, new RegExp(`^kdns: Corefile:2:\\d+: the key in '${c.clientKey}' does not match the certificate in '${c.server}'`));
  });

  test('a certificate file that holds none, a CA file that holds none', { timeout: 15_000 }, async () => {
    const c = certs();
    assert.match(await configError(block(`    tls ${c.serverKey} ${c.serverKey}\n`)), /Corefile:2:9: '.*server\.key' holds no PEM certificate/);
    assert.match(await configError(block(`    tls ${c.server} ${c.serverKey} ${c.serverKey}\n`)), /Corefile:2:\d+: '.*server\.key' holds no PEM CA certificate/);
  });

  test('tls in a dns:// block', { timeout: 15_000 }, async () => {
    const c = certs();
    const err = await configError(block(`    tls ${c.server} ${c.serverKey}\n`, '.:8053'));
    assert.match(err, /^kdns: Corefile:2:5: tls has no effect in a dns:\/\/ server block \(dns:\/\/\.:8053\)\n  hint: serve DNS over TLS with a tls:\/\/ZONE\[:PORT\] block/);
  });

  test('bad arguments and options', { timeout: 20_000 }, async () => {
    const c = certs();
    assert.match(await configError(block(`    tls ${c.server}\n`)), /Corefile:2:5: tls needs a certificate and a key file\n  hint: usage: tls CERT KEY \[CA\]/);
    assert.match(await configError(block(`    tls ${c.server} ${c.serverKey} {\n        client_auth require_any\n    }\n`)), /Corefile:3:21: unknown authentication type 'require_any'\n  hint: CoreDNS's name for it is 'require'/);
    assert.match(await configError(block(`    tls ${c.server} ${c.serverKey} {\n        ciphers x\n    }\n`)), /Corefile:3:9: unknown option 'ciphers' for tls/);
  });

  test('one port, two schemes; one listener, two certificates', { timeout: 20_000 }, async () => {
    const c = certs();
    const mixed = `.:8853 {\n    whoami\n}\ntls://example.org:8853 {\n    tls ${c.server} ${c.serverKey}\n    whoami\n}\n`;
    assert.match(await configError(mixed), /Corefile:4:1: port 8853 is used by a dns:\/\/ block and by a tls:\/\/ block\n  hint: one port serves one scheme/);
    const twoCerts = `tls://a.test:8853 {\n    tls ${c.server} ${c.serverKey}\n    whoami\n}\ntls://b.test:8853 {\n    tls ${c.client} ${c.clientKey}\n    whoami\n}\n`;
    assert.match(await configError(twoCerts), /Corefile:5:1: the tls:\/\/ blocks on port 8853 have different tls settings\n  hint: .*other block at Corefile:1/);
  });

  for (const scheme of ['tls', 'https']) {
    test(`${scheme}:// port already in use`, { timeout: 15_000 }, async () => {
      const busy = net.createServer();
      await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
      const p = (busy.address() as net.AddressInfo).port;
      try {
        const file = join(tempDir(), 'Corefile');
        writeFileSync(file, `${scheme}://.:${p} {\n    bind 127.0.0.1\n    tls ${certs().server} ${certs().serverKey}\n    whoami\n}\n`);
        const r = await runCli(['-conf', file, '-workers', '1']);
        assert.equal(r.code, 1);
        assert.equal(r.stderr, `kdns: listen tcp 127.0.0.1:${p}: address already in use (another server (web, DNS, or another kdns) is running on port ${p})\n`);
      } finally {
        busy.close();
      }
    });
  }
});
