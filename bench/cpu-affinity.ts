// CPU pinning for bench runs: the servers on some cores, the load generator on the others, so
// that on a small machine a latency tail measures the server and not the two fighting for a core.
// Linux only, through util-linux's `taskset` (children inherit the mask across fork and exec, and
// new threads inherit their creator's, so pinning a process before it starts threads pins them all).

import { execFileSync } from 'node:child_process';

export interface Affinity {
  /** Cores for the servers under test (and their children), e.g. `0` or `0-7`. */
  server?: string;
  /** Cores for this process (the load generator's threads) and the helpers it starts (upstream, API server). */
  generator?: string;
}

/** What this run pins; read by startTarget (bench/compare.ts). Empty: nothing is pinned. */
export const affinity: Affinity = {};

/** `0`, `0-3`, `0,2,4-7`: validated against the cores this process may run on; returns the list as given. */
export function parseCpuList(flag: string, list: string): string {
  if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(list)) throw new Error(`${flag} ${list}: expected a core list such as 0, 0-3 or 0,2,4-7`);
  const backwards = cpuRanges(list).find(([a, b]) => a > b);
  if (backwards) throw new Error(`${flag} ${list}: ${backwards.join('-')} is not a range`);
  const allowed = allowedCpus();
  const outside = expandCpuList(list).filter((c) => !allowed.includes(c));
  if (outside.length) throw new Error(`${flag} ${list}: this process may run on cores ${allowed.join(',')} only (not ${outside.join(',')})`);
  return list;
}

/** The cores this process may run on (its affinity mask, which a container's cpuset narrows). */
export function allowedCpus(): number[] {
  // `pid N's current affinity list: 0-3,6`
  const line = taskset(['-c', '-p', String(process.pid)]);
  return expandCpuList(line.slice(line.lastIndexOf(':') + 1).trim());
}

/** The cores of a list, expanded (`0,2-3` -> [0, 2, 3]). */
export function expandCpuList(list: string): number[] {
  const out: number[] = [];
  for (const [a, b] of cpuRanges(list)) for (let c = a; c <= b; c++) out.push(c);
  return out;
}

/** `0,2-3` -> [[0, 0], [2, 3]]. */
function cpuRanges(list: string): [number, number][] {
  return list.split(',').map((part) => {
    const [a, b = a] = part.split('-').map(Number) as [number, number?];
    return [a, b!];
  });
}

/** Runs taskset; its absence is one clear line, not ENOENT. */
function taskset(args: string[]): string {
  try {
    return execFileSync('taskset', args, { encoding: 'utf8' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('CPU pinning needs taskset (util-linux): apt-get install util-linux');
    throw err;
  }
}

/**
 * Sets the run's pinning: the generator list is applied to this process at once (all its current
 * threads, so the load generator's worker threads started later inherit it); the server list
 * is applied by startTarget to every server it starts.
 */
export function pin(a: Affinity): void {
  if (!a.server && !a.generator) return;
  if (a.server && a.generator) {
    const s = new Set(expandCpuList(a.server));
    const shared = expandCpuList(a.generator).filter((c) => s.has(c));
    if (shared.length) throw new Error(`--server-cpus and --generator-cpus share core(s) ${shared.join(',')}`);
  }
  if (a.generator) {
    original = allowedCpus().join(',');
    taskset(['-a', '-p', '-c', a.generator, String(process.pid)]);
  }
  affinity.server = a.server;
  affinity.generator = a.generator;
}

/** This process's cores before pin() narrowed them. */
let original: string | undefined;

/** Undoes pin(): this process back on its former cores, servers started from now on unpinned. */
export function unpin(): void {
  if (original) taskset(['-a', '-p', '-c', original, String(process.pid)]);
  original = undefined;
  affinity.server = undefined;
  affinity.generator = undefined;
}

/** argv that starts `argv` on the given cores (taskset execs it: the pid stays the child's). */
export function pinnedArgv(cpus: string | undefined, argv: string[]): string[] {
  return cpus ? ['taskset', '-c', cpus, ...argv] : argv;
}
