// Network namespaces for tests that need what a pod has: port 53, a resolv.conf of their own, a
// service-account directory, an upstream on another host. The test runs a scenario script under
// `unshare --net --mount` (its own loopback and mounts; nothing leaks to the machine), and the
// scenario puts upstream servers in a second namespace joined by a veth pair.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './server-process.ts';

/** Why namespaces cannot be used here (for a skip), or undefined. */
export function netnsMissing(): string | undefined {
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  try {
    execFileSync('unshare', ['--net', '--mount', '--', 'ip', 'link', 'set', 'lo', 'up'], { stdio: 'ignore' });
    execFileSync('nsenter', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'unshare/nsenter/ip (util-linux, iproute2) cannot create a network namespace here';
  }
}

/** Runs `node script args` in a new network and mount namespace; resolves with its output. */
export function runIsolated(script: string, args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn('unshare', ['--net', '--mount', '--propagation', 'private', '--fork', '--', process.execPath, script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => {
    proc.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs a command (ip, mount) to its end; its stderr is in the error when it fails. */
export function sh(cmd: string, ...args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export interface PeerNamespace {
  /** Our side's and the peer's addresses on the link. */
  local: string;
  peer: string;
  /** Prefix that runs a command inside the peer namespace. */
  wrap: string[];
  stop(): void;
}

/**
 * From inside an isolated scenario: brings loopback up and makes a second namespace (a "node" or
 * "upstream" host) reachable over a veth pair at `peer`.
 */
export async function peerNamespace(local = '10.53.0.1', peer = '10.53.0.2'): Promise<PeerNamespace> {
  sh('ip', 'link', 'set', 'lo', 'up');
  // A process that holds the peer namespace open for as long as the scenario runs.
  const holder: ChildProcess = spawn('unshare', ['--net', '--', 'sleep', '3600'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 100));
  const pid = String(holder.pid);
  sh('ip', 'link', 'add', 'name', 'kdns0', 'type', 'veth', 'peer', 'name', 'peer0');
  sh('ip', 'link', 'set', 'peer0', 'netns', pid);
  sh('ip', 'addr', 'add', `${local}/30`, 'dev', 'kdns0');
  sh('ip', 'link', 'set', 'kdns0', 'up');
  const wrap = ['nsenter', '-t', pid, '-n', '--'];
  const inPeer = (...args: string[]): void => sh(wrap[0]!, ...wrap.slice(1), ...args);
  inPeer('ip', 'link', 'set', 'lo', 'up');
  inPeer('ip', 'addr', 'add', `${peer}/30`, 'dev', 'peer0');
  inPeer('ip', 'link', 'set', 'peer0', 'up');
  return { local, peer, wrap, stop: () => holder.kill('SIGKILL') };
}

/** Bind-mounts a file with `content` over `path` (inside the scenario's mount namespace only). */
export function overlayFile(path: string, content: string): void {
  const file = `${tempDir()}/overlay`;
  writeFileSync(file, content);
  sh('mount', '--bind', file, path);
}

/** /etc as an overlay of itself (inside the scenario's mount namespace): files written there stay there. */
export function overlayEtc(): void {
  const dir = tempDir();
  mkdirSync(join(dir, 'upper'));
  mkdirSync(join(dir, 'work'));
  sh('mount', '-t', 'overlay', 'overlay', '-o', `lowerdir=/etc,upperdir=${dir}/upper,workdir=${dir}/work`, '/etc');
}

/** A pod's service-account directory (token, ca.crt, namespace) on a private /run. */
export function serviceAccount(files: { token: string; caCrt: string; namespace?: string }): void {
  sh('mount', '-t', 'tmpfs', 'tmpfs', '/run');
  const dir = '/run/secrets/kubernetes.io/serviceaccount';
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/token`, files.token);
  writeFileSync(`${dir}/ca.crt`, files.caCrt);
  writeFileSync(`${dir}/namespace`, files.namespace ?? 'kube-system');
}

/**
 * Runs an isolated scenario script (see runIsolated) and returns the JSON object its last line
 * of output holds; throws with its output when there is none or it reports an error.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function runScenario(script: string, args: string[], timeoutMs: number): Promise<any> {
  const r = await runIsolated(script, args, timeoutMs);
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  let out;
  try {
    out = JSON.parse(line);
  } catch (err) {
    throw new Error(`scenario ${args.join(' ')} failed (exit ${r.code}): ${(err as Error).message}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
  if (out.error) throw new Error(`scenario ${args.join(' ')} failed: ${out.error}\nstderr: ${r.stderr}`);
  return out;
}

/** Inside a scenario: prints what `main` observed (or its error) as the one JSON line runScenario reads. */
export function reportScenario(main: () => Promise<Record<string, unknown>>): void {
  main().then(
    (r) => {
      process.stdout.write(`${JSON.stringify(r)}\n`);
      process.exit(0);
    },
    (err) => {
      process.stdout.write(`${JSON.stringify({ error: (err as Error).stack })}\n`);
      process.exit(0);
    },
  );
}

/** Inside a scenario: a GET's status and body; status 0 with the error when nothing answered. */
export async function httpGet(url: string): Promise<{ status: number; body: string }> {
  try {
    const res = await fetch(url);
    return { status: res.status, body: await res.text() };
  } catch (err) {
    return { status: 0, body: (err as Error).message };
  }
}
