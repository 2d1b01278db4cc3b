// Starts the real CLI (`node bin/kdns.js`) as a child process for tests, on a free port.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../bench/dnsutil.ts';
import { PRIMARY_ENV, PRIMARY_NODE_FLAGS } from '../../bin/node-flags.js';

export { freePort };

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = join(ROOT, 'bin', 'kdns.js');

export interface RunningServer {
  proc: ChildProcess;
  port: number;
  stdout: () => string;
  stderr: () => string;
  /** Resolves when stdout contains `text` (or rejects after the timeout). */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'kdns-test-'));
}

/** Writes `corefile` (with {PORT} replaced) to a temp dir and starts the CLI on it. */
/** `wrap` turns the command line into another that runs it (e.g. inside a memory cgroup: bench/cgroup.ts). */
export async function startServer(corefile: string, opts: { workers?: number; env?: Record<string, string>; args?: string[]; port?: number; wrap?: (argv: string[]) => string[] } = {}): Promise<RunningServer> {
  const port = opts.port ?? (await freePort());
  const dir = tempDir();
  // Readable by any user: `wrap` may run the server as another one (test/compile-cache.test.ts).
  chmodSync(dir, 0o755);
  const file = join(dir, 'Corefile');
  writeFileSync(file, corefile.replaceAll('{PORT}', String(port)), { mode: 0o644 });
  const server = spawnCli(['-conf', file, '-workers', String(opts.workers ?? 2), ...(opts.args ?? [])], { env: opts.env, cwd: dir, wrap: opts.wrap });
  server.port = port;
  try {
    await server.waitFor(/^kdns-/m, 20_000);
  } catch (err) {
    await server.stop('SIGKILL');
    throw new Error(`server did not start: ${(err as Error).message}\nstdout: ${server.stdout()}\nstderr: ${server.stderr()}`);
  }
  return server;
}

export function spawnCli(args: string[], opts: { env?: Record<string, string>; cwd?: string; wrap?: (argv: string[]) => string[] } = {}): RunningServer {
  const argv = (opts.wrap ?? ((a: string[]) => a))([process.execPath, ...PRIMARY_NODE_FLAGS, BIN, ...args]);
  const proc = spawn(argv[0]!, argv.slice(1), {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, ...PRIMARY_ENV, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const watchers: Array<() => void> = [];
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    for (const w of [...watchers]) w();
  });
  proc.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return {
    proc,
    port: 0,
    stdout: () => out,
    stderr: () => err,
    waitFor(text, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const matches = (): boolean => (typeof text === 'string' ? out.includes(text) : text.test(out));
        if (matches()) return resolve();
        const timer = setTimeout(() => {
          watchers.splice(watchers.indexOf(check), 1);
          reject(new Error(`timed out waiting for ${String(text)}`));
        }, timeoutMs);
        const check = (): void => {
          if (matches()) {
            clearTimeout(timer);
            watchers.splice(watchers.indexOf(check), 1);
            resolve();
          }
        };
        watchers.push(check);
        exited.then(() => {
          if (!matches()) {
            clearTimeout(timer);
            reject(new Error(`process exited; stderr: ${err}`));
          }
        });
      });
    },
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/** Runs the CLI to completion and returns its exit code and output. */
export function runCli(args: string[], opts: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const s = spawnCli(args, opts);
  const timer = setTimeout(() => s.proc.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
  return new Promise((resolve) => {
    s.proc.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: s.stdout(), stderr: s.stderr() });
    });
  });
}

/**
 * Runs the CLI on `corefile`, expects a configuration error (exit code 1) and returns its stderr,
 * with the temporary file's path shortened to `Corefile`.
 */
export async function configError(corefile: string): Promise<string> {
  const file = join(tempDir(), 'Corefile');
  writeFileSync(file, corefile);
  const r = await runCli(['-conf', file, '-workers', '1']);
  if (r.code !== 1) throw new Error(`expected exit 1 for:\n${corefile}\ngot ${r.code}; stderr: ${r.stderr}`);
  return r.stderr.replaceAll(file, 'Corefile');
}
