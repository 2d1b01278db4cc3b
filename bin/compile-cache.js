// Node's compile cache, turned on before any TypeScript source loads. With it, the type-stripped
// JavaScript and V8's code for every source file are read back from disk, so a thread never loads
// Node's TypeScript stripper (a WebAssembly module of ~12 MiB per thread: ~17 MiB RSS on the
// primary and ~12 MiB on each worker, measured in bench/RESULTS.md, issue 13). Plain JavaScript:
// it runs before the sources do, in the primary (bin/kdns.js) and in each worker
// (workers/dns-worker.js).
//
// KDNS_COMPILE_CACHE names the directory (default: kdns-compile-cache in the temporary
// directory); `off` turns it off. The image points it at a cache filled at build time
// (bin/prime-compile-cache.js, as the image's user): Node reads a cache it cannot write, so it
// works under a read-only root filesystem. Node keeps one subdirectory per UID (and Node
// version), so a pod run as another user than the image's finds none there and compiles from
// source; a cache of another user's files is unreadable (Node writes them mode 0600) and is the
// same as none (measured: +37 MiB RSS with 2 workers, bench/RESULTS.md).
import module from 'node:module';
import os from 'node:os';
import path from 'node:path';

export function enableCompileCache() {
  const chosen = process.env.KDNS_COMPILE_CACHE;
  if (chosen === 'off' || typeof module.enableCompileCache !== 'function') return null;
  const dir = chosen || path.join(os.tmpdir(), 'kdns-compile-cache');
  // Workers inherit the environment: they use the same directory.
  process.env.KDNS_COMPILE_CACHE = dir;
  const result = module.enableCompileCache(dir);
  return result.directory ?? null;
}

/** Writes what this thread compiled so far (workers are terminated, not exited, at shutdown). */
export function flushCompileCache() {
  if (typeof module.flushCompileCache === 'function') module.flushCompileCache();
}
