// The kubeadm default Corefile, unchanged, on port 53 in a namespace of its own: cluster names
// from an in-cluster API connection, outside names through /etc/resolv.conf to Debian's unbound
// on another "host", probes, metrics, lameduck; and the loop it detects when resolv.conf points
// back at itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { netnsMissing, runScenario } from './helpers/netns.ts';
import { ROOT } from './helpers/server-process.ts';
import { missingTool } from './helpers/unbound.ts';

const SCENARIO = join(ROOT, 'test', 'netns', 'kubeadm-corefile.scenario.ts');
const skip = netnsMissing() ?? missingTool('unbound');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const scenario = (mode: string): Promise<any> => runScenario(SCENARIO, [mode], 90_000);

test('the fixture is the kubeadm Corefile, byte for byte', { skip: !existsSync(join(ROOT, '..', 'shared', 'reference', 'corefile-default')) && 'no ../shared/reference here' }, () => {
  assert.equal(readFileSync(join(ROOT, 'test', 'fixtures', 'corefile-kubeadm'), 'utf8'), readFileSync(join(ROOT, '..', 'shared', 'reference', 'corefile-default'), 'utf8'));
});

test('kubeadm Corefile unchanged: cluster and outside names, probes, metrics, lameduck', { skip }, async () => {
  const o = await scenario('default');
  assert.equal(o.started, true, `did not start:\n${o.stdout}\n${o.stderr}`);
  const data = (r: { answers: Array<{ data: unknown }> }) => r.answers.map((a) => a.data);
  assert.deepEqual(data(o.clusterA), ['10.96.0.1']);
  assert.equal(o.clusterA.answers[0].ttl, 30, 'ttl 30 from the kubernetes block');
  assert.deepEqual(o.clusterSrv.answers.map((a: { data: { port: number } }) => a.data.port), [53]);
  assert.deepEqual(data(o.clusterPtr), ['kubernetes.default.svc.cluster.local']);
  assert.equal(o.clusterMiss.rcode, 'NXDOMAIN');
  assert.deepEqual(o.clusterMiss.authority, ['SOA']);
  assert.equal(o.searchMiss.rcode, 'NXDOMAIN');
  // Outside names went through forward to unbound in the other namespace.
  assert.deepEqual(data(o.outside), ['93.184.215.14']);
  assert.equal(o.outside.ra, true);
  // unbound's local data answers the CNAME alone (it does not chase local CNAMEs); relayed as is.
  assert.deepEqual(o.outsideCname.answers.map((a: { type: string; data: unknown }) => [a.type, a.data]), [['CNAME', 'example.org']]);
  assert.equal(o.outsideMissing.rcode, 'NXDOMAIN');
  assert.deepEqual(data(o.outsidePtr), ['node-resolver.example.org'], 'reverse names outside the cluster fall through to forward');
  // cache 30: served from the cache with the TTL counting down (at most 30).
  assert.equal(o.outside.answers[0].ttl, 30, 'cache 30 caps the upstream TTL of 300');
  assert.deepEqual(data(o.outsideAgain), ['93.184.215.15']);
  assert.ok(o.outsideAgain.answers[0].ttl < o.outsideFirst.answers[0].ttl, `TTL counts down: ${o.outsideFirst.answers[0].ttl} then ${o.outsideAgain.answers[0].ttl}`);
  assert.deepEqual(data(o.outsideTcp), ['example.org']);
  assert.deepEqual(o.health, { status: 200, body: 'OK' });
  assert.deepEqual(o.ready, { status: 200, body: 'OK' });
  assert.equal(o.metrics.status, 200);
  for (const m of ['coredns_dns_requests_total', 'coredns_dns_responses_total', 'coredns_build_info', 'process_resident_memory_bytes']) {
    assert.ok(o.metrics.names.includes(m), `/metrics has ${m}`);
  }
  assert.deepEqual(data(o.duringLameduck), ['10.96.0.1'], 'answers during lameduck');
  assert.equal(o.readyDuringLameduck.status, 503);
  assert.equal(o.exitCode, 0);
  assert.ok(o.stoppedAfterMs >= 4900, `lameduck 5s, stopped after ${o.stoppedAfterMs} ms`);
  assert.doesNotMatch(o.stderr, /\[FATAL\]|Loop/);
});

test('kubeadm Corefile with resolv.conf pointing back at kdns: loop detected, exit 1, cause named', { skip }, async () => {
  const o = await scenario('loop');
  assert.equal(o.code, 1, `exit code ${o.code}\n${o.stdout}\n${o.stderr}`);
  assert.match(o.stderr, /\[FATAL\] plugin\/loop: Loop \(127\.0\.0\.1:\d+ -> :53\) detected for zone "\."/);
  assert.match(o.stderr, /resolv\.conf/);
});
