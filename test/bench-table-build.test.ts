// bench/table-build.ts: the first sync's build in process. Its figure is only worth something if
// it builds what kdns builds: the same cluster through the real CLI (manifests, kubeadm's zones,
// pods insecure) must log the same table, names and bytes; rounds must agree on the table's bytes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { BuildRound } from '../bench/table-build.ts';
import { syntheticCluster, writeManifests } from '../bench/synthetic-cluster.ts';
import { ROOT, startServer } from './helpers/server-process.ts';

test('table-build: the table kdns builds for the same cluster, the same bytes every round', { timeout: 60_000 }, async () => {
  const args = ['--services', '120', '--endpoints', '900', '--seed', '3'];
  const r = spawnSync(process.execPath, ['bench/table-build.ts', ...args, '--rounds', '2', '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 50_000 });
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { buildMs: number; sha1: string[]; rounds: BuildRound[] };
  assert.equal(j.rounds.length, 2);
  assert.equal(j.sha1.length, 1, 'two rounds, one table');
  for (const round of j.rounds) assert.ok(round.buildMs > 0 && round.cpuMs > 0 && round.names > 0);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdns-build-'));
  try {
    writeManifests(syntheticCluster({ services: 120, endpoints: 900, seed: 3 }), dir, 100);
    const server = await startServer(`.:{PORT} {\n  bind 127.0.0.1\n  kubernetes cluster.local in-addr.arpa ip6.arpa {\n    manifests ${dir}\n    pods insecure\n    ttl 30\n  }\n}\n`, { workers: 1 });
    try {
      await server.waitFor(/table \d+ names/, 20_000);
      const [, names] = /table (\d+) names/.exec(server.stdout())!;
      assert.equal(j.rounds[0]!.names, Number(names), server.stdout());
    } finally {
      await server.stop();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
