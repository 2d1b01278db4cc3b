// The primary thread runs with a capped young generation (bin/node-flags.js), which V8 would
// otherwise grow to 128 MiB while a big cluster's first sync allocates, and keep. The real CLI,
// started as the launchers start it, allocates on its primary thread (over the inspector) the
// way a sync does: many objects that live a while. Its new space must stay at the cap. The
// workers' own cap (-worker.young-mb) is checked in prometheus.test.ts, which also fails if the
// primary's flag leaks into them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INSPECTOR_RE, evaluateOverInspector } from '../bench/inspector.ts';
import { PRIMARY_NODE_FLAGS } from '../bin/node-flags.js';
import { startServer } from './helpers/server-process.ts';
import { udpQuery } from './helpers/dns-client.ts';

const CHURN = `(() => {
  let keep = [];
  for (let i = 0; i < 3e6; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 300000) keep = []; }
  const v8 = process.getBuiltinModule('v8');
  return String(v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size);
})()`;

test('the primary\'s new space stays at its cap through a sync-like burst of allocation', { timeout: 60_000 }, async () => {
  const semi = Number(/^--max-semi-space-size=(\d+)$/.exec(PRIMARY_NODE_FLAGS.find((f) => f.startsWith('--max-semi-space-size')) ?? '')?.[1]);
  assert.ok(semi > 0, `PRIMARY_NODE_FLAGS caps the semi-space: ${PRIMARY_NODE_FLAGS.join(' ')}`);
  const server = await startServer(`.:{PORT} {
    bind 127.0.0.1
    records example.test {
        www 60 IN A 192.0.2.1
    }
}
`, { workers: 1, wrap: (argv) => [argv[0]!, '--inspect=127.0.0.1:0', ...argv.slice(1)] });
  try {
    const ws = INSPECTOR_RE.exec(server.stderr())?.[1];
    assert.ok(ws, `inspector URL on stderr: ${server.stderr()}`);
    const newSpace = Number(await evaluateOverInspector(ws, CHURN));
    // Two semi-spaces of the flag's size, and V8 counts a few more pages now and then (a bare
    // `node --max-semi-space-size=2` running CHURN read 4.0-10 MiB at moments, 4.25 MiB at the
    // end in one run of four): far from the 128 MiB the same churn reaches without the cap.
    assert.ok(newSpace > 0 && newSpace <= 4 * 2 * semi * 2 ** 20, `primary new space ${newSpace} bytes, cap ${2 * semi} MiB (4x slack)`);
    const r = await udpQuery(server.port, 'www.example.test');
    assert.deepEqual(r.answers.map((a) => a.data), ['192.0.2.1']);
  } finally {
    assert.equal(await server.stop(), 0);
  }
});

// The collections the kubernetes plugin runs after its first sync (src/server/primary-heap.ts):
// garbage goes and its pages go back to the OS, without --expose-gc, and no thread started
// afterwards gets a global gc(). In a child process, so this test's own heap is not the subject.
test('collectGarbage(true) frees garbage and hands its pages back; no global gc() leaks out', async () => {
  const { execFileSync } = await import('node:child_process');
  const script = `
    import { collectGarbage } from ${JSON.stringify(new URL('../src/server/primary-heap.ts', import.meta.url).href)};
    import { Worker } from 'node:worker_threads';
    let junk = []; for (let i = 0; i < 2e6; i++) junk.push({ i, s: 'x' + i });
    junk = null;
    const before = process.memoryUsage().heapTotal;
    collectGarbage(false);
    collectGarbage(true);
    const after = process.memoryUsage().heapTotal;
    const w = new Worker('process.getBuiltinModule("node:worker_threads").parentPort.postMessage(typeof gc)', { eval: true });
    const workerGc = await new Promise((r) => w.once('message', r));
    await w.terminate();
    console.log(JSON.stringify({ before, after, mainGc: typeof globalThis.gc, workerGc }));`;
  const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })) as { before: number; after: number; mainGc: string; workerGc: string };
  assert.ok(out.before > 100 * 2 ** 20, `the garbage filled the heap: ${out.before}`);
  assert.ok(out.after < out.before / 4, `heap after the collections ${out.after} B, before ${out.before} B`);
  assert.equal(out.mainGc, 'undefined');
  assert.equal(out.workerGc, 'undefined');
});
