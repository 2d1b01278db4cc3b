// The table's publish protocol across threads: a reader in a worker thread never sees a torn
// entry or an older generation, while the primary rewrites names and the table moves into
// bigger buffers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageChannel, Worker } from 'node:worker_threads';
import { TableWriter } from '../src/table/writer.ts';
import { encodeEntry } from '../src/table/entry.ts';
import { QTYPE } from '../src/dns/constants.ts';
import { encodeQuery } from './helpers/dns-client.ts';

const NAMES = 200;

function entry(i: number, gen: number): Uint8Array {
  const name = `n${i}.example.test.`;
  const addr = (k: number) => `10.${gen >> 8}.${gen & 255}.${k & 255}`;
  return encodeEntry(name, [{ qtype: QTYPE.A, answer: [
    { name, type: 'A', ttl: 5, data: addr(i) },
    { name, type: 'A', ttl: 5, data: addr(i + 1) },
  ] }]);
}

test('readers in another thread see whole entries, in order, across buffer swaps', async () => {
  const writer = new TableWriter(1024, 256 * 1024);
  writer.batch(() => { for (let i = 0; i < NAMES; i++) writer.put(entry(i, 0)); });
  writer.setReady(true);
  const swaps = new MessageChannel();
  writer.onSwap = (sab) => swaps.port1.postMessage(sab);
  const queries = Array.from({ length: NAMES }, (_, i) => encodeQuery(`n${i}.example.test`));
  const worker = new Worker(new URL('./fixtures/table-reader-worker.ts', import.meta.url), {
    workerData: { sab: writer.buffer, queries, names: NAMES, swapPort: swaps.port2 },
    transferList: [swaps.port2],
  });
  const result = new Promise<{ checks: number; torn: number; backwards: number; halfBatch: number }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const started = Date.now();
  let gen = 0;
  while (Date.now() - started < 1500) {
    gen++;
    writer.batch(() => { for (let i = 0; i < NAMES; i++) writer.put(entry(i, gen)); });
    if (gen % 10 === 0) await new Promise((r) => setImmediate(r));
  }
  worker.postMessage('stop');
  const { checks, torn, backwards, halfBatch } = await result;
  await worker.terminate();
  assert.ok(writer.stats().swaps >= 3, `the table moved buffers ${writer.stats().swaps} times`);
  assert.ok(checks > 10_000, `${checks} answers checked`);
  assert.equal(torn, 0, 'torn entries');
  assert.equal(backwards, 0, 'answers older than one already seen');
  assert.equal(halfBatch, 0, 'a batch seen half-applied');
});
