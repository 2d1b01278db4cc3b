// health and ready through the real process: HTTP probes, lameduck on SIGTERM, readiness that
// follows the kubernetes plugin's first sync and turns 503 when shutdown starts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { namespace, service, startFakeApiServer } from './fake-apiserver/index.ts';
import { udpQuery } from './helpers/dns-client.ts';
import { writeFileSync } from 'node:fs';
import { freePort, runCli, startServer, tempDir } from './helpers/server-process.ts';
import { eventually } from './helpers/eventually.ts';

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}

test('/health answers 200 OK; lameduck keeps DNS answering after SIGTERM, then exit 0', async () => {
  const http = await freePort();
  const s = await startServer(`.:{PORT} {\n    bind 127.0.0.1\n    health 127.0.0.1:${http} {\n        lameduck 1s\n    }\n    whoami\n}\n`, { workers: 1 });
  assert.deepEqual(await get(http, '/health'), { status: 200, body: 'OK' });
  assert.equal((await get(http, '/nothing')).status, 404);
  const t0 = Date.now();
  const exited = s.stop('SIGTERM');
  await new Promise((r) => setTimeout(r, 300));
  // Still answering in lameduck, and still healthy.
  assert.equal((await udpQuery(s.port, 'example.org')).rcode, 'NOERROR');
  assert.deepEqual(await get(http, '/health'), { status: 200, body: 'OK' });
  assert.equal(await exited, 0);
  assert.ok(Date.now() - t0 >= 950, `stopped after ${Date.now() - t0} ms, before the 1s lameduck ended`);
});

test('/ready is 503 naming kubernetes until its first sync, 200 after, and 503 once shutdown starts', async () => {
  const api = await startFakeApiServer({});
  try {
    await api.client.bulk([namespace('prod'), service({ name: 'web', ns: 'prod', clusterIP: '10.96.40.1', ports: [80] })]);
    await api.client.pause('503');
    const http = await freePort();
    const s = await startServer(
      `.:{PORT} {\n    bind 127.0.0.1\n    ready 127.0.0.1:${http}\n    health 127.0.0.1:${await freePort()} {\n        lameduck 2s\n    }\n` +
        `    kubernetes cluster.local {\n        endpoint ${api.url}\n        startup_timeout 200ms\n    }\n    whoami\n}\n`,
      { workers: 1 },
    );
    assert.deepEqual(await get(http, '/ready'), { status: 503, body: 'kubernetes' });
    await api.client.resume();
    await eventually(async () => assert.deepEqual(await get(http, '/ready'), { status: 200, body: 'OK' }), 20_000);
    // The API going away later does not make us unready: ready is asked until it says yes once.
    await api.client.pause('503');
    assert.equal((await get(http, '/ready')).status, 200);
    const exited = s.stop('SIGTERM');
    await eventually(async () => assert.deepEqual(await get(http, '/ready'), { status: 503, body: 'shutdown' }), 1500);
    assert.equal((await udpQuery(s.port, 'web.prod.svc.cluster.local')).rcode, 'NOERROR', 'DNS still answers during lameduck');
    assert.equal(await exited, 0);
  } finally {
    await api.stop();
  }
});

test('an HTTP port in use is one clear line and exit code 1; bad addresses are config errors', async () => {
  const http = await freePort();
  const holder = await startServer(`.:{PORT} {\n    bind 127.0.0.1\n    health 127.0.0.1:${http}\n    whoami\n}\n`, { workers: 1 });
  try {
    const dir = tempDir();
    writeFileSync(`${dir}/Corefile`, `.:${await freePort()} {\n    bind 127.0.0.1\n    health 127.0.0.1:${http}\n    whoami\n}\n`);
    const r = await runCli(['-conf', `${dir}/Corefile`, '-workers', '1']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`kdns: listen tcp 127\\.0\\.0\\.1:${http}: address already in use`));
    writeFileSync(`${dir}/Corefile`, `.:${await freePort()} {\n    ready localhost\n    health {\n        lameduck soon\n    }\n}\n`);
    const bad = await runCli(['-conf', `${dir}/Corefile`, '-workers', '1']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Corefile:2:11: 'localhost' is not a listen address/);
  } finally {
    await holder.stop();
  }
});
