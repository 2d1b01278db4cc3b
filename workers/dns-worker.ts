// Piscina task that is a whole worker's life: open this worker's own listeners, answer queries
// until the primary says stop, then close. One task runs per pool thread.
import type { MessagePort } from 'node:worker_threads';
import { receiveMessageOnPort, threadId } from 'node:worker_threads';
import type dgram from 'node:dgram';
import type { FromWorker, ToWorker, WorkerConfig } from '../src/worker/config.ts';
import { WorkerRuntime } from '../src/worker/runtime.ts';
import { drainAndClose, openUdp } from '../src/worker/udp.ts';
import { openTcp } from '../src/worker/tcp.ts';
import { flushCompileCache } from '../bin/compile-cache.js';
import type { StreamListener } from '../src/worker/stream-listener.ts';
import { TableReader } from '../src/table/reader.ts';
import { LogBuffer } from '../src/worker/log-buffer.ts';
import { MetricsWriter, sampleMemory } from '../src/metrics/worker.ts';

export interface WorkerTask {
  index: number;
  config: WorkerConfig;
  port: MessagePort;
  /** Build the plugin chains, then wait for the primary's 'listen' before opening listeners. */
  holdListen?: boolean;
}

export default async function serve(task: WorkerTask): Promise<{ index: number; threadId: number }> {
  const { config, port, index } = task;
  const send = (m: FromWorker): void => port.postMessage(m);
  const logs = new LogBuffer((text) => send({ type: 'log', text }));
  const readers = new Map<string, TableReader>();
  let stopRequested: (() => void) | null = null;
  const stopped = new Promise<void>((resolve) => (stopRequested = resolve));
  let listenRequested: (() => void) | null = null;
  const listen = new Promise<void>((resolve) => (listenRequested = resolve));
  const deferred: ToWorker[] = [];

  const onControl = (m: ToWorker, fromLookup: boolean): void => {
    if (m.type === 'table') readers.get(m.id)?.attach(m.sab);
    else if (m.type === 'built') {
      if (fromLookup) deferred.push(m); // its listeners answer queries: not inside a lookup
      else readers.get(m.id)?.built(m.names);
    }
    else if (fromLookup) deferred.push(m); // never stop in the middle of a lookup
    else if (m.type === 'stop') stopRequested!();
    else if (m.type === 'listen') listenRequested!();
  };
  // Called by a reader that finds its buffer replaced mid-batch: take the new one right now.
  const pollSwap = (): void => {
    for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) onControl(m.message as ToWorker, true);
    if (deferred.length) setImmediate(() => deferred.splice(0).forEach((d) => onControl(d, false)));
  };
  for (const [id, sab] of Object.entries(config.tables)) {
    readers.set(id, new TableReader(sab, pollSwap, (name) => send({ type: 'want', id, name })));
  }
  port.on('message', (m: ToWorker) => onControl(m, false));

  const metrics = new MetricsWriter(config.metrics);
  const stopSampling = sampleMemory(metrics.slots);
  const rt = await WorkerRuntime.create(config, { log: (line) => logs.write(line), metrics }, (id) => {
    const reader = readers.get(id);
    if (!reader) throw new Error(`no record table ${id}`);
    return reader;
  });

  let stopBeforeListening = false;
  if (task.holdListen) await Promise.race([listen, stopped.then(() => (stopBeforeListening = true))]);
  if (stopBeforeListening) {
    rt.close();
    stopSampling();
    port.close();
    return { index, threadId };
  }

  const udp: dgram.Socket[] = [];
  /** TCP, DoT and DoH listeners. */
  const streams: StreamListener[] = [];
  try {
    for (const l of config.listeners) {
      const route = rt.route(l, config.servers);
      // DoT and DoH are loaded only for a server block that has them: with node:tls and
      // node:http2 they take ~2.5 MiB of each worker's heap (bench/RESULTS.md, issue 13).
      if (l.transport === 'tls') {
        const { openDot } = await import('../src/worker/dot.ts');
        flushCompileCache();
        streams.push(await openDot(rt, route, config.tcp));
      } else if (l.transport === 'https') {
        const { openDoh } = await import('../src/worker/doh.ts');
        flushCompileCache();
        streams.push(await openDoh(rt, route, { maxConnections: config.tcp.maxConnections, slots: metrics.slots }));
      }
      else {
        udp.push(await openUdp(rt, route));
        streams.push(await openTcp(rt, route, config.tcp));
      }
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    send({ type: 'error', message: `${e.code ?? 'error'}: ${e.message}` });
    for (const s of udp) s.close();
    for (const s of streams) void s.close();
    stopSampling();
    port.close();
    throw err;
  }
  send({ type: 'listening' });

  await stopped;
  // Every listener stops taking queries, answers what it owes, then closes (see each one).
  await Promise.all([...udp.map((s) => drainAndClose(s, rt)), ...streams.map((s) => s.close())]);
  rt.close();
  stopSampling();
  logs.flush();
  port.close();
  return { index, threadId };
}
