// The kubernetes plugin's first sync, in process: the synthetic cluster's objects go through the
// same trimming, ClusterState, RecordStore and TableWriter as a kdns primary's, and the run times
// only what happens between the lists' end and /ready (ClusterState.synced(): records, encoding,
// the table, the collections between chunks). The end-to-end figure (bench/k8s-scale.ts) adds
// the API server, JSON and the workers' start, and moves ±15 % run to run on a small VM; this
// one isolates the build, for A/B runs of a change to it (run it in each worktree, alternately).
//
//   node bench/table-build.ts [--services 10000] [--endpoints 100000] [--seed 1] [--rounds 3]
//       [--json] [--cpu-prof DIR]
//
// Each round is a fresh process started with the primary's own Node flags and environment
// (bin/node-flags.js), so the JIT and the heap start cold as they do in kdns. The SHA-1 of the
// table's whole buffer is printed: a change meant to leave the table alone must leave it equal.
// Round i runs with V8's string hash seed fixed to the i-th of a fixed list (kdns itself runs with
// a random one): in one sitting on the 2-vCPU VM seeds 1-10 built in 2.69-3.04 s and eight random
// large ones in 3.04-3.76 s, so with the same seeds on both sides of an A/B the rounds pair up.
// The VM's own drift (the same seed 3.3 s and 4.2 s ten minutes apart) remains: alternate runs.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { PRIMARY_ENV, PRIMARY_NODE_FLAGS } from '../bin/node-flags.js';
import { defaultSoa, RecordStore } from '../src/table/record-store.ts';
import { TableWriter } from '../src/table/writer.ts';
import { ClusterState } from '../src/plugins/kubernetes/cluster-state.ts';
import { trimEndpointSlice, trimNamespace, trimService } from '../src/plugins/kubernetes/model.ts';
import { collectGarbage } from '../src/server/primary-heap.ts';
import { numberArg, parseCli } from './cli-args.ts';
import { median } from './stats.ts';
import { syntheticCluster } from './synthetic-cluster.ts';

const USAGE = `usage: node bench/table-build.ts [--services 10000] [--endpoints 100000] [--seed 1] [--rounds 3]
    [--json] [--cpu-prof DIR]
  the first sync's table build (ClusterState.synced()) in a fresh process per round: wall and CPU
  ms, names, bytes and the SHA-1 of the table (equal before and after a change that keeps it)`;

export interface BuildRound {
  /** From the end of the lists to a complete table. */
  buildMs: number;
  /** From the end of the lists to a table served (partial while a big cluster's Services go in). */
  servingMs: number;
  cpuMs: number;
  names: number;
  liveBytes: number;
  /** The table's buffer, and how many times it was replaced by a bigger one on the way. */
  tableBytes: number;
  swaps: number;
  heapAfterMiB: number;
  sha1: string;
}

/** One build in this process. */
export async function buildOnce(services: number, endpoints: number, seed: number): Promise<BuildRound> {
  const cluster = syntheticCluster({ services, endpoints, seed });
  const zones = ['cluster.local.', 'in-addr.arpa.', 'ip6.arpa.'];
  const writer = new TableWriter();
  // As the plugin's setup(): a fixed serial, so the table's bytes are the same every run.
  const store = new RecordStore(writer, zones.map((z) => ({ ...defaultSoa(z, 30, 1), ttl: 30 })));
  let synced = false;
  let t0 = 0;
  let servingMs = 0;
  let done = (): void => {};
  const built = new Promise<void>((resolve) => (done = resolve));
  const state = new ClusterState(store, {
    zones: ['cluster.local.'], reverseZones: ['in-addr.arpa.', 'ip6.arpa.'], ttl: 30,
    endpointPodNames: false, pods: 'insecure', namespaces: [], namespaceLabels: null, ignoreEmptyService: false,
    // One address, as a pod has (kdns reads the host's): ns.dns.<zone> answers with it.
    localAddresses: ['10.244.0.10'], batchMs: 5, collect: collectGarbage,
    serving: (partial) => {
      writer.setPartial(partial);
      writer.setReady(true);
      servingMs = performance.now() - t0;
    },
  }, () => {
    writer.setPartial(false);
    synced = true;
    done();
  });
  for (const o of cluster.objects) {
    const json = o as unknown as Record<string, unknown>;
    if (o.kind === 'Namespace') state.upsertNamespace(trimNamespace(json));
    else if (o.kind === 'Service') state.upsertService(trimService(json));
    else if (o.kind === 'EndpointSlice') state.upsertSlice(trimEndpointSlice(json));
  }
  cluster.objects.length = 0;
  collectGarbage(true);
  const cpu0 = process.cpuUsage();
  t0 = performance.now();
  state.synced();
  await built;
  const buildMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  if (!synced) throw new Error('the build did not report synced');
  const t = writer.stats();
  return {
    buildMs,
    servingMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    names: t.names,
    liveBytes: t.liveBytes,
    tableBytes: t.bytes,
    swaps: t.swaps,
    heapAfterMiB: process.memoryUsage().heapUsed / 2 ** 20,
    sha1: crypto.createHash('sha1').update(new Uint8Array(writer.buffer)).digest('hex'),
  };
}

/** The round's string hash seed: spread over V8's range, the same list every run. */
function hashSeed(round: number): number {
  return (Math.imul(round + 1, 0x9e3779b1) >>> 1) || 1;
}

async function main(): Promise<void> {
  const v = parseCli(USAGE, {
    services: { type: 'string', default: '10000' },
    endpoints: { type: 'string', default: '100000' },
    seed: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
    child: { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
  });
  if (!v) return;
  const services = numberArg(v.services)!;
  const endpoints = numberArg(v.endpoints)!;
  const seed = numberArg(v.seed)!;
  if (v.child) {
    process.stdout.write(`${JSON.stringify(await buildOnce(services, endpoints, seed))}\n`);
    return;
  }
  const rounds: BuildRound[] = [];
  const prof = v['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', v['cpu-prof']] : [];
  for (let i = 0; i < numberArg(v.rounds)!; i++) {
    const out = execFileSync(process.execPath, [
      ...PRIMARY_NODE_FLAGS, ...prof, `--hash-seed=${hashSeed(i)}`, fileURLToPath(import.meta.url), '--child',
      '--services', String(services), '--endpoints', String(endpoints), '--seed', String(seed),
    ], { env: { ...process.env, ...PRIMARY_ENV }, encoding: 'utf8', maxBuffer: 1 << 20 });
    const r = JSON.parse(out.trim().split('\n').at(-1)!) as BuildRound;
    rounds.push(r);
    if (!v.json) console.log(`round ${i + 1} (hash seed ${hashSeed(i)}): served after ${r.servingMs.toFixed(0)} ms, complete after ${r.buildMs.toFixed(0)} ms, cpu ${r.cpuMs.toFixed(0)} ms, ${r.names} names, ${r.liveBytes} bytes (buffer ${(r.tableBytes / 2 ** 20).toFixed(1)} MiB, ${r.swaps} swaps), heap after ${r.heapAfterMiB.toFixed(1)} MiB, sha1 ${r.sha1}`);
  }
  const summary = {
    services, endpoints, seed, node: process.version,
    buildMs: median(rounds.map((r) => r.buildMs)), servingMs: median(rounds.map((r) => r.servingMs)), cpuMs: median(rounds.map((r) => r.cpuMs)),
    sha1: [...new Set(rounds.map((r) => r.sha1))], rounds,
  };
  if (v.json) console.log(JSON.stringify(summary, null, 2));
  else console.log(`median served after ${summary.servingMs.toFixed(0)} ms, complete after ${summary.buildMs.toFixed(0)} ms, cpu ${summary.cpuMs.toFixed(0)} ms`);
}

if (import.meta.main) await main();
