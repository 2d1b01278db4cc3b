// A full garbage collection of a Node process's primary thread, over its inspector (the process
// runs with --inspect=127.0.0.1:0 and prints the WebSocket URL on stderr). Benchmarks use it to
// tell memory a process holds from garbage it has not collected yet.
import { assertLoopback } from './dnsutil.ts';

/** The inspector's WebSocket URL in what `node --inspect=127.0.0.1:0` prints on stderr. */
export const INSPECTOR_RE = /Debugger listening on (ws:\/\/127\.0\.0\.1:\d+\/\S+)/;

/**
 * Forces a full GC on the primary thread of a process started with --inspect, and returns its
 * process.memoryUsage() (Chrome DevTools Protocol over the inspector's WebSocket, loopback only).
 */
export async function gcOverInspector(wsUrl: string, timeoutMs = 30_000): Promise<NodeJS.MemoryUsage> {
  assertLoopback(new URL(wsUrl).hostname);
  const ws = new WebSocket(wsUrl);
  const pending = new Map<number, (m: { result?: unknown; error?: { message: string } }) => void>();
  ws.onmessage = (ev) => {
    const m = JSON.parse(String(ev.data)) as { id?: number; result?: unknown; error?: { message: string } };
    if (m.id !== undefined) pending.get(m.id)?.(m);
  };
  let nextId = 0;
  const call = (method: string, params: Record<string, unknown> = {}): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = ++nextId;
      pending.set(id, (m) => (m.error ? reject(new Error(`${method}: ${m.error.message}`)) : resolve(m.result)));
      ws.send(JSON.stringify({ id, method, params }));
    });
  const timer = setTimeout(() => ws.close(), timeoutMs);
  try {
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error(`cannot connect to ${wsUrl}`));
    });
    await call('HeapProfiler.collectGarbage');
    const r = (await call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true })) as { result: { value: string } };
    return JSON.parse(r.result.value) as NodeJS.MemoryUsage;
  } finally {
    clearTimeout(timer);
    ws.close();
  }
}

