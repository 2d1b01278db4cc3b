// The compile cache filled ahead of time (bin/prime-compile-cache.js, bin/compile-cache.js): the
// image primes one at build time as its user, and at run time, under a read-only root, every
// thread reads its modules back from it, so none loads Node's TypeScript stripper (~12-17 MiB
// each, issue 13). Node's own debug log (NODE_DEBUG_NATIVE=COMPILE_CACHE) says, for every
// module, whether its cache entry was found.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { join } from 'node:path';
import { ROOT, startServer, tempDir } from './helpers/server-process.ts';
import { udpQuery } from './helpers/dns-client.ts';

const COREFILE = `.:{PORT} {
    bind 127.0.0.1
    errors
    log
    health 127.0.0.1:0
    ready 127.0.0.1:0
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        manifests ${join(ROOT, 'demo', 'cluster')}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }
    prometheus 127.0.0.1:0
    forward . 127.0.0.1:9
    cache 30
    loop
    reload
    loadbalance
}
`;

type Wrap = (argv: string[]) => string[];

/** Path, size and modification time of every file under `dir`: what a run must not change. */
function listing(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => {
      const p = join(e.parentPath, e.name);
      const s = fs.statSync(p);
      return `${p.slice(dir.length)} ${s.size} ${s.mtimeMs}`;
    })
    .sort();
}

function prime(dir: string, wrap: Wrap = (a) => a): void {
  const [cmd, ...args] = wrap([process.execPath, join(ROOT, 'bin', 'prime-compile-cache.js'), dir]);
  const out = execFileSync(cmd!, args, { encoding: 'utf8' });
  assert.match(out, /compile cache: \d+ modules in /);
}

/** Runs kdns (2 workers) with Node's compile-cache debug log on, answers one query, returns the log. */
async function runLogged(env: Record<string, string>, wrap?: Wrap): Promise<string> {
  const server = await startServer(COREFILE, { workers: 2, env: { ...env, NODE_DEBUG_NATIVE: 'COMPILE_CACHE' }, wrap });
  try {
    const r = await udpQuery(server.port, 'kubernetes.default.svc.cluster.local');
    assert.equal(r.rcode, 'NOERROR');
  } finally {
    await server.stop();
  }
  return server.stderr();
}

/** The TypeScript modules Node stripped from source (no usable cache entry) and those it read back. */
function cacheUse(log: string): { missed: string[]; read: Set<string> } {
  const missed = [...log.matchAll(/no transpile cache for StrippedTypeScript (\S+)/g)].map((m) => m[1]!);
  const read = new Set([...log.matchAll(/retrieving transpile cache for StrippedTypeScript (\S+)\.\.\.success/g)].map((m) => m[1]!));
  return { missed, read };
}

test('a primed cache serves every module of the primary and both workers, and is only read', { timeout: 60_000 }, async () => {
  const cache = join(tempDir(), 'cache');
  prime(cache);
  const before = listing(cache);
  const { missed, read } = cacheUse(await runLogged({ KDNS_COMPILE_CACHE: cache }));
  assert.deepEqual(missed, [], 'no module stripped from source');
  // The primary's modules and the workers' (the worker entry, the kubernetes and cache handlers,
  // which a worker imports by the Corefile's plugins).
  for (const mod of ['src/cli.ts', 'workers/dns-worker.ts', 'src/plugins/kubernetes/handler.ts', 'src/plugins/cache/handler.ts']) {
    assert.ok([...read].some((u) => u.endsWith(mod)), `${mod} read from the cache`);
  }
  assert.deepEqual(listing(cache), before, 'nothing rewritten');
});

test('an empty cache directory is filled on the first start and serves the next', { timeout: 60_000 }, async () => {
  const cache = join(tempDir(), 'kdns-compile-cache');
  const { missed } = cacheUse(await runLogged({ KDNS_COMPILE_CACHE: cache }));
  assert.ok(missed.some((u) => u.endsWith('src/cli.ts')), 'cli.ts compiled from source');
  assert.ok(listing(cache).length > 0);
  assert.deepEqual(cacheUse(await runLogged({ KDNS_COMPILE_CACHE: cache })).missed, []);
});

// The pod: the image's USER (1000) primed the cache at build time; at run time the root
// filesystem is read-only (here a read-only bind mount of the cache in a mount namespace).
const USER = 1000;
const asUser: Wrap = (argv) => ['setpriv', `--reuid=${USER}`, `--regid=${USER}`, '--clear-groups', '--', ...argv];
const readOnly = (dir: string): Wrap => (argv) => ['unshare', '--mount', '--', 'sh', '-c', 'mount --bind -o ro "$0" "$0" && exec "$@"', dir, ...asUser(argv)];
function podMissing(): string | false {
  if (process.getuid?.() !== 0) return 'needs root to switch to UID 1000';
  if (spawnSync('setpriv', ['--version'], { stdio: 'ignore' }).error) return 'setpriv (util-linux) is not installed';
  if (spawnSync('unshare', ['--mount', '--', 'true'], { stdio: 'ignore' }).status !== 0) return 'cannot make a mount namespace (unshare --mount)';
  return false;
}

test(`as UID ${USER} on a read-only mount: the image's primed cache serves; one primed by another user does not`, { skip: podMissing(), timeout: 60_000 }, async () => {
  const dir = tempDir();
  fs.chmodSync(dir, 0o755);
  const build = join(dir, 'app');
  fs.mkdirSync(build);
  fs.chownSync(build, USER, USER);
  const cache = join(build, 'compile-cache');
  prime(cache, asUser);
  const before = listing(cache);

  const ours = cacheUse(await runLogged({ KDNS_COMPILE_CACHE: cache }, readOnly(cache)));
  assert.deepEqual(ours.missed, [], 'every module from the read-only cache');
  assert.ok(ours.read.size > 50, `${ours.read.size} modules read back`);
  assert.deepEqual(listing(cache), before);

  // Primed as root: Node's subdirectory is root's (and its files mode 0600); UID 1000 finds none of
  // its own, cannot make one on the read-only mount, and runs without a cache: every thread strips
  // its sources (why the image primes as its USER).
  const rootCache = join(dir, 'root-cache');
  prime(rootCache);
  fs.chmodSync(rootCache, 0o755);
  const log = await runLogged({ KDNS_COMPILE_CACHE: rootCache }, readOnly(rootCache));
  assert.match(log, /Cannot create cache directory/);
  assert.equal(cacheUse(log).read.size, 0, 'another user\'s cache is not used');
});
