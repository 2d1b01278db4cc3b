// Drives a fake API server from tests: FakeApiClient speaks its /_control API, and
// startFakeApiServer runs one as a child process (main.ts) on a free loopback port.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { K8sObject } from './resources.ts';
import type { PauseMode, Stats } from './server.ts';

export type { K8sObject } from './resources.ts';
export type { PauseMode, Stats } from './server.ts';

/** Which object: kind (`Service`, or a plural like `services`), namespace (default `default`) and name. */
export interface ObjectRef {
  kind: string;
  namespace?: string;
  name: string;
}

export class FakeApiError extends Error {
  readonly status: number;
  readonly body: unknown;
  constructor(status: number, body: unknown, op: string) {
    const msg = (body as { message?: string } | null)?.message ?? JSON.stringify(body);
    super(`fake-apiserver ${op}: ${status} ${msg}`);
    this.status = status;
    this.body = body;
  }
}

export interface BulkResult {
  count: number;
  created: number;
  updated: number;
  unchanged: number;
  resourceVersion: string;
}

export class FakeApiClient {
  readonly url: string;
  private readonly timeoutMs: number;

  constructor(url: string, opts: { timeoutMs?: number } = {}) {
    this.url = url.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  private async call<T>(op: string, body?: unknown): Promise<T> {
    const r = await fetch(`${this.url}/_control/${op}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body ?? {}),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await r.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
    if (!r.ok) throw new FakeApiError(r.status, parsed, op);
    return parsed as T;
  }

  /** Creates the object (409 if it exists); returns it as stored, with uid and resourceVersion. */
  create(obj: K8sObject): Promise<K8sObject> {
    return this.call('create', obj);
  }

  /** Replaces an existing object (404 if missing). An identical object is a no-op: no new version, no event. */
  update(obj: K8sObject): Promise<K8sObject> {
    return this.call('update', obj);
  }

  /** Creates or replaces. */
  apply(obj: K8sObject): Promise<K8sObject> {
    return this.call('apply', obj);
  }

  get(ref: ObjectRef): Promise<K8sObject> {
    return this.call('get', ref);
  }

  /** Deletes and returns the object as the DELETED event carries it (with the deletion's resourceVersion). */
  delete(ref: ObjectRef): Promise<K8sObject> {
    return this.call('delete', ref);
  }

  /** Every object of a kind (optionally one namespace), in key order, with the current resourceVersion. */
  list(kind: string, namespace?: string): Promise<{ resourceVersion: string; items: K8sObject[] }> {
    return this.call('list', { kind, namespace });
  }

  /** Creates or replaces many objects, `batch` per request; each write is its own version and event. */
  async bulk(objects: K8sObject[], opts: { batch?: number; mode?: 'upsert' | 'create' } = {}): Promise<BulkResult> {
    const batch = opts.batch ?? 5000;
    const total: BulkResult = { count: 0, created: 0, updated: 0, unchanged: 0, resourceVersion: '' };
    for (let i = 0; i < objects.length || i === 0; i += batch) {
      const r = await this.call<BulkResult>('bulk', { objects: objects.slice(i, i + batch), mode: opts.mode });
      total.count += r.count;
      total.created += r.created;
      total.updated += r.updated;
      total.unchanged += r.unchanged;
      total.resourceVersion = r.resourceVersion;
      if (objects.length === 0) break;
    }
    return total;
  }

  /** Deletes every object (of a kind, in a namespace), each with a DELETED event. */
  deleteAll(opts: { kind?: string; namespace?: string } = {}): Promise<{ deleted: number; resourceVersion: string }> {
    return this.call('delete-all', opts);
  }

  /** Drops history up to `resourceVersion` (default: now): watches from older versions get 410 Gone. */
  compact(resourceVersion?: string | number): Promise<{ compactedTo: string }> {
    return this.call('compact', resourceVersion === undefined ? {} : { resourceVersion: String(resourceVersion) });
  }

  /** Cuts off open watches: by default abruptly (TCP reset), or with `graceful` as a clean end of stream. */
  dropWatches(opts: { graceful?: boolean; kind?: string } = {}): Promise<{ dropped: number }> {
    return this.call('drop-watches', opts);
  }

  /** Simulates an outage until resume(); see PauseMode in server.ts for what each mode does. */
  pause(mode: PauseMode = 'reset'): Promise<{ paused: PauseMode; droppedWatches: number }> {
    return this.call('pause', { mode });
  }

  resume(): Promise<{ paused: null }> {
    return this.call('resume');
  }

  /** Sends a BOOKMARK now to every watch that allows them. */
  bookmark(): Promise<{ sent: number; resourceVersion: string }> {
    return this.call('bookmark');
  }

  /** Changes settings of the running server. */
  config(c: { bookmarkMs?: number; watchTimeoutS?: number; slowWatcherBytes?: number }): Promise<{ bookmarkMs: number; watchTimeoutS: number; slowWatcherBytes: number }> {
    return this.call('config', c);
  }

  stats(): Promise<Stats> {
    return this.call('stats');
  }

  resetStats(): Promise<void> {
    return this.call('reset-stats');
  }

  async resourceVersion(): Promise<string> {
    return (await this.stats()).resourceVersion;
  }

  /** Polls stats until `pred` holds (or throws after `timeoutMs`). */
  async waitForStats(pred: (s: Stats) => boolean, timeoutMs = 5000, what = 'condition'): Promise<Stats> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.stats();
      if (pred(s)) return s;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; stats: ${JSON.stringify(s.watches)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

export interface StartOptions {
  token?: string;
  /** BOOKMARK interval (default in the server: 10000 ms; 0 turns them off). */
  bookmarkMs?: number;
  /** Events kept per resource (default 10000). */
  history?: number;
  /** Length of watches that give no timeoutSeconds (default 1800 s). */
  watchTimeoutS?: number;
  port?: number;
  verbose?: boolean;
  /** How long to wait for the `listening` line. */
  startTimeoutMs?: number;
}

export interface RunningFakeApiServer {
  url: string;
  port: number;
  client: FakeApiClient;
  proc: ChildProcess;
  stderr(): string;
  /** SIGTERM, then SIGKILL after 3 s; resolves with the exit code. */
  stop(): Promise<number | null>;
}

export const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

/** Starts main.ts as a child process and resolves once it listens. */
export async function startFakeApiServer(opts: StartOptions = {}): Promise<RunningFakeApiServer> {
  const args = [MAIN, '--port', String(opts.port ?? 0), '--exit-with-stdin'];
  if (opts.token !== undefined) args.push('--token', opts.token);
  if (opts.bookmarkMs !== undefined) args.push('--bookmark-ms', String(opts.bookmarkMs));
  if (opts.history !== undefined) args.push('--history', String(opts.history));
  if (opts.watchTimeoutS !== undefined) args.push('--watch-timeout-s', String(opts.watchTimeoutS));
  if (opts.verbose) args.push('--verbose');
  const proc = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    if (opts.verbose) process.stderr.write(d);
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const kill = (): void => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  };
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      kill();
      reject(new Error(`fake-apiserver did not start in time; stderr: ${err}`));
    }, opts.startTimeoutMs ?? 15_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^listening (http:\/\/\S+)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`fake-apiserver exited with ${code}; stderr: ${err}`));
    });
  });
  proc.stdout!.resume();
  const port = Number(new URL(url).port);
  return {
    url,
    port,
    client: new FakeApiClient(url),
    proc,
    stderr: () => err,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      const force = setTimeout(kill, 3000);
      proc.kill('SIGTERM');
      const code = await exited;
      clearTimeout(force);
      proc.stdin?.destroy();
      return code;
    },
  };
}
