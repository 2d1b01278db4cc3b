// Manifest files as a cluster source: label selectors, strict loading with file:line errors, the
// demo cluster, and ManifestSource delivering only differences as files change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LabelSelectorError, parseLabelSelector } from '../src/plugins/kubernetes/label-selector.ts';
import { ManifestError, ManifestSource, loadManifests, readManifests, type ManifestObject } from '../src/plugins/kubernetes/manifests.ts';
import type { ClusterSink } from '../src/plugins/kubernetes/sink.ts';
import { endpointsOf } from '../src/plugins/kubernetes/model.ts';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'kdns-manifests-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const names = (objs: ManifestObject[]) => objs.map((m) => `${m.kind} ${'namespace' in m.object ? `${m.object.namespace}/` : ''}${m.object.name}`);

function throwsManifest(fn: () => unknown, want: { file?: string; line?: number; message: RegExp }): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ManifestError, `expected a ManifestError, got ${String(err)}`);
    if (want.file !== undefined) assert.equal(err.file, want.file);
    if (want.line !== undefined) assert.equal(err.line, want.line, err.message);
    assert.match(err.message, want.message);
    return true;
  });
}

const svcYaml = (name: string, ns: string, ip: string, labels = '') => `apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: ${ns}
${labels ? `  labels: ${labels}\n` : ''}spec:
  clusterIP: ${ip}
  ports: [{name: http, port: 80}]
`;

// --- label selectors -------------------------------------------------------------------------

test('label selector: every operator, whitespace, prefixes, normalized text', () => {
  const sel = parseLabelSelector('  tier in ( web , api ),env==prod,example.com/team = core , !legacy, release notin (canary), owner , zone!=b ');
  // Sorted by key, as the API server normalizes it.
  assert.equal(sel.text, 'env=prod,example.com/team=core,!legacy,owner,release notin (canary),tier in (api,web),zone!=b');
  assert.equal(sel.empty, false);
  const base = { tier: 'web', env: 'prod', 'example.com/team': 'core', owner: 'x' };
  assert.equal(sel.matches(base), true);
  assert.equal(sel.matches({ ...base, zone: 'a', release: 'stable' }), true);
  assert.equal(sel.matches({ ...base, tier: 'db' }), false, 'in');
  assert.equal(sel.matches({ ...base, env: 'dev' }), false, '==');
  assert.equal(sel.matches({ ...base, legacy: '' }), false, '!key');
  assert.equal(sel.matches({ ...base, release: 'canary' }), false, 'notin');
  assert.equal(sel.matches({ ...base, zone: 'b' }), false, '!=');
  const { owner: _owner, ...noOwner } = base;
  assert.equal(sel.matches(noOwner), false, 'exists');
  // The parsed text parses to itself.
  assert.equal(parseLabelSelector(sel.text).text, sel.text);
});

test('label selector: empty selects everything; empty values; prototype keys are not labels', () => {
  for (const text of ['', '   ']) {
    const sel = parseLabelSelector(text);
    assert.equal(sel.text, '');
    assert.equal(sel.empty, true);
    assert.equal(sel.matches({}), true);
  }
  const emptyValue = parseLabelSelector('a=');
  assert.equal(emptyValue.text, 'a=');
  assert.equal(emptyValue.matches({ a: '' }), true);
  assert.equal(emptyValue.matches({}), false);
  assert.equal(parseLabelSelector('toString').matches({}), false);
  assert.equal(parseLabelSelector('!constructor').matches({}), true);
});

test('label selector: bad syntax names the offending part and its column', () => {
  const cases: [string, RegExp][] = [
    ['a=b,', /column 5: expected a label key, found end of selector/],
    ['a b', /column 3: expected '=', '==', '!=', 'in', 'notin'.*found 'b'/],
    ['a in b', /column 6: expected '\(' after 'in', found 'b'/],
    ['a in ()', /column 7: expected a value in the 'in' list, found '\)'/],
    ['a in (x y)', /column 9: expected ',' or '\)'/],
    ['a in (x', /expected ',' or '\)' in the 'in' list, found end of selector/],
    ['a=b=c', /column 4: expected ',' between requirements, found '='/],
    ['!a=b', /'!a' takes no operator or value/],
    ['-bad=x', /column 1: invalid label key '-bad'/],
    ['Example.com/x', /invalid label key 'Example.com\/x': the prefix/],
    ['/x', /invalid label key '\/x'/],
    [`${'k'.repeat(64)}`, /invalid label key/],
    ['a=-x', /column 3: invalid label value '-x'/],
    ['a>1', /column 2: operator '>' is not supported/],
    [',', /column 1: expected a label key, found ','/],
  ];
  for (const [text, want] of cases) {
    assert.throws(
      () => parseLabelSelector(text),
      (err: unknown) => err instanceof LabelSelectorError && want.test(err.message) && err.message.includes(`'${text}'`),
      `${text} should fail with ${want}`,
    );
  }
});

// --- loading -----------------------------------------------------------------------------------

test('loadManifests: multi-document YAML, JSON, Lists, nested directories, ignored kinds', (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'sub', 'deeper'), { recursive: true });
  writeFileSync(
    join(dir, 'a.yaml'),
    `# leading comment
${svcYaml('web', 'demo', '10.96.0.20')}---
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: demo}
---
apiVersion: v1
kind: Service
metadata:
  name: nons
spec: {clusterIP: 10.96.0.21}
`,
  );
  writeFileSync(
    join(dir, 'b.json'),
    JSON.stringify(
      {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: 'web-1', namespace: 'demo', labels: { 'kubernetes.io/service-name': 'web' } },
        addressType: 'IPv4',
        endpoints: [{ addresses: ['10.244.1.5'], conditions: { ready: false } }],
      },
      null,
      2,
    ),
  );
  writeFileSync(
    join(dir, 'sub', 'list.yml'),
    `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Namespace
    metadata: {name: demo, labels: {team: demo}}
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: cfg}
  - apiVersion: v1
    kind: Pod
    metadata: {name: p, namespace: demo}
    status: {podIP: 10.244.1.5}
`,
  );
  writeFileSync(
    join(dir, 'sub', 'deeper', 'svclist.JSON'),
    JSON.stringify({ apiVersion: 'v1', kind: 'ServiceList', items: [{ apiVersion: 'v1', kind: 'Service', metadata: { name: 'x', namespace: 'other' }, spec: { clusterIP: 'None' } }] }),
  );
  writeFileSync(join(dir, 'notes.txt'), 'not a manifest: ::: {');
  writeFileSync(join(dir, '.hidden.yaml'), 'this: is: skipped');
  mkdirSync(join(dir, '..data'));
  writeFileSync(join(dir, '..data', 'a.yaml'), svcYaml('web', 'demo', '10.96.0.20')); // a ConfigMap mount's copy
  symlinkSync(dir, join(dir, 'sub', 'loop')); // a symlink cycle must not recurse forever

  const set = readManifests(dir);
  assert.deepEqual(set.files, [join(dir, 'a.yaml'), join(dir, 'b.json'), join(dir, 'sub', 'deeper', 'svclist.JSON'), join(dir, 'sub', 'list.yml')]);
  assert.deepEqual(names(set.objects), ['Service demo/web', 'Service default/nons', 'EndpointSlice demo/web-1', 'Service other/x', 'Namespace demo', 'Pod demo/p']);
  assert.deepEqual([...set.ignored], [['apps/v1 Deployment', 1], ['v1 ConfigMap', 1]]);
  assert.deepEqual(loadManifests(dir), set.objects);

  const [web, nons, slice, x, ns, pod] = set.objects;
  assert.equal(web!.line, 2, 'the document starts after the comment');
  assert.deepEqual(web!.kind === 'Service' && web.object.clusterIPs, ['10.96.0.20']);
  assert.equal(nons!.line, 16);
  assert.equal(slice!.kind === 'EndpointSlice' && endpointsOf(slice.object)[0]!.ready, false);
  assert.equal(slice!.kind === 'EndpointSlice' && slice.object.service, 'web');
  assert.equal(x!.kind === 'Service' && x.object.headless, true);
  assert.deepEqual(ns!.kind === 'Namespace' && ns.object, { name: 'demo', labels: { team: 'demo' } });
  assert.deepEqual({ file: ns!.file, line: ns!.line }, { file: join(dir, 'sub', 'list.yml'), line: 4 }, 'a List item is located at its own line');
  assert.equal(pod!.line, 10);
  assert.deepEqual(pod!.kind === 'Pod' && pod.object.ips, ['10.244.1.5']);
  assert.deepEqual(web!.labels, {});
});

test('loadManifests: a single file; YAML anchors and merge keys; a BOM', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'one.yaml');
  writeFileSync(
    file,
    `\uFEFFapiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Service
    metadata:
      name: a
      namespace: demo
      labels: &labels {app: a}
    spec: {clusterIP: 10.96.0.30}
  - apiVersion: discovery.k8s.io/v1
    kind: EndpointSlice
    metadata:
      name: a-1
      namespace: demo
      labels:
        <<: *labels
        kubernetes.io/service-name: a
    addressType: IPv4
    endpoints: []
`,
  );
  const objs = loadManifests(file);
  assert.deepEqual(names(objs), ['Service demo/a', 'EndpointSlice demo/a-1']);
  assert.deepEqual(objs[0]!.labels, { app: 'a' });
  assert.deepEqual(objs[1]!.labels, { app: 'a', 'kubernetes.io/service-name': 'a' });
  assert.deepEqual(objs.map((m) => m.line), [4, 11]);
});

test('loadManifests: errors carry the file, the line and a hint', (t) => {
  const dir = tempDir(t);
  const write = (name: string, text: string) => {
    const f = join(dir, name);
    writeFileSync(f, text);
    return f;
  };
  let f = write('syntax.yaml', 'apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n   bad: indent\n');
  throwsManifest(() => loadManifests(f), { file: f, line: 5, message: /syntax\.yaml:5: invalid YAML/ });

  f = write('dupkey.yaml', 'apiVersion: v1\nkind: Service\nkind: Pod\n');
  throwsManifest(() => loadManifests(f), { file: f, line: 3, message: /duplicated mapping key/ });

  f = write('noname.yaml', `${svcYaml('a', 'demo', '10.96.0.1')}---\n# second\napiVersion: v1\nkind: Pod\nmetadata:\n  namespace: demo\n`);
  throwsManifest(() => loadManifests(f), { file: f, line: 11, message: /Pod has no metadata\.name/ });

  f = write('nokind.yaml', 'apiVersion: v1\nmetadata: {name: a}\n');
  throwsManifest(() => loadManifests(f), { line: 1, message: /object has no kind; every manifest needs apiVersion and kind/ });

  f = write('noversion.yaml', 'kind: Service\nmetadata: {name: a}\n');
  throwsManifest(() => loadManifests(f), { line: 1, message: /Service has no apiVersion/ });

  f = write('scalar.yaml', '---\njust a string\n');
  throwsManifest(() => loadManifests(f), { line: 2, message: /expected a Kubernetes object.*found string/ });

  f = write('slice.yaml', `${svcYaml('a', 'demo', '10.96.0.1')}---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: a-1, namespace: demo}\naddressType: IPv4\n`);
  throwsManifest(() => loadManifests(f), { line: 10, message: /EndpointSlice a-1 has no kubernetes\.io\/service-name label; set metadata\.labels/ });

  f = write('bad.json', '{\n  "apiVersion": "v1",\n  "kind": "Service",\n}\n');
  throwsManifest(() => loadManifests(f), { file: f, line: 4, message: /bad\.json:4: invalid JSON/ });

  const missing = join(dir, 'nope');
  throwsManifest(() => loadManifests(missing), { file: missing, line: 0, message: /nope: cannot read manifests: ENOENT; give a manifest file or a directory/ });

  const empty = join(dir, 'empty');
  mkdirSync(empty);
  writeFileSync(join(empty, 'README.md'), '# nothing\n');
  throwsManifest(() => loadManifests(empty), { file: empty, line: 0, message: /no manifest files found/ });
});

test('loadManifests: a duplicate object names both places', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'a.yaml'), `${svcYaml('web', 'demo', '10.96.0.20')}---\n${svcYaml('web', 'other', '10.96.0.21')}`);
  writeFileSync(join(dir, 'b.yaml'), `# again\n\n${svcYaml('web', 'demo', '10.96.0.22')}`);
  throwsManifest(() => loadManifests(dir), { file: join(dir, 'b.yaml'), line: 3, message: new RegExp(`b\\.yaml:3: duplicate Service demo/web, also defined at .*a\\.yaml:1`) });
  // The same name in another kind or namespace is no duplicate; a Namespace is not namespaced.
  writeFileSync(join(dir, 'b.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: demo}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: web, namespace: demo}\n');
  assert.equal(loadManifests(dir).length, 4);
});

test('the demo cluster loads with the expected objects', () => {
  const set = readManifests(new URL('../demo/cluster', import.meta.url).pathname);
  const count = (kind: string) => set.objects.filter((m) => m.kind === kind).length;
  assert.deepEqual([count('Namespace'), count('Service'), count('EndpointSlice'), count('Pod')], [4, 6, 6, 10]);
  assert.equal(set.ignored.size, 0);
  const get = <K extends ManifestObject['kind']>(kind: K, name: string) =>
    set.objects.find((m): m is Extract<ManifestObject, { kind: K }> => m.kind === kind && names([m])[0] === `${kind} ${name}`)!.object as Extract<ManifestObject, { kind: K }>['object'];
  assert.deepEqual(get('Namespace', 'demo').labels, { 'kubernetes.io/metadata.name': 'demo', team: 'demo' });
  assert.deepEqual(get('Service', 'default/kubernetes').clusterIPs, ['10.96.0.1']);
  assert.deepEqual(get('Service', 'kube-system/kube-dns').ports.map((p) => `${p.name} ${p.port}/${p.protocol}`), ['dns 53/udp', 'dns-tcp 53/tcp', 'metrics 9153/tcp']);
  assert.deepEqual(get('Service', 'demo/web').clusterIPs, ['10.96.100.10', 'fd00:10:96::a']);
  assert.deepEqual(get('Service', 'demo/web').ports.map((p) => p.name), ['http', '']);
  assert.equal(get('Service', 'demo/db').headless, true);
  assert.equal(get('Service', 'demo/cache').publishNotReadyAddresses, true);
  assert.equal(get('Service', 'demo/search').externalName, 'search.example.com');
  const slices = set.objects.filter((m) => m.kind === 'EndpointSlice').map((m) => m.object);
  const db = slices.find((s) => s.service === 'db')!;
  assert.deepEqual(endpointsOf(db).map((e) => `${e.hostname} ${e.addresses[0]} ${e.ready}`), ['db-0 10.244.1.10 true', 'db-1 10.244.2.10 true', 'db-2 10.244.3.10 false']);
  assert.deepEqual(slices.filter((s) => s.service === 'web').map((s) => s.addressType).sort(), ['IPv4', 'IPv6']);
  // Every endpoint that points at a Pod has that Pod, with the endpoint's address among its IPs.
  const pods = new Map(set.objects.filter((m) => m.kind === 'Pod').map((m) => [`${m.object.namespace}/${m.object.name}`, m.object.ips]));
  for (const s of slices) {
    for (const e of endpointsOf(s)) {
      if (e.podName === '') continue;
      assert.ok(pods.get(`${s.namespace}/${e.podName}`)?.includes(e.addresses[0]!), `${s.name}: pod ${e.podName} has ${e.addresses[0]}`);
    }
  }
});

// --- ManifestSource ----------------------------------------------------------------------------

function recordingSink(): ClusterSink & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    upsertService: (s) => calls.push(`upsertService ${s.namespace}/${s.name} ${s.clusterIPs.join(',')}`),
    deleteService: (ns, n) => calls.push(`deleteService ${ns}/${n}`),
    upsertSlice: (s) => calls.push(`upsertSlice ${s.namespace}/${s.name}`),
    deleteSlice: (ns, n) => calls.push(`deleteSlice ${ns}/${n}`),
    upsertNamespace: (n) => calls.push(`upsertNamespace ${n.name}`),
    deleteNamespace: (n) => calls.push(`deleteNamespace ${n}`),
    upsertPod: (p) => calls.push(`upsertPod ${p.namespace}/${p.name}`),
    deletePod: (ns, n) => calls.push(`deletePod ${ns}/${n}`),
    synced: () => calls.push('synced'),
  };
}

async function waitFor(what: string, cond: () => boolean, ms = 2000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const nsYaml = (name: string) => `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${name}}\n`;
const sliceYaml = (name: string, svc: string) =>
  `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: ${name}, namespace: demo, labels: {kubernetes.io/service-name: ${svc}}}\naddressType: IPv4\nendpoints: [{addresses: [10.244.1.5]}]\n`;

test('ManifestSource: initial delivery then synced; an edit delivers only the change; a removal deletes', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'ns.yaml'), nsYaml('demo'));
  writeFileSync(join(dir, 'svc.yaml'), `${svcYaml('web', 'demo', '10.96.0.20')}---\n${svcYaml('db', 'demo', '10.96.0.21')}---\n${sliceYaml('web-1', 'web')}`);
  const sink = recordingSink();
  const logs: string[] = [];
  const src = new ManifestSource(dir, sink, { log: (l) => logs.push(l), pollIntervalMs: 60_000 });
  src.start();
  t.after(() => src.stop());
  // Namespaces before Services before slices, whatever the file order.
  assert.deepEqual(sink.calls, ['upsertNamespace demo', 'upsertService demo/web 10.96.0.20', 'upsertService demo/db 10.96.0.21', 'upsertSlice demo/web-1', 'synced']);
  assert.match(logs[0]!, /^\[INFO\] plugin\/kubernetes: loaded 4 objects from 2 manifest files in /);

  sink.calls.length = 0;
  assert.equal(src.reload(), true);
  assert.deepEqual(sink.calls, [], 'nothing changed, nothing delivered');

  // Reordered keys and comments are no change; a new ClusterIP is.
  writeFileSync(join(dir, 'svc.yaml'), `# comment\n${svcYaml('db', 'demo', '10.96.0.21')}---\n${svcYaml('web', 'demo', '10.96.0.99')}---\n${sliceYaml('web-1', 'web')}`);
  src.reload();
  assert.deepEqual(sink.calls, ['upsertService demo/web 10.96.0.99']);

  sink.calls.length = 0;
  writeFileSync(join(dir, 'svc.yaml'), `${svcYaml('web', 'demo', '10.96.0.99')}`);
  unlinkSync(join(dir, 'ns.yaml'));
  writeFileSync(join(dir, 'ns2.yaml'), nsYaml('other'));
  src.reload();
  assert.deepEqual(sink.calls, ['upsertNamespace other', 'deleteSlice demo/web-1', 'deleteService demo/db', 'deleteNamespace demo']);
  assert.match(logs.at(-1)!, /reloaded manifests from .*: 1 updated, 3 deleted/);
});

test('ManifestSource: a broken edit keeps the state and logs once; the fix applies', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'svc.yaml');
  writeFileSync(file, svcYaml('web', 'demo', '10.96.0.20'));
  const sink = recordingSink();
  const logs: string[] = [];
  const src = new ManifestSource(dir, sink, { log: (l) => logs.push(l), pollIntervalMs: 10 });
  src.start();
  t.after(() => src.stop());
  sink.calls.length = 0;
  logs.length = 0;

  writeFileSync(file, `${svcYaml('web', 'demo', '10.96.0.20')}---\napiVersion: v1\nkind: Service\nmetadata: {namespace: demo}\n`);
  await waitFor('the error to be logged', () => logs.length > 0);
  src.reload(); // an explicit retry of the same problem is not logged again
  await new Promise((r) => setTimeout(r, 100)); // several polls
  assert.deepEqual(logs, [`[ERROR] plugin/kubernetes: ${file}:10: Service has no metadata.name; every object needs a name; keeping the previous manifests`]);
  assert.deepEqual(sink.calls, []);

  // A different problem is news.
  writeFileSync(file, 'kind: [\n');
  await waitFor('the second error', () => logs.length > 1);
  assert.match(logs[1]!, /svc\.yaml:\d+: invalid YAML: .*; keeping the previous manifests$/);

  writeFileSync(file, `${svcYaml('web', 'demo', '10.96.0.77')}---\n${svcYaml('api', 'demo', '10.96.0.78')}`);
  await waitFor('the fix to be applied', () => sink.calls.length === 2);
  assert.deepEqual(sink.calls, ['upsertService demo/web 10.96.0.77', 'upsertService demo/api 10.96.0.78']);
  assert.match(logs[2]!, /valid again/);
});

test('ManifestSource: a single file is watched; start throws on a bad set', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'cluster.yaml');
  writeFileSync(file, 'apiVersion: v1\nkind: Service\nmetadata: {}\n');
  const bad = new ManifestSource(file, recordingSink(), { log: () => {}, pollIntervalMs: 10 });
  throwsManifest(() => bad.start(), { file, line: 1, message: /has no metadata\.name/ });
  bad.stop();

  writeFileSync(file, svcYaml('web', 'demo', '10.96.0.20'));
  const sink = recordingSink();
  const src = new ManifestSource(file, sink, { log: () => {}, pollIntervalMs: 10 });
  src.start();
  t.after(() => src.stop());
  writeFileSync(join(dir, 'unrelated.yaml'), 'not: watched');
  writeFileSync(file, svcYaml('web', 'demo', '10.96.0.21'));
  await waitFor('the edit to arrive', () => sink.calls.length === 3);
  assert.deepEqual(sink.calls, ['upsertService demo/web 10.96.0.20', 'synced', 'upsertService demo/web 10.96.0.21']);
});

test('ManifestSource: the labels selector filters Services only', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'all.yaml');
  const write = (webLabels: string) =>
    writeFileSync(file, [nsYaml('demo'), svcYaml('web', 'demo', '10.96.0.20', webLabels), svcYaml('db', 'demo', '10.96.0.21', '{app: db}'), sliceYaml('db-1', 'db')].join('---\n'));
  write('{app: web, expose: "yes"}');
  const sink = recordingSink();
  const src = new ManifestSource(dir, sink, { labels: parseLabelSelector('expose=yes'), log: () => {}, pollIntervalMs: 60_000 });
  src.start();
  t.after(() => src.stop());
  assert.deepEqual(sink.calls, ['upsertNamespace demo', 'upsertService demo/web 10.96.0.20', 'upsertSlice demo/db-1', 'synced']);
  sink.calls.length = 0;
  write('{app: web}');
  src.reload();
  assert.deepEqual(sink.calls, ['deleteService demo/web'], 'a Service that stops matching is deleted');
});

test('ManifestSource: stop() leaves no timers or watchers behind', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'svc.yaml'), svcYaml('web', 'demo', '10.96.0.20'));
  const handles = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'FSEventWrap' || r === 'StatWatcher').sort();
  await new Promise((r) => setTimeout(r, 10)); // watchers closed by earlier tests go away
  const before = handles();
  const sink = recordingSink();
  const src = new ManifestSource(dir, sink, { log: () => {}, pollIntervalMs: 5 });
  src.start();
  assert.ok(handles().length > before.length, 'watching holds handles while running');
  writeFileSync(join(dir, 'svc.yaml'), svcYaml('web', 'demo', '10.96.0.21')); // a pending debounce
  await new Promise((r) => setTimeout(r, 20));
  src.stop();
  await new Promise((r) => setTimeout(r, 20)); // closed watchers release their handles a tick later
  assert.deepEqual(handles(), before);
});
