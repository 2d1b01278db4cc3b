// The Corefiles of the distributions people customise (test/fixtures/distributions), each run
// unchanged on port 53 in a namespace of its own: cluster names from an in-cluster API
// connection (or, for NodeLocal DNSCache, forwarded over TCP to the cluster's DNS), outside names
// through /etc/resolv.conf to Debian's unbound on another "host", the files they import.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { netnsMissing, runScenario } from './helpers/netns.ts';
import { ROOT } from './helpers/server-process.ts';
import { missingTool } from './helpers/unbound.ts';

const SCENARIO = join(ROOT, 'test', 'netns', 'distributions.scenario.ts');
const skip = netnsMissing() ?? missingTool('unbound');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function scenario(distro: string): Promise<any> {
  const out = await runScenario(SCENARIO, [distro], 90_000);
  assert.equal(out.started, true, `did not start:\n${out.stdout}\n${out.stderr}`);
  return out;
}

const data = (r: { answers: Array<{ data: unknown }> } | null): unknown[] => r?.answers.map((a) => a.data) ?? ['no answer'];

for (const distro of ['k3s', 'aks', 'eks']) {
  test(`${distro} Corefile unchanged: cluster and outside names${distro === 'eks' ? '' : ', NodeHosts or imports'}, probes, metrics`, { skip }, async () => {
    const o = await scenario(distro);
    assert.deepEqual(data(o.cluster), ['10.96.0.1'], o.stdout + o.stderr);
    assert.deepEqual(data(o.clusterPtr), ['kubernetes.default.svc.cluster.local']);
    assert.deepEqual(data(o.outside), ['93.184.215.14']);
    if (distro === 'k3s') assert.deepEqual(data(o.nodeHost), ['10.53.0.9'], 'hosts /etc/coredns/NodeHosts');
    if (distro !== 'eks') {
      // coredns-custom: a rewrite in the main block (*.override) and a block of its own (*.server).
      assert.deepEqual(data(o.override), ['10.96.0.1'], 'the .override file\'s rewrite');
      assert.equal(o.override.answers[0].name, 'api.example.internal');
      assert.deepEqual(data(o.customServer), ['10.20.0.1'], 'the .server file\'s block');
    }
    assert.equal(o.health.status, 200);
    assert.equal(o.metrics, 200);
  });
}

test('NodeLocal DNSCache Corefile unchanged (as node-cache renders it): link-local and service address, TCP to the cluster DNS', { skip }, async () => {
  const o = await scenario('nodelocaldns');
  assert.deepEqual(data(o.cluster), ['10.96.0.1'], o.stdout + o.stderr);
  assert.deepEqual(data(o.clusterPtr), ['kubernetes.default.svc.cluster.local']);
  assert.deepEqual(data(o.outside), ['93.184.215.14']);
  assert.deepEqual(data(o.serviceAddress), ['93.184.215.14'], 'the same server on the kube-dns address');
  assert.deepEqual(o.health, { status: 200, body: 'OK' });
  assert.equal(o.metrics, 200);
  // force_tcp: the cluster.local and reverse blocks reach 10.53.0.2 over TCP (the `.` block's
  // queries to the same host, its resolv.conf upstream, go over UDP: no answer here is truncated).
  const tcp = o.proxyConnections.find((l: string) => l.includes('to="10.53.0.2:53"') && l.includes('proto="tcp"'));
  assert.ok(tcp !== undefined && Number(tcp.split(' ').at(-1)) > 0, `force_tcp to the cluster DNS: ${o.proxyConnections}`);
});
