// deploy/ and the Dockerfile, read as files (there is no cluster and no container engine here):
// the manifests parse, agree with each other (selectors, ports, probes, ServiceAccount and
// RBAC), with the Corefile they ship (byte for byte kubeadm's, built into a plan by our own
// code) and with the source (the API collections the kubernetes plugin watches, the flags the CLI
// takes); the Dockerfile is multi-stage, installs production dependencies only, runs as a
// non-root user with the port-53 capability and starts like the CoreDNS image.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, join } from 'node:path';
import { CORE_SCHEMA, YAML11_SCHEMA, loadAll } from 'js-yaml';
import { parseFlags } from '../src/cli-flags.ts';
import { PRIMARY_ENV, PRIMARY_NODE_FLAGS } from '../bin/node-flags.js';
import { buildPlan } from '../src/config/plan.ts';
import { parseServerKey } from '../src/config/address.ts';
import { type Directive, parseCorefile } from '../src/corefile/index.ts';
import { parseHttpAddress } from '../src/plugin/http-endpoint.ts';
import { plugins } from '../src/plugin/registry.ts';
import { WATCHED_API_PATHS } from '../src/plugins/kubernetes/api-source.ts';
import { netnsMissing } from './helpers/netns.ts';
import { BIN, ROOT, tempDir } from './helpers/server-process.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

const DEPLOY = join(ROOT, 'deploy');
const read = (...p: string[]): string => readFileSync(join(ROOT, ...p), 'utf8');
const KUBEADM_COREFILE = read('test', 'fixtures', 'corefile-kubeadm');
const CONF = '/etc/coredns/Corefile';

/** Every YAML document under deploy/, by file. */
function loadDeploy(): Map<string, Obj[]> {
  const out = new Map<string, Obj[]>();
  const walk = (dir: string, rel: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name), `${rel}${e.name}/`);
      else if (/\.ya?ml$/.test(e.name)) {
        const text = readFileSync(join(dir, e.name), 'utf8');
        const docs = loadAll(text, { schema: CORE_SCHEMA }).filter((d) => d != null) as Obj[];
        // The API server reads YAML 1.1 (sigs.k8s.io/yaml): nothing may read differently there
        // (yes/no/on/off, octal-looking numbers, ...).
        assert.deepEqual(loadAll(text, { schema: YAML11_SCHEMA }).filter((d) => d != null), docs, `${rel}${e.name} reads the same as YAML 1.1`);
        out.set(`${rel}${e.name}`, docs);
      }
    }
  };
  walk(DEPLOY, '');
  return out;
}

const files = loadDeploy();
const RESOURCES = [...files.entries()].filter(([f]) => f !== 'kustomization.yaml' && !f.startsWith('kubeadm-patches/')).flatMap(([, d]) => d);
const one = (kind: string, name: string): Obj => {
  const found = RESOURCES.filter((o) => o.kind === kind && o.metadata?.name === name);
  assert.equal(found.length, 1, `exactly one ${kind} ${name} in deploy/`);
  return found[0]!;
};
const deployment = one('Deployment', 'coredns');
const podSpec: Obj = deployment.spec.template.spec;
const podLabels: Record<string, string> = deployment.spec.template.metadata.labels;
const container: Obj = podSpec.containers.find((c: Obj) => c.name === 'coredns');
const service = one('Service', 'kube-dns');
const configMap = one('ConfigMap', 'coredns');

const selects = (selector: Record<string, string>, labels: Record<string, string>): boolean =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

/** A container port by number or name. */
function containerPort(port: number | string, protocol = 'TCP'): Obj | undefined {
  return (container.ports as Obj[]).find((p) => (typeof port === 'number' ? p.containerPort === port : p.name === port) && (p.protocol ?? 'TCP') === protocol);
}

/** Port numbers the Corefile's own plugins listen on, derived from the Corefile by our code. */
function corefilePorts(text: string): { dns: number[]; prometheus: number; health: number; ready: number } {
  const cf = parseCorefile(text, 'Corefile');
  const dns = [...new Set(cf.blocks.flatMap((b) => b.keys.flatMap((k) => parseServerKey(k, 53).map((a) => a.port))))];
  const directive = (name: string): Directive => {
    const found = cf.blocks.flatMap((b) => b.directives).filter((d) => d.name.text === name);
    assert.equal(found.length, 1, `one ${name} in the Corefile`);
    return found[0]!;
  };
  /** The plugin's own default address, as its setup passes it to parseHttpAddress. */
  const defaultOf = (plugin: string): string => {
    const m = /parseHttpAddress\(d\.args\[0\], '([^']+)'\)/.exec(read('src', 'plugins', plugin, 'setup.ts'));
    assert.ok(m, `default address of ${plugin} found in its setup.ts`);
    return m[1]!;
  };
  const http = (name: string): number => {
    const a = parseHttpAddress(directive(name).args[0], defaultOf(name));
    // The kubelet probes and Prometheus reach the pod IP: every address, not loopback.
    assert.equal(a.host, undefined, `${name} listens on every address (${a.text})`);
    return a.port;
  };
  const prom = parseHttpAddress(directive('prometheus').args[0], 'localhost:9153');
  assert.equal(prom.host, undefined, `prometheus listens on every address (${prom.text}), where the Service sends scrapes`);
  return { dns, prometheus: prom.port, health: http('health'), ready: http('ready') };
}

test('deploy/: kubeadm\'s object names and kinds, in kube-system; kustomization lists every manifest', () => {
  const have = RESOURCES.map((o) => `${o.kind}/${o.metadata.name}`).sort();
  assert.deepEqual(have, [
    'ClusterRole/system:coredns', 'ClusterRoleBinding/system:coredns', 'ConfigMap/coredns', 'Deployment/coredns',
    'PodDisruptionBudget/coredns', 'Service/kube-dns', 'ServiceAccount/coredns',
  ]);
  for (const o of RESOURCES) {
    assert.ok(o.apiVersion && o.kind, 'apiVersion and kind');
    if (o.kind.startsWith('Cluster')) assert.equal(o.metadata.namespace, undefined, `${o.kind} is cluster-scoped`);
    else assert.equal(o.metadata.namespace, 'kube-system', `${o.kind}/${o.metadata.name} in kube-system`);
    assert.equal(o.metadata.resourceVersion, undefined, 'no resourceVersion (kubectl apply would conflict)');
  }
  const [k] = files.get('kustomization.yaml')!;
  assert.equal(k!.kind, 'Kustomization');
  const listed = (k!.resources as string[]).slice().sort();
  const manifests = [...files.keys()].filter((f) => f !== 'kustomization.yaml' && !f.startsWith('kubeadm-patches/')).sort();
  assert.deepEqual(listed, manifests, 'kustomization resources are exactly the manifests');
  assert.ok((k!.images as Obj[]).some((i) => `${i.newName}:${i.newTag}` === container.image), 'kustomize images entry names the Deployment image');
});

test('ConfigMap: kubeadm\'s Corefile byte for byte, mounted where -conf reads it, and a valid plan', () => {
  assert.equal(configMap.data.Corefile, KUBEADM_COREFILE);
  assert.deepEqual(Object.keys(configMap.data), ['Corefile']);
  // Mounted at /etc/coredns with the key as file name: the path in args (and the image's CMD).
  const vol = (podSpec.volumes as Obj[]).find((v) => v.configMap?.name === configMap.metadata.name);
  assert.ok(vol, 'a volume from the ConfigMap');
  const mount = (container.volumeMounts as Obj[]).find((m) => m.name === vol.name);
  assert.ok(mount, 'the volume is mounted');
  assert.equal(mount.readOnly, true);
  const item = (vol.configMap.items as Obj[]).find((i) => i.key === 'Corefile');
  assert.equal(`${mount.mountPath}/${item!.path}`, CONF);

  // Every directive is a plugin kdns has.
  const cf = parseCorefile(configMap.data.Corefile, 'Corefile');
  for (const d of cf.blocks.flatMap((b) => b.directives)) assert.ok(plugins.has(d.name.text), `kdns has plugin ${d.name.text}`);
  // The plan: as written it needs the in-cluster service account (kubernetes has no endpoint),
  // which a pod has and this test does not; with an endpoint added, everything else is checked
  // by the real setup code (no connection is made at plan time).
  const inCluster = !!process.env.KUBERNETES_SERVICE_HOST && existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token');
  if (!inCluster) {
    assert.throws(() => buildPlan(cf, { defaultPort: 53 }), /Corefile:8:5: kubernetes has no endpoint, kubeconfig or manifests, and kdns is not running in a cluster/);
  }
  const withEndpoint = configMap.data.Corefile.replace('       pods insecure\n', '       endpoint https://10.96.0.1:443\n       pods insecure\n');
  assert.notEqual(withEndpoint, configMap.data.Corefile);
  const plan = buildPlan(parseCorefile(withEndpoint, 'Corefile'), { defaultPort: 53 });
  assert.deepEqual(plan.servers.map((s) => [s.key, s.port]), [['dns://.:53', 53]]);
  assert.deepEqual(plan.servers[0]!.plugins.map((p) => p.name), ['prometheus', 'errors', 'log', 'loadbalance', 'cache', 'kubernetes', 'loop', 'forward']);
  assert.deepEqual(plan.servers[0]!.primaries.map((p) => p.name).sort(), ['forward', 'health', 'kubernetes', 'loop', 'prometheus', 'ready', 'reload']);
});

test('ports: Corefile, container, Service and probes agree', () => {
  const ports = corefilePorts(configMap.data.Corefile);
  assert.deepEqual(ports, { dns: [53], prometheus: 9153, health: 8080, ready: 8181 });
  for (const p of ports.dns) {
    assert.ok(containerPort(p, 'UDP'), `container port ${p}/UDP`);
    assert.ok(containerPort(p, 'TCP'), `container port ${p}/TCP`);
  }
  for (const p of [ports.prometheus, ports.health, ports.ready]) assert.ok(containerPort(p), `container port ${p}/TCP`);
  // Nothing declared that kdns does not listen on.
  assert.deepEqual((container.ports as Obj[]).map((p) => p.containerPort).sort(), [...ports.dns, ...ports.dns, ports.prometheus, ports.health, ports.ready].sort());

  // Service: kubeadm's three ports, each reaching a container port of the same protocol.
  assert.deepEqual((service.spec.ports as Obj[]).map((p) => [p.name, p.port, p.protocol]), [['dns', 53, 'UDP'], ['dns-tcp', 53, 'TCP'], ['metrics', 9153, 'TCP']]);
  for (const p of service.spec.ports as Obj[]) {
    const target = containerPort(p.targetPort ?? p.port, p.protocol);
    assert.ok(target, `Service port ${p.name} reaches a container port`);
    assert.equal(target.containerPort, p.name === 'metrics' ? ports.prometheus : ports.dns[0]);
  }
  assert.equal(service.metadata.annotations['prometheus.io/scrape'], 'true');
  assert.equal(Number(service.metadata.annotations['prometheus.io/port']), ports.prometheus);
  assert.ok(isIP(service.spec.clusterIP), `clusterIP ${service.spec.clusterIP} is an address`);

  // Probes: /health on health's port (kubeadm's timings), /ready on ready's.
  const live = container.livenessProbe;
  assert.equal(live.httpGet.path, '/health');
  assert.equal(containerPort(live.httpGet.port)?.containerPort, ports.health);
  assert.deepEqual([live.initialDelaySeconds, live.timeoutSeconds, live.successThreshold, live.failureThreshold], [60, 5, 1, 5]);
  const ready = container.readinessProbe;
  assert.equal(ready.httpGet.path, '/ready');
  assert.equal(containerPort(ready.httpGet.port)?.containerPort, ports.ready);
});

test('selectors: Service, Deployment, anti-affinity and PodDisruptionBudget select the pods by kubeadm\'s label', () => {
  assert.equal(podLabels['k8s-app'], 'kube-dns');
  assert.deepEqual(deployment.spec.selector.matchLabels, { 'k8s-app': 'kube-dns' }, 'kubeadm\'s selector (immutable on the live Deployment)');
  assert.ok(selects(deployment.spec.selector.matchLabels, podLabels));
  assert.ok(selects(service.spec.selector, podLabels), 'Service selects the pods');
  const pdb = one('PodDisruptionBudget', 'coredns');
  assert.ok(selects(pdb.spec.selector.matchLabels, podLabels), 'PDB selects the pods');
  assert.ok(pdb.spec.maxUnavailable === 1 || pdb.spec.minAvailable === 1);
  const term = podSpec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm;
  assert.equal(term.topologyKey, 'kubernetes.io/hostname');
  for (const e of term.labelSelector.matchExpressions as Obj[]) {
    assert.equal(e.operator, 'In');
    assert.ok((e.values as string[]).includes(podLabels[e.key]!), `anti-affinity selects the pods by ${e.key}`);
  }
});

test('Deployment: kubeadm\'s scheduling and security, args the CLI accepts, sized resources', () => {
  assert.equal(deployment.spec.replicas, 2);
  assert.equal(deployment.spec.strategy.rollingUpdate.maxUnavailable, 1);
  assert.equal(podSpec.priorityClassName, 'system-cluster-critical');
  assert.equal(podSpec.dnsPolicy, 'Default', 'the node\'s resolv.conf for `forward . /etc/resolv.conf` (ClusterFirst would loop back)');
  assert.deepEqual(podSpec.nodeSelector, { 'kubernetes.io/os': 'linux' });
  assert.deepEqual(podSpec.tolerations, [
    { key: 'CriticalAddonsOnly', operator: 'Exists' },
    { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' },
  ]);
  const sc = container.securityContext;
  assert.equal(sc.allowPrivilegeEscalation, false);
  assert.deepEqual(sc.capabilities, { add: ['NET_BIND_SERVICE'], drop: ['ALL'] });
  assert.equal(sc.readOnlyRootFilesystem, true);
  assert.equal(sc.runAsNonRoot, true);

  // kubeadm's args come first (the image's CMD is the same), then -workers; the CLI takes them.
  assert.deepEqual(container.args.slice(0, 2), ['-conf', CONF]);
  const flags = parseFlags(container.args);
  assert.equal(flags.conf, CONF);
  assert.equal(flags.workers, 2);
  assert.equal(container.command, undefined, 'the image ENTRYPOINT runs kdns');

  const mib = (q: string): number => {
    const m = /^(\d+)(Mi|Gi)$/.exec(q);
    assert.ok(m, `memory quantity ${q} in Mi or Gi`);
    return Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1);
  };
  const { requests, limits } = container.resources;
  // bench/soak.ts, 2 workers in a memory cgroup: ~350 MiB once the caches are full (small
  // cluster); bench/RESULTS.md: RSS up to 825 MiB before the first GC at 10k Services / 100k
  // endpoints.
  assert.ok(mib(requests.memory) >= 350, 'memory request covers the small-cluster plateau under load');
  assert.ok(mib(limits.memory) >= 825, 'memory limit covers the highest RSS measured at 10k Services');
  assert.equal(requests.cpu, '100m');
  assert.equal(limits.cpu, undefined, 'no CPU limit (as kubeadm): -workers sets the parallelism');
});

test('RBAC: the Deployment\'s ServiceAccount is bound to list+watch on exactly what the kubernetes plugin watches', () => {
  const sa = one('ServiceAccount', podSpec.serviceAccountName);
  assert.equal(sa.metadata.namespace, deployment.metadata.namespace);
  const binding = one('ClusterRoleBinding', 'system:coredns');
  assert.ok((binding.subjects as Obj[]).some((s) => s.kind === 'ServiceAccount' && s.name === sa.metadata.name && s.namespace === sa.metadata.namespace), 'the ServiceAccount is bound');
  assert.equal(binding.roleRef.kind, 'ClusterRole');
  assert.equal(binding.roleRef.apiGroup, 'rbac.authorization.k8s.io');
  const role = one('ClusterRole', binding.roleRef.name);

  const granted: string[] = [];
  for (const r of role.rules as Obj[]) {
    assert.deepEqual(r.verbs.slice().sort(), ['list', 'watch'], 'only list and watch');
    assert.equal(r.resourceNames, undefined);
    for (const g of r.apiGroups as string[]) for (const res of r.resources as string[]) granted.push(`${g}/${res}`);
  }
  // /api/v1/pods -> "/pods"; /apis/discovery.k8s.io/v1/endpointslices -> "discovery.k8s.io/endpointslices".
  const watched = Object.values(WATCHED_API_PATHS).map((p) => {
    const m = /^\/(?:api\/v1|apis\/([^/]+)\/[^/]+)\/([a-z]+)$/.exec(p);
    assert.ok(m, `cluster-wide collection path ${p}`);
    return `${m[1] ?? ''}/${m[2]}`;
  });
  assert.deepEqual(granted.sort(), watched.sort());

  // And the source asks for nothing else: every API path literal in src/ is one of those.
  const literals: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name.endsWith('.ts')) for (const m of readFileSync(join(dir, e.name), 'utf8').matchAll(/['"`](\/apis?\/[^'"`]*)['"`]/g)) literals.push(m[1]!);
    }
  };
  walk(join(ROOT, 'src'));
  assert.deepEqual(literals.sort(), Object.values(WATCHED_API_PATHS).sort(), 'API paths in src/ are WATCHED_API_PATHS');
});

test('kubeadm-patches: the in-place patch sets what deploy/deployment.yaml sets, with kubeadm\'s resources', () => {
  const [patch] = files.get('kubeadm-patches/corednsdeployment+strategic.yaml')!;
  const spec = patch!.spec.template.spec;
  const c = (spec.containers as Obj[]).find((x) => x.name === container.name);
  assert.ok(c, 'patches the container kubeadm calls coredns (strategic merge key: name)');
  assert.equal(c.image, container.image);
  assert.deepEqual(c.args, container.args);
  // kubeadm's own resources: the small-cluster soak fits them (bench/soak.ts --limit-mib 170).
  assert.deepEqual(c.resources, { limits: { memory: '170Mi' }, requests: { cpu: '100m', memory: '70Mi' } });
  assert.equal(c.securityContext.runAsNonRoot, container.securityContext.runAsNonRoot);
  assert.deepEqual(spec.securityContext, podSpec.securityContext);
  for (const [k, v] of Object.entries(patch!.spec.template.metadata.labels as Record<string, string>)) assert.equal(podLabels[k], v);
  assert.equal(patch!.spec.selector, undefined, 'the selector is immutable: not patched');
});

/** Dockerfile instructions (continuations joined, comments dropped), split into stages. */
function dockerfile(): { args: Map<string, string>; stages: Array<{ from: string; name: string | null; lines: Array<[string, string]> }> } {
  const text = read('Dockerfile').replace(/\\\n(\s*#[^\n]*\n)*/g, ' ');
  const args = new Map<string, string>();
  const stages: Array<{ from: string; name: string | null; lines: Array<[string, string]> }> = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([A-Za-z]+)\s+(.*)$/.exec(line);
    assert.ok(m, `instruction: ${line}`);
    const op = m[1]!.toUpperCase();
    const rest = m[2]!;
    if (op === 'FROM') {
      const f = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest)!;
      const image = f[1]!.replace(/\$\{(\w+)\}|\$(\w+)/g, (_s, a, b) => args.get(a ?? b) ?? '');
      stages.push({ from: image, name: f[2] ?? null, lines: [] });
    } else if (op === 'ARG' && stages.length === 0) {
      const [k, v] = rest.split('=');
      args.set(k!, v ?? '');
    } else {
      assert.ok(stages.length > 0, `${op} before FROM`);
      stages.at(-1)!.lines.push([op, rest]);
    }
  }
  return { args, stages };
}

test('Dockerfile: multi-stage Node 24, production dependencies only, non-root with the port-53 capability, CoreDNS-style entry', () => {
  const { stages } = dockerfile();
  assert.ok(stages.length >= 2, 'multi-stage');
  for (const s of stages) assert.match(s.from, /^node:24(\.|-|$)/, `stage from Node 24 (${s.from})`);
  const final = stages.at(-1)!;
  const ops = (op: string) => final.lines.filter(([o]) => o === op).map(([, r]) => r);
  const all = stages.flatMap((s) => s.lines);

  // Dependencies: `npm ci --omit=dev` in a build stage; the final stage takes node_modules from it.
  const deps = stages.find((s) => s.lines.some(([o, r]) => o === 'RUN' && /\bnpm ci\b/.test(r)));
  assert.ok(deps && deps !== final, 'npm ci runs in a build stage');
  for (const [o, r] of all) {
    if (o === 'RUN' && /\bnpm (ci|install|i)\b/.test(r)) assert.match(r, /--omit=dev\b/, `no devDependencies: ${r}`);
  }
  assert.ok(!final.lines.some(([o, r]) => o === 'RUN' && /\bnpm\b/.test(r.replace(/\/usr\/local\/(lib\/node_modules|bin)\/npm\S*/g, ''))), 'no npm run in the final stage');
  const copies = ops('COPY');
  const nodeModules = copies.filter((c) => /node_modules/.test(c));
  assert.deepEqual(nodeModules.map((c) => /--from=(\S+)/.exec(c)?.[1]), [deps.name], 'node_modules only from the deps stage');
  // The final stage copies named runtime paths, never the whole context.
  const sources = copies.filter((c) => !c.startsWith('--from')).map((c) => c.split(/\s+/).slice(0, -1)).flat();
  assert.ok(!sources.includes('.') && !sources.includes('*'), 'no COPY . in the final stage');
  assert.deepEqual(sources.sort(), ['bin', 'package.json', 'src', 'workers']);
  // What the runtime reads outside src/ is copied: bin/ (entry), workers/ (the DNS worker),
  // package.json (the version). The demo (demo/) is not: it binds 127.0.0.1 only.
  assert.match(read('src', 'server', 'server.ts'), /'\.\.\/\.\.\/workers\/dns-worker\.js'/);
  // .dockerignore lets those in (allowlist).
  const ignore = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  assert.equal(ignore[0], '*');
  for (const p of ['package.json', 'package-lock.json', 'bin', 'src', 'workers']) assert.ok(ignore.includes(`!${p}`), `.dockerignore lets ${p} in`);

  // The capability, set in the final stage on the node binary that ENTRYPOINT runs.
  const setcap = ops('RUN').find((r) => /\bsetcap\b/.test(r));
  assert.ok(setcap, 'setcap in the final stage');
  assert.match(setcap, /setcap cap_net_bind_service=\+ep /);
  assert.match(setcap, /readlink -f \/usr\/local\/bin\/node/);

  // Non-root, numeric (runAsNonRoot cannot check a user name).
  const users = ops('USER');
  assert.ok(users.length > 0, 'USER in the final stage');
  const user = users.at(-1)!;
  assert.match(user, /^\d+(:\d+)?$/, 'numeric USER');
  assert.notEqual(Number(user.split(':')[0]), 0, 'not root');

  // The compile cache: primed as the USER (after it), into the directory ENV names, made the
  // USER's before (bin/prime-compile-cache.js; test/compile-cache.test.ts runs it read-only).
  const env = new Map(ops('ENV').map((e) => e.split('=') as [string, string]));
  const cacheDir = env.get('KDNS_COMPILE_CACHE');
  assert.ok(cacheDir?.startsWith('/app/'), 'ENV KDNS_COMPILE_CACHE in the image');
  const at = (pred: (op: string, rest: string) => boolean): number => final.lines.findIndex(([o, r]) => pred(o, r));
  const primeAt = at((o, r) => o === 'RUN' && r.includes('/app/bin/prime-compile-cache.js'));
  assert.ok(primeAt >= 0, 'the image primes its compile cache');
  assert.deepEqual(JSON.parse(final.lines[primeAt]![1]), ['/usr/local/bin/node', '/app/bin/prime-compile-cache.js', cacheDir]);
  const userAt = at((o, r) => o === 'USER' && r === user);
  assert.ok(userAt >= 0 && userAt < primeAt, 'primed as the USER');
  const [uidOf] = user.split(':');
  const ownedAt = at((o, r) => o === 'RUN' && r.includes(`-o ${uidOf}`) && r.includes(cacheDir!));
  assert.ok(ownedAt >= 0 && ownedAt < primeAt, 'the cache directory is the USER\'s');

  const exposed = ops('EXPOSE').flatMap((e) => e.split(/\s+/)).map((p) => (p.includes('/') ? p : `${p}/tcp`)).sort();
  assert.deepEqual(exposed, ['53/tcp', '53/udp', '9153/tcp']);
  assert.equal(all.filter(([o]) => o === 'HEALTHCHECK').length, 0, 'no HEALTHCHECK (Kubernetes probes)');

  const entrypoint = JSON.parse(ops('ENTRYPOINT').at(-1)!) as string[];
  assert.deepEqual(entrypoint, ['/usr/local/bin/node', ...PRIMARY_NODE_FLAGS, '/app/bin/kdns.js'], 'the primary\'s Node flags (bin/node-flags.js)');
  const envs = new Map(ops('ENV').map((e) => e.split('=') as [string, string]));
  for (const [k, v] of Object.entries(PRIMARY_ENV)) assert.equal(envs.get(k), v, `ENV ${k}=${v} (bin/node-flags.js)`);
  assert.deepEqual(ops('WORKDIR').at(-1), '/app');
  const cmd = JSON.parse(ops('CMD').at(-1)!) as string[];
  assert.deepEqual(cmd, ['-conf', CONF], 'CMD is kubeadm\'s args');
  assert.equal(parseFlags(cmd).conf, CONF);
});

/** Why the capability check cannot run here, or undefined. */
function capabilityCheckMissing(): string | undefined {
  const ns = netnsMissing();
  if (ns) return ns;
  for (const tool of ['setcap', 'capsh']) {
    if (spawnSync(tool, ['--help'], { stdio: 'ignore' }).error) return `${tool} (libcap2-bin) is not installed`;
  }
  return undefined;
}

// What the image does, without a container engine: a copy of this Node with the file capability
// (the Dockerfile's setcap), started as the image's USER with the pod's securityContext from
// deploy/deployment.yaml as runc applies it (bounding set = capabilities.add after drop ALL,
// the same caps permitted and effective across the switch to the non-root user, no_new_privs for
// allowPrivilegeEscalation: false), in a network namespace of its own so port 53 is free.
test('image security model: non-root node with cap_net_bind_service serves port 53 under the Deployment\'s securityContext', { skip: capabilityCheckMissing() }, (t) => {
  const sc = container.securityContext;
  assert.deepEqual(sc.capabilities.drop, ['ALL']);
  const keep = (sc.capabilities.add as string[]).map((c) => `cap_${c.toLowerCase()}`);
  const every = execFileSync('capsh', ['--decode=' + (2n ** 64n - 1n).toString(16)], { encoding: 'utf8' }).trim().replace(/^.*=/, '').split(',');
  const [uid, gid] = dockerfile().stages.at(-1)!.lines.filter(([o]) => o === 'USER').at(-1)![1].split(':');

  const dir = tempDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o755);
  const node = join(dir, 'node');
  copyFileSync(process.execPath, node);
  chmodSync(node, 0o755);
  execFileSync('setcap', ['cap_net_bind_service=+ep', node]);
  writeFileSync(join(dir, 'Corefile'), '.:53 {\n    whoami\n}\n');
  chmodSync(join(dir, 'Corefile'), 0o644);

  const run = (bounding: string[]): Obj => {
    const drop = every.filter((c) => !bounding.includes(c) && c.startsWith('cap_'));
    const capsh = [
      'capsh', `--drop=${drop.join(',')}`, '--keep=1', `--gid=${gid ?? uid}`, '--groups=', `--uid=${uid}`,
      `--caps=${bounding.map((c) => `${c}+ep`).join(' ')}`, ...(sc.allowPrivilegeEscalation === false ? ['--no-new-privs'] : []),
      `--shell=${node}`, '--', BIN, '-conf', join(dir, 'Corefile'), '-workers', '1', '-quiet',
    ];
    // The probe (this Node, no capability) asks whoami.example over UDP then TCP on 127.0.0.1:53
    // until it answers, and reads the server's credentials from /proc.
    const probe = `
      const dgram = require('node:dgram'), net = require('node:net'), fs = require('node:fs');
      const q = Buffer.from('1234010000010000000000000677686f616d69076578616d706c650000010001', 'hex');
      const ok = (m) => m && m.length >= 12 && m.readUInt16BE(0) === 0x1234 && (m[2] & 0x80) && (m[3] & 0x0f) === 0;
      const udp = () => new Promise((r) => { const s = dgram.createSocket('udp4'); const t = setTimeout(() => { s.close(); r(false); }, 200);
        s.on('message', (m) => { clearTimeout(t); s.close(); r(!!ok(m)); }); s.on('error', () => { clearTimeout(t); s.close(); r(false); }); s.send(q, 53, '127.0.0.1'); });
      const tcp = () => new Promise((r) => { const c = net.connect(53, '127.0.0.1'); let b = Buffer.alloc(0); c.setTimeout(1000, () => { c.destroy(); r(false); });
        c.on('error', () => r(false)); c.on('connect', () => { const l = Buffer.alloc(2); l.writeUInt16BE(q.length); c.write(Buffer.concat([l, q])); });
        c.on('data', (d) => { b = Buffer.concat([b, d]); if (b.length >= 2 && b.length >= 2 + b.readUInt16BE(0)) { c.destroy(); r(!!ok(b.subarray(2))); } }); });
      (async () => {
        const read = () => { try { return fs.readFileSync('/proc/' + process.env.KDNS_PID + '/status', 'utf8'); } catch { return ''; } };
        const alive = () => /^State:\\s*[^ZX]/m.test(read());
        let answered = false;
        for (let i = 0; i < 50 && !answered && alive(); i++) { answered = await udp(); if (!answered) await new Promise((r) => setTimeout(r, 100)); }
        const status = read();
        const field = (n) => (new RegExp('^' + n + ':\\\\s*(.*)$', 'm').exec(status) || [])[1];
        console.log(JSON.stringify({ udp: answered, tcp: answered && await tcp(), uid: field('Uid'), capEff: field('CapEff'), capPrm: field('CapPrm'), noNewPrivs: field('NoNewPrivs') }));
      })();`;
    const script = `ip link set lo up; "$@" 2>"${dir}/stderr" & KDNS_PID=$! "${process.execPath}" -e "$PROBE"; kill -TERM $! 2>/dev/null; wait $!; echo "{\\"exit\\": $?}"`;
    const r = spawnSync('unshare', ['--net', '--fork', '--', 'bash', '-c', script, 'bash', ...capsh], { encoding: 'utf8', env: { ...process.env, PROBE: probe }, timeout: 15_000 });
    const lines = r.stdout.trim().split('\n').filter((l) => l.startsWith('{'));
    return { ...JSON.parse(lines[0] ?? '{}'), ...JSON.parse(lines[1] ?? '{}'), stderr: readFileSync(join(dir, 'stderr'), 'utf8') };
  };

  const pod = run(keep);
  assert.equal(pod.udp, true, `answers on 53/UDP as UID ${uid}: ${pod.stderr}`);
  assert.equal(pod.tcp, true, 'answers on 53/TCP');
  assert.match(pod.uid, new RegExp(`^${uid}\\s+${uid}\\s+${uid}\\s+${uid}$`), 'runs as the image USER');
  assert.equal(BigInt(`0x${pod.capEff}`), 1n << 10n, 'effective capabilities: exactly CAP_NET_BIND_SERVICE');
  assert.equal(BigInt(`0x${pod.capPrm}`), 1n << 10n);
  assert.equal(pod.noNewPrivs, sc.allowPrivilegeEscalation === false ? '1' : '0');
  assert.equal(pod.exit, 0, 'SIGTERM stops it cleanly');

  // A pod that does not add NET_BIND_SERVICE cannot even start the binary: the kernel refuses to
  // execute a file whose capabilities cannot all be granted. (So the image needs the add, as
  // CoreDNS's does.)
  const without = run([]);
  assert.equal(without.udp, false);
  assert.match(without.stderr, /execve .* failed|Operation not permitted/);
});

test('every launcher runs the primary with bin/node-flags.js: the shebang (npx kdns) and npm start', () => {
  assert.ok(PRIMARY_NODE_FLAGS.length > 0);
  const assignments = Object.entries(PRIMARY_ENV).map(([k, v]) => `${k}=${v} `).join('');
  const shebang = readFileSync(join(ROOT, 'bin', 'kdns.js'), 'utf8').split('\n')[0]!;
  assert.equal(shebang, `#!/usr/bin/env -S ${assignments}node ${PRIMARY_NODE_FLAGS.join(' ')}`);
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string>; bin: Record<string, string> };
  assert.equal(pkg.scripts.start, `${assignments}node ${PRIMARY_NODE_FLAGS.join(' ')} bin/kdns.js`);
  assert.equal(pkg.bin.kdns, 'bin/kdns.js');
  // The shebang works as the kernel runs it (env -S splits the flags).
  const r = spawnSync(join(ROOT, 'bin', 'kdns.js'), ['-version'], { encoding: 'utf8', env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH}` } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /kdns/);
});
