// The fake Kubernetes API server (test/fake-apiserver/): list, get, watch, selectors, pagination,
// 410 Gone, bookmarks, outages and bulk loads, over raw HTTP and through @kubernetes/client-node's
// informer, against the server running as its own process.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import * as k8s from '@kubernetes/client-node';
import { endpointSlice, namespace, pod, service, startFakeApiServer, type K8sObject, type RunningFakeApiServer } from './fake-apiserver/index.ts';

type Json = Record<string, any>;

async function until(pred: () => boolean | Promise<boolean>, what: string, timeoutMs = 4000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function getJson(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Json; headers: Headers }> {
  const r = await fetch(url, { headers, signal: AbortSignal.timeout(5000) });
  return { status: r.status, body: (await r.json()) as Json, headers: r.headers };
}

interface WatchEvent {
  type: string;
  object: Json;
}

/** A raw watch over node:http, collecting the newline-delimited events. */
function openWatch(url: string, headers: Record<string, string> = {}) {
  const events: WatchEvent[] = [];
  let ended = false;
  let endedError: Error | undefined;
  let statusCode = 0;
  let responseHeaders: http.IncomingHttpHeaders = {};
  let buf = '';
  const req = http.get(url, { headers, agent: false }, (res) => {
    statusCode = res.statusCode ?? 0;
    responseHeaders = res.headers;
    res.setEncoding('utf8');
    res.on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.trim()) events.push(JSON.parse(line) as WatchEvent);
      }
    });
    res.on('end', () => (ended = true));
    res.on('error', (e) => {
      endedError = e;
      ended = true;
    });
    res.on('aborted', () => {
      endedError ??= new Error('aborted');
      ended = true;
    });
  });
  req.on('error', (e) => {
    endedError = e;
    ended = true;
  });
  return {
    events,
    get ended() {
      return ended;
    },
    get error() {
      return endedError;
    },
    get status() {
      return statusCode;
    },
    get headers() {
      return responseHeaders;
    },
    waitFor(n: number, what = `${n} events`) {
      return until(() => events.length >= n, `${what} (have ${JSON.stringify(events.map((e) => e.type))})`);
    },
    waitEnd() {
      return until(() => ended, 'end of watch');
    },
    close() {
      req.destroy();
    },
  };
}

const names = (body: Json): string[] => (body.items as K8sObject[]).map((o) => o.metadata.name!);

describe('fake API server', () => {
  let srv: RunningFakeApiServer;
  before(async () => {
    srv = await startFakeApiServer({ bookmarkMs: 150, history: 1000 });
  });
  after(async () => {
    assert.equal(await srv.stop(), 0, 'exits 0 on SIGTERM');
  });

  test('prints its URL and serves /healthz, /version and discovery', async () => {
    assert.match(srv.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const h = await fetch(`${srv.url}/healthz`);
    assert.equal(h.status, 200);
    assert.equal(await h.text(), 'ok');
    const v = await getJson(`${srv.url}/version`);
    assert.equal(v.body.major, '1');
    assert.match(v.body.gitVersion, /^v1\.\d+\.\d+/);
    const api = await getJson(`${srv.url}/api`);
    assert.equal(api.body.kind, 'APIVersions');
    assert.deepEqual(api.body.versions, ['v1']);
    const apis = await getJson(`${srv.url}/apis`);
    assert.equal(apis.body.kind, 'APIGroupList');
    assert.ok(apis.body.groups.some((g: Json) => g.name === 'discovery.k8s.io'));
    const core = await getJson(`${srv.url}/api/v1`);
    assert.deepEqual(
      core.body.resources.map((r: Json) => r.name),
      ['namespaces', 'services', 'endpoints', 'pods'],
    );
    const disc = await getJson(`${srv.url}/apis/discovery.k8s.io/v1`);
    assert.equal(disc.body.resources[0].kind, 'EndpointSlice');
    const nf = await getJson(`${srv.url}/api/v1/secrets`);
    assert.equal(nf.status, 404);
    assert.equal(nf.body.kind, 'Status');
  });

  test('objects get uid, creationTimestamp and resourceVersions from one global counter; lists have the right kinds', async () => {
    const c = srv.client;
    const rv0 = Number(await c.resourceVersion());
    const ns = await c.create(namespace('objs', { team: 'a' }));
    assert.equal(ns.metadata.resourceVersion, String(rv0 + 1));
    assert.deepEqual(ns.metadata.labels, { team: 'a', 'kubernetes.io/metadata.name': 'objs' });
    const svc = await c.create(service({ name: 'web', ns: 'objs', ports: [{ name: 'http', port: 80, targetPort: 8080 }], selector: { app: 'web' } }));
    assert.equal(svc.metadata.resourceVersion, String(rv0 + 2));
    assert.match(svc.metadata.uid!, /^[0-9a-f-]{36}$/);
    assert.match(svc.metadata.creationTimestamp!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const spec = svc.spec as Json;
    assert.match(spec.clusterIP, /^10\.\d+\.\d+\.\d+$/, 'the server allocates a clusterIP');
    assert.deepEqual(spec.clusterIPs, [spec.clusterIP]);
    assert.deepEqual(spec.ipFamilies, ['IPv4']);
    assert.deepEqual(spec.ports, [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }]);
    const eps = await c.create(
      endpointSlice({ name: 'web-abcde', ns: 'objs', service: 'web', endpoints: [{ addresses: ['10.1.0.5'], hostname: 'w0', nodeName: 'n1', targetRef: { name: 'web-0' } }], ports: [{ name: 'http', port: 8080 }] }),
    );
    assert.equal(eps.apiVersion, 'discovery.k8s.io/v1');
    assert.equal((eps.metadata.labels as Json)['kubernetes.io/service-name'], 'web');
    const empty = await c.create(endpointSlice({ name: 'web-empty', ns: 'objs', service: 'web' }));
    assert.equal(empty.endpoints, null, 'an empty endpoints list is null, as the real API writes it');
    await c.create(pod({ name: 'web-0', ns: 'objs', ip: '10.1.0.5', labels: { app: 'web' } }));

    const list = await getJson(`${srv.url}/api/v1/namespaces/objs/services`);
    assert.equal(list.status, 200);
    assert.equal(list.headers.get('content-type'), 'application/json');
    assert.equal(list.body.kind, 'ServiceList');
    assert.equal(list.body.apiVersion, 'v1');
    assert.equal(list.body.metadata.resourceVersion, await c.resourceVersion());
    assert.deepEqual(names(list.body), ['web']);
    assert.equal(list.body.items[0].kind, 'Service');
    const sl = await getJson(`${srv.url}/apis/discovery.k8s.io/v1/namespaces/objs/endpointslices`);
    assert.equal(sl.body.kind, 'EndpointSliceList');
    assert.equal(sl.body.apiVersion, 'discovery.k8s.io/v1');
    assert.deepEqual(names(sl.body), ['web-abcde', 'web-empty']);
    assert.equal((await getJson(`${srv.url}/apis/discovery.k8s.io/v1/endpointslices`)).body.items.length >= 2, true);
    const pods = await getJson(`${srv.url}/api/v1/pods`);
    assert.equal(pods.body.kind, 'PodList');
    assert.equal(pods.body.items.find((p: Json) => p.metadata.name === 'web-0').status.podIP, '10.1.0.5');
    const nsl = await getJson(`${srv.url}/api/v1/namespaces`);
    assert.equal(nsl.body.kind, 'NamespaceList');
    const one = await getJson(`${srv.url}/api/v1/namespaces/objs`);
    assert.equal(one.body.kind, 'Namespace');
    assert.equal(one.body.metadata.name, 'objs');
    const missing = await getJson(`${srv.url}/api/v1/namespaces/objs/services/nope`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.reason, 'NotFound');

    // An update keeps uid and creationTimestamp and takes a new version; an identical one is a no-op.
    const upd = await c.update(service({ name: 'web', ns: 'objs', ports: [{ name: 'http', port: 81 }], selector: { app: 'web' } }));
    assert.equal(upd.metadata.uid, svc.metadata.uid);
    assert.equal((upd.spec as Json).clusterIP, spec.clusterIP, 'the clusterIP is kept');
    assert.ok(Number(upd.metadata.resourceVersion) > Number(svc.metadata.resourceVersion));
    const same = await c.update(service({ name: 'web', ns: 'objs', ports: [{ name: 'http', port: 81 }], selector: { app: 'web' } }));
    assert.equal(same.metadata.resourceVersion, upd.metadata.resourceVersion);
    await assert.rejects(c.create(service({ name: 'web', ns: 'objs' })), /409/);
    const del = await c.delete({ kind: 'Service', namespace: 'objs', name: 'web' });
    assert.ok(Number(del.metadata.resourceVersion) > Number(upd.metadata.resourceVersion), 'the deleted object carries the deletion version');
    await assert.rejects(c.get({ kind: 'Service', namespace: 'objs', name: 'web' }), /404/);
  });

  test('label and field selectors', async () => {
    const c = srv.client;
    await c.bulk([
      service({ name: 'a', ns: 'sel', labels: { app: 'web', tier: 'front' } }),
      service({ name: 'b', ns: 'sel', labels: { app: 'web', tier: 'back' } }),
      service({ name: 'c', ns: 'sel', labels: { app: 'db' } }),
      service({ name: 'd', ns: 'sel' }),
      service({ name: 'a', ns: 'sel2', labels: { app: 'web' } }),
    ]);
    const q = async (sel: string, path = '/api/v1/namespaces/sel/services'): Promise<string[]> => {
      const r = await getJson(`${srv.url}${path}?${sel}`);
      assert.equal(r.status, 200, `${sel}: ${JSON.stringify(r.body)}`);
      return names(r.body);
    };
    const ls = (s: string): string => `labelSelector=${encodeURIComponent(s)}`;
    assert.deepEqual(await q(ls('app=web')), ['a', 'b']);
    assert.deepEqual(await q(ls('app==web')), ['a', 'b']);
    assert.deepEqual(await q(ls('app!=web')), ['c', 'd'], '!= matches objects without the label');
    assert.deepEqual(await q(ls('tier')), ['a', 'b']);
    assert.deepEqual(await q(ls('!tier')), ['c', 'd']);
    assert.deepEqual(await q(ls('app in (db, web)')), ['a', 'b', 'c']);
    assert.deepEqual(await q(ls('app notin (web)')), ['c', 'd']);
    assert.deepEqual(await q(ls('app=web,tier!=back')), ['a']);
    assert.deepEqual(await q(ls('app=web'), '/api/v1/services'), ['a', 'b', 'a']);
    const fs = (s: string): string => `fieldSelector=${encodeURIComponent(s)}`;
    assert.deepEqual(await q(fs('metadata.name=b')), ['b']);
    assert.deepEqual(await q(fs('metadata.name!=b')), ['a', 'c', 'd']);
    assert.deepEqual(await q(fs('metadata.namespace=sel2'), '/api/v1/services'), ['a']);
    assert.deepEqual(await q(`${fs('metadata.name=a')}&${ls('app=web')}`, '/api/v1/services'), ['a', 'a']);
    const bad = await getJson(`${srv.url}/api/v1/services?${ls('app in (web')}`);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.reason, 'BadRequest');
    const badField = await getJson(`${srv.url}/api/v1/services?${fs('spec.selector=x')}`);
    assert.equal(badField.status, 400);
    assert.match(badField.body.message, /field label not supported: spec\.selector/);
  });

  test('pagination with limit and continue is a consistent snapshot; expired tokens get 410', async () => {
    const c = srv.client;
    const objs = [];
    for (let i = 0; i < 25; i++) objs.push(service({ name: `s${String(i).padStart(2, '0')}`, ns: 'page', clusterIP: `10.100.0.${i + 1}` }));
    await c.bulk(objs);
    const base = `${srv.url}/api/v1/namespaces/page/services`;
    const p1 = await getJson(`${base}?limit=10`);
    assert.equal(p1.body.items.length, 10);
    assert.equal(p1.body.metadata.remainingItemCount, 15);
    const rv = p1.body.metadata.resourceVersion;
    assert.ok(p1.body.metadata.continue);
    // Changes between pages do not show up in the rest of this list.
    await c.delete({ kind: 'Service', namespace: 'page', name: 's15' });
    await c.create(service({ name: 's12a', ns: 'page' }));
    const p2 = await getJson(`${base}?limit=10&continue=${encodeURIComponent(p1.body.metadata.continue)}`);
    assert.equal(p2.body.metadata.resourceVersion, rv, 'continued pages have the first page version');
    const p3 = await getJson(`${base}?limit=10&continue=${encodeURIComponent(p2.body.metadata.continue)}`);
    assert.equal(p3.body.metadata.continue, undefined);
    const all = [...names(p1.body), ...names(p2.body), ...names(p3.body)];
    assert.deepEqual(all, objs.map((o) => o.metadata.name));
    // A fresh list sees the changes; resourceVersion=0 is served whole (the watch cache ignores limit).
    const fresh = await getJson(`${base}?limit=100`);
    assert.ok(names(fresh.body).includes('s12a') && !names(fresh.body).includes('s15'));
    const rv0 = await getJson(`${base}?limit=5&resourceVersion=0`);
    assert.equal(rv0.body.items.length, 25);
    assert.equal(rv0.body.metadata.continue, undefined);
    // An exact list at an older version.
    const exact = await getJson(`${base}?resourceVersion=${rv}&resourceVersionMatch=Exact`);
    assert.equal(exact.body.metadata.resourceVersion, rv);
    assert.deepEqual(names(exact.body), objs.map((o) => o.metadata.name));
    // After compaction, the continue token is too old: 410 Expired with a token that goes on inconsistently.
    const q1 = await getJson(`${base}?limit=10`);
    await c.create(service({ name: 's99', ns: 'page' }));
    await c.compact();
    const gone = await getJson(`${base}?limit=10&continue=${encodeURIComponent(q1.body.metadata.continue)}`);
    assert.equal(gone.status, 410);
    assert.equal(gone.body.reason, 'Expired');
    assert.ok(gone.body.metadata.continue);
    const onwards = await getJson(`${base}?limit=100&continue=${encodeURIComponent(gone.body.metadata.continue)}`);
    assert.equal(onwards.status, 200);
    assert.ok(names(onwards.body).includes('s99'));
    const tooNew = await getJson(`${base}?resourceVersion=${Number(await c.resourceVersion()) + 100}`);
    assert.equal(tooNew.status, 504);
  });

  test('watch: events after a resourceVersion, synthetic ADDED without one, selector transitions, timeoutSeconds', async () => {
    const c = srv.client;
    await c.create(service({ name: 'w1', ns: 'watch', labels: { app: 'x' } }));
    const list = await getJson(`${srv.url}/api/v1/namespaces/watch/services`);
    const rv = list.body.metadata.resourceVersion;
    const w = openWatch(`${srv.url}/api/v1/namespaces/watch/services?watch=true&resourceVersion=${rv}`);
    const all = openWatch(`${srv.url}/api/v1/services?watch=true`);
    const sel = openWatch(`${srv.url}/api/v1/namespaces/watch/services?watch=1&resourceVersion=${rv}&labelSelector=app%3Dx`);
    await until(async () => (await c.stats()).watches.active >= 3, '3 watches');
    assert.equal(w.status, 200);
    assert.equal(w.headers['transfer-encoding'], 'chunked');
    assert.equal(w.headers['content-type'], 'application/json');
    assert.equal(w.events.length, 0, 'no initial events when starting at a resourceVersion');
    assert.ok(all.events.length >= 1 && all.events.every((e) => e.type === 'ADDED'), 'initial ADDED events without a resourceVersion');
    const initial = all.events.length;

    const w2 = await c.create(service({ name: 'w2', ns: 'watch' }));
    const w1b = await c.update(service({ name: 'w1', ns: 'watch', labels: { app: 'y' } }));
    await c.delete({ kind: 'Service', namespace: 'watch', name: 'w2' });
    await c.create(service({ name: 'other', ns: 'elsewhere' }));
    await w.waitFor(3);
    assert.deepEqual(
      w.events.map((e) => [e.type, e.object.metadata.name]),
      [
        ['ADDED', 'w2'],
        ['MODIFIED', 'w1'],
        ['DELETED', 'w2'],
      ],
    );
    assert.equal(w.events[0]!.object.metadata.resourceVersion, w2.metadata.resourceVersion);
    assert.ok(Number(w.events[2]!.object.metadata.resourceVersion) > Number(w1b.metadata.resourceVersion));
    await all.waitFor(initial + 4);
    // The label change takes w1 out of app=x: that watch sees it as DELETED.
    await sel.waitFor(1);
    assert.deepEqual([sel.events[0]!.type, sel.events[0]!.object.metadata.name], ['DELETED', 'w1']);
    assert.equal(sel.events[0]!.object.metadata.resourceVersion, w1b.metadata.resourceVersion);
    await c.update(service({ name: 'w1', ns: 'watch', labels: { app: 'x' } }));
    await sel.waitFor(2);
    assert.equal(sel.events[1]!.type, 'ADDED');

    // Replay: a watch from the old version gets everything since.
    const replay = openWatch(`${srv.url}/api/v1/namespaces/watch/services?watch=true&resourceVersion=${rv}&timeoutSeconds=1`);
    await replay.waitFor(4);
    assert.deepEqual(replay.events.map((e) => e.type), ['ADDED', 'MODIFIED', 'DELETED', 'MODIFIED']);
    const t0 = Date.now();
    await replay.waitEnd();
    assert.ok(Date.now() - t0 < 1500, 'timeoutSeconds ends the stream');
    assert.equal(replay.error, undefined, 'ends cleanly');
    for (const x of [w, all, sel]) x.close();
  });

  test('watch: BOOKMARK events with allowWatchBookmarks, sendInitialEvents, and 410 Gone after compaction', async () => {
    const c = srv.client;
    await c.create(service({ name: 'b1', ns: 'bm' }));
    const rv = await c.resourceVersion();
    const plain = openWatch(`${srv.url}/api/v1/namespaces/bm/services?watch=true&resourceVersion=${rv}`);
    const bm = openWatch(`${srv.url}/api/v1/namespaces/bm/services?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true`);
    await bm.waitFor(2, 'two bookmarks');
    assert.deepEqual(bm.events.map((e) => e.type), ['BOOKMARK', 'BOOKMARK']);
    const b = bm.events[0]!.object;
    assert.equal(b.kind, 'Service');
    assert.equal(b.apiVersion, 'v1');
    assert.equal(b.metadata.resourceVersion, rv);
    assert.equal(plain.events.length, 0, 'no bookmarks unless asked for');
    await c.create(service({ name: 'b2', ns: 'elsewhere' }));
    await until(() => bm.events.some((e) => e.type === 'BOOKMARK' && Number(e.object.metadata.resourceVersion) > Number(rv)), 'a bookmark with the new version');

    const init = openWatch(`${srv.url}/api/v1/namespaces/bm/services?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true`);
    await init.waitFor(2);
    assert.equal(init.events[0]!.type, 'ADDED');
    assert.equal(init.events[1]!.type, 'BOOKMARK');
    assert.equal(init.events[1]!.object.metadata.annotations['k8s.io/initial-events-end'], 'true');

    await c.create(service({ name: 'b3', ns: 'bm' }));
    await c.compact();
    const gone = openWatch(`${srv.url}/api/v1/namespaces/bm/services?watch=true&resourceVersion=${rv}`);
    await gone.waitFor(1);
    await gone.waitEnd();
    assert.equal(gone.status, 200, 'the real server answers 200 and then an ERROR event');
    assert.equal(gone.events.length, 1);
    assert.equal(gone.events[0]!.type, 'ERROR');
    assert.equal(gone.events[0]!.object.kind, 'Status');
    assert.equal(gone.events[0]!.object.code, 410);
    assert.equal(gone.events[0]!.object.reason, 'Expired');
    for (const x of [plain, bm, init]) x.close();
  });

  test('outages: pause in 503, hang and reset modes, dropWatches, stats', async () => {
    const c = srv.client;
    await c.resetStats();
    const path = `${srv.url}/api/v1/namespaces/outage/services`;
    const w = openWatch(`${path}?watch=true&resourceVersion=${await c.resourceVersion()}`);
    await until(async () => (await c.stats()).watches.active >= 1, 'watch open');
    assert.equal((await c.dropWatches()).dropped >= 1, true);
    await w.waitEnd();
    assert.ok(w.error, 'an abrupt drop is an error on the client side');

    await c.pause('503');
    const r503 = await getJson(path);
    assert.equal(r503.status, 503);
    assert.equal(r503.headers.get('retry-after'), '1');
    await c.resume();
    assert.equal((await getJson(path)).status, 200);

    const rv = await c.resourceVersion();
    const frozen = openWatch(`${path}?watch=true&resourceVersion=${rv}`);
    await until(async () => (await c.stats()).watches.active >= 1, 'watch open');
    await c.pause('hang');
    const held = fetch(path, { signal: AbortSignal.timeout(5000) });
    await c.create(service({ name: 'during', ns: 'outage' }));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(frozen.events.length, 0, 'a partitioned watch gets nothing');
    assert.equal((await c.stats()).paused, 'hang');
    await c.resume();
    assert.equal((await held).status, 200, 'held requests are served on resume');
    await frozen.waitFor(1);
    assert.equal(frozen.events[0]!.object.metadata.name, 'during', 'the watch catches up on resume');
    frozen.close();

    await c.pause('reset');
    await assert.rejects(fetch(path, { signal: AbortSignal.timeout(5000) }), 'the connection is reset');
    await c.resume();
    assert.equal((await getJson(path)).status, 200);

    const s = await c.stats();
    assert.ok(s.requests.byPath['/api/v1/namespaces/outage/services']! >= 6);
    assert.ok(s.requests.byVerb['watch services']! >= 2);
    assert.ok(s.requests.refused >= 3);
    assert.equal(s.objects.services! > 0, true);
  });
});

describe('bearer token', () => {
  let srv: RunningFakeApiServer;
  before(async () => {
    srv = await startFakeApiServer({ token: 's3cret' });
  });
  after(async () => {
    await srv.stop();
  });

  test('API requests need the token; /healthz, /version and the control API do not', async () => {
    const no = await getJson(`${srv.url}/api/v1/services`);
    assert.equal(no.status, 401);
    assert.equal(no.body.reason, 'Unauthorized');
    assert.equal((await getJson(`${srv.url}/api/v1/services`, { authorization: 'Bearer wrong' })).status, 401);
    assert.equal((await getJson(`${srv.url}/api/v1/services`, { authorization: 'Bearer s3cret' })).status, 200);
    assert.equal((await fetch(`${srv.url}/healthz`)).status, 200);
    assert.equal((await srv.client.stats()).requests.total, 4);
  });

  test('the client-node informer authenticates with it', async () => {
    await srv.client.create(service({ name: 'auth', ns: 'default' }));
    const h = informer(srv.url, 's3cret', 'default');
    try {
      await h.start();
      await until(() => h.cache().includes('auth'), 'informer add');
    } finally {
      await h.stop();
    }
  });
});

/** A client-node informer on services of one namespace, restarted on errors like a real controller. */
function informer(url: string, token: string | undefined, ns: string, restartMs = 100) {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: url, skipTLSVerify: true }],
    users: [token ? { name: 'u', token } : { name: 'u' }],
    contexts: [{ name: 'c', cluster: 'fake', user: 'u' }],
    currentContext: 'c',
  });
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const inf = k8s.makeInformer(kc, `/api/v1/namespaces/${ns}/services`, () => core.listNamespacedService({ namespace: ns }));
  const log: string[] = [];
  const errors: unknown[] = [];
  let stopped = false;
  let restartTimer: NodeJS.Timeout | undefined;
  inf.on('add', (o) => log.push(`add ${o.metadata!.name}`));
  inf.on('update', (o) => log.push(`update ${o.metadata!.name}`));
  inf.on('delete', (o) => log.push(`delete ${o.metadata!.name}`));
  inf.on('error', (err) => {
    errors.push(err);
    if (!stopped) restartTimer = setTimeout(() => void inf.start().catch(() => {}), restartMs);
  });
  return {
    inf,
    log,
    errors,
    cache: () => inf.list().map((o) => o.metadata!.name!).sort(),
    start: () => inf.start(),
    async stop() {
      stopped = true;
      clearTimeout(restartTimer);
      await inf.stop();
    },
  };
}

describe('@kubernetes/client-node informer', () => {
  let srv: RunningFakeApiServer;
  before(async () => {
    srv = await startFakeApiServer({ history: 1000 });
  });
  after(async () => {
    await srv.stop();
  });

  test('sees ADD, UPDATE and DELETE', async () => {
    const c = srv.client;
    await c.create(service({ name: 'pre', ns: 'inf1' }));
    const h = informer(srv.url, undefined, 'inf1');
    try {
      await h.start();
      assert.deepEqual(h.log, ['add pre']);
      await c.create(service({ name: 'new', ns: 'inf1' }));
      await c.update(service({ name: 'pre', ns: 'inf1', labels: { v: '2' } }));
      await c.delete({ kind: 'Service', namespace: 'inf1', name: 'new' });
      await c.create(service({ name: 'unrelated', ns: 'other' }));
      await until(() => h.log.length >= 4, 'informer events');
      assert.deepEqual(h.log, ['add pre', 'add new', 'update pre', 'delete new']);
      assert.deepEqual(h.cache(), ['pre']);
      assert.deepEqual(
        h.inf.list().map((o) => [o.metadata!.name, o.spec!.clusterIP?.startsWith('10.')]),
        [['pre', true]],
        'typed objects as client-node deserializes them',
      );
    } finally {
      await h.stop();
    }
  });

  test('reconnects after dropped connections and resumes from its resourceVersion without re-listing', async () => {
    const c = srv.client;
    await c.create(service({ name: 'd0', ns: 'inf2' }));
    const h = informer(srv.url, undefined, 'inf2');
    try {
      await h.start();
      await c.resetStats();
      await c.dropWatches();
      await c.create(service({ name: 'd1', ns: 'inf2' }));
      await until(() => h.cache().includes('d1'), 'd1 after the drop');
      await c.dropWatches({ graceful: true });
      await c.create(service({ name: 'd2', ns: 'inf2' }));
      await until(() => h.cache().includes('d2'), 'd2 after a clean end');
      const s = await c.stats();
      assert.equal(s.requests.byVerb['list services'] ?? 0, 0, 'no re-list: the watch resumed from its version');
      assert.ok(s.requests.byVerb['watch services']! >= 2);
      assert.deepEqual(h.log, ['add d0', 'add d1', 'add d2']);
    } finally {
      await h.stop();
    }
  });

  test('re-lists after 410 Gone when its version was compacted during an outage', async () => {
    const c = srv.client;
    await c.create(service({ name: 'g0', ns: 'inf3' }));
    await c.create(service({ name: 'g1', ns: 'inf3' }));
    const h = informer(srv.url, undefined, 'inf3');
    try {
      await h.start();
      await c.pause('reset');
      await c.resetStats();
      await c.create(service({ name: 'g2', ns: 'inf3' }));
      await c.delete({ kind: 'Service', namespace: 'inf3', name: 'g0' });
      await c.compact();
      await new Promise((r) => setTimeout(r, 150));
      assert.ok(h.errors.length >= 1, 'the informer saw the outage');
      await c.resume();
      await until(() => h.cache().join() === 'g1,g2', `re-list (cache ${h.cache().join()})`);
      const s = await c.stats();
      assert.ok(s.requests.byVerb['list services']! >= 1, 're-listed');
      assert.ok(h.log.includes('add g2') && h.log.includes('delete g0'));
    } finally {
      await h.stop();
    }
  });
});

describe('bulk load', () => {
  let srv: RunningFakeApiServer;
  before(async () => {
    srv = await startFakeApiServer({ history: 1000 });
  });
  after(async () => {
    await srv.stop();
  });

  test('10,000 Services and EndpointSlices load fast and list, page and watch whole', async () => {
    const c = srv.client;
    const N = 10_000;
    const objs: K8sObject[] = [];
    for (let i = 0; i < N; i++) {
      const ns = `ns${i % 50}`;
      const ip = `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
      objs.push(service({ name: `svc${i}`, ns, clusterIP: ip, ports: [{ name: 'http', port: 80 }], selector: { app: `a${i}` } }));
      objs.push(
        endpointSlice({
          name: `svc${i}-x`,
          ns,
          service: `svc${i}`,
          endpoints: [{ addresses: [`10.200.${(i >> 8) & 255}.${i & 255}`], targetRef: { name: `p${i}` } }],
          ports: [{ name: 'http', port: 8080 }],
        }),
      );
    }
    let t = performance.now();
    const r = await c.bulk(objs);
    const loadMs = performance.now() - t;
    assert.equal(r.created, 2 * N);
    t = performance.now();
    const list = await getJson(`${srv.url}/api/v1/services`);
    const listMs = performance.now() - t;
    assert.equal(list.body.items.length, N);
    t = performance.now();
    let pages = 0;
    let count = 0;
    let cont = '';
    do {
      const p = await getJson(`${srv.url}/apis/discovery.k8s.io/v1/endpointslices?limit=500${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`);
      pages++;
      count += p.body.items.length;
      cont = p.body.metadata.continue ?? '';
    } while (cont);
    const pageMs = performance.now() - t;
    assert.equal(count, N);
    assert.equal(pages, N / 500);

    // An informer over all services; then the (unchanged) reload is a no-op, as on a real server.
    const kc = new k8s.KubeConfig();
    kc.loadFromOptions({ clusters: [{ name: 'fake', server: srv.url, skipTLSVerify: true }], users: [{ name: 'u' }], contexts: [{ name: 'c', cluster: 'fake', user: 'u' }], currentContext: 'c' });
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const inf = k8s.makeInformer(kc, '/api/v1/services', () => core.listServiceForAllNamespaces());
    let adds = 0;
    inf.on('add', () => adds++);
    t = performance.now();
    await inf.start();
    const infMs = performance.now() - t;
    try {
      assert.equal(adds, N);
      const again = await c.bulk(objs);
      assert.equal(again.unchanged, 2 * N);
      await c.create(service({ name: 'last', ns: 'ns0' }));
      await until(() => adds === N + 1, 'the informer sees the next add');
    } finally {
      await inf.stop();
    }
    console.log(
      `bulk load of ${N} Services + ${N} EndpointSlices: ${loadMs.toFixed(0)} ms; list of ${N} services: ${listMs.toFixed(0)} ms; ` +
        `${pages} pages of 500 slices: ${pageMs.toFixed(0)} ms; client-node informer initial list: ${infMs.toFixed(0)} ms`,
    );
    assert.ok(loadMs < 5000, `bulk load took ${loadMs} ms`);
  });
});
