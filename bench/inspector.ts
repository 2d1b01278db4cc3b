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
  return inspectorSession(wsUrl, timeoutMs, async (call) => {
    await call('HeapProfiler.collectGarbage');
    return JSON.parse(await evaluate(call, 'JSON.stringify(process.memoryUsage())')) as NodeJS.MemoryUsage;
  });
}

/** Evaluates `expression` on the primary thread of a process started with --inspect; its value as a string. */
export async function evaluateOverInspector(wsUrl: string, expression: string, timeoutMs = 30_000): Promise<string> {
  return inspectorSession(wsUrl, timeoutMs, (call) => evaluate(call, expression));
}

type Call = (method: string, params?: Record<string, unknown>) => Promise<unknown>;

async function evaluate(call: Call, expression: string): Promise<string> {
  const r = (await call('Runtime.evaluate', { expression, returnByValue: true })) as { result: { value: unknown }; exceptionDetails?: { text: string } };
  if (r.exceptionDetails) throw new Error(`evaluate: ${r.exceptionDetails.text}`);
  return String(r.result.value);
}

async function inspectorSession<T>(wsUrl: string, timeoutMs: number, fn: (call: Call) => Promise<T>): Promise<T> {
  assertLoopback(new URL(wsUrl).hostname);
  const ws = new WebSocket(wsUrl);
  const pending = new Map<number, (m: { result?: unknown; error?: { message: string } }) => void>();
  ws.onmessage = (ev) => {
    const m = JSON.parse(String(ev.data)) as { id?: number; result?: unknown; error?: { message: string } };
    if (m.id !== undefined) pending.get(m.id)?.(m);
  };
  let nextId = 0;
  const call: Call = (method, params = {}) =>
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
    return await fn(call);
  } finally {
    clearTimeout(timer);
    ws.close();
  }
}
