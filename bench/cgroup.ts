// A memory cgroup of our own with a limit, as a pod's container gets (kubeadm's CoreDNS: 170Mi),
// to run one server in: cgroup v2 (memory.max) where the unified hierarchy has the memory
// controller, else v1 (memory.limit_in_bytes). Needs root (or a delegated hierarchy); without it
// createMemoryCgroup says why. Used by bench/soak.ts --limit-mib and test/memory-limit.test.ts.
import fs from 'node:fs';
import path from 'node:path';

export interface MemoryCgroupStats {
  /** Memory charged now (RSS + page cache + kernel memory of the group), bytes. */
  usage: number;
  /** The highest usage since the group was made, bytes (null where the kernel keeps none). */
  peak: number | null;
  /** Processes the kernel's OOM killer killed in this group. */
  oomKills: number;
}

export interface MemoryCgroup {
  dir: string;
  version: 1 | 2;
  limitBytes: number;
  /** argv that runs `argv` inside the group (a shell joins it, then execs). */
  wrap(argv: string[]): string[];
  stats(): MemoryCgroupStats;
  /** Removes the group (its processes must have exited). */
  remove(): void;
}

const V1_ROOT = '/sys/fs/cgroup/memory';
const V2_ROOTS = ['/sys/fs/cgroup', '/sys/fs/cgroup/unified'];

function v2Root(): string | null {
  for (const root of V2_ROOTS) {
    try {
      if (fs.readFileSync(path.join(root, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('memory')) return root;
    } catch {
      // not a v2 hierarchy, or no memory controller in it
    }
  }
  return null;
}

const readNumber = (file: string): number => Number(fs.readFileSync(file, 'utf8').trim());
const field = (file: string, name: string): number => {
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(fs.readFileSync(file, 'utf8'));
  return m ? Number(m[1]) : 0;
};

/** Why no memory cgroup can be made here, or null when one can. */
export function memoryCgroupUnavailable(): string | null {
  const root = v2Root() ?? (fs.existsSync(path.join(V1_ROOT, 'memory.limit_in_bytes')) ? V1_ROOT : null);
  if (!root) return 'no cgroup memory controller is mounted';
  try {
    fs.accessSync(root, fs.constants.W_OK);
  } catch {
    return `${root} is not writable (run as root)`;
  }
  return null;
}

/** Makes `name` (unique per call) with a memory limit of `limitBytes` and no swap. */
export function createMemoryCgroup(name: string, limitBytes: number): MemoryCgroup {
  const why = memoryCgroupUnavailable();
  if (why) throw new Error(`cannot make a memory cgroup: ${why}`);
  const v2 = v2Root();
  const dir = path.join(v2 ?? V1_ROOT, `${name}-${process.pid}-${Date.now().toString(36)}`);
  fs.mkdirSync(dir);
  try {
    if (v2) {
      fs.writeFileSync(path.join(dir, 'memory.max'), String(limitBytes));
      if (fs.existsSync(path.join(dir, 'memory.swap.max'))) fs.writeFileSync(path.join(dir, 'memory.swap.max'), '0');
    } else {
      fs.writeFileSync(path.join(dir, 'memory.limit_in_bytes'), String(limitBytes));
      // memsw (memory + swap) only exists with swap accounting on; equal to the limit: no swap.
      if (fs.existsSync(path.join(dir, 'memory.memsw.limit_in_bytes'))) fs.writeFileSync(path.join(dir, 'memory.memsw.limit_in_bytes'), String(limitBytes));
    }
  } catch (err) {
    fs.rmdirSync(dir);
    throw err;
  }
  return {
    dir,
    version: v2 ? 2 : 1,
    limitBytes,
    // The shell moves itself into the group, then execs the server: Node sees the limit from its
    // first instruction (process.constrainedMemory) and sizes its heaps by it.
    wrap: (argv) => ['/bin/sh', '-c', `echo $$ > "${path.join(dir, 'cgroup.procs')}" && exec "$@"`, 'sh', ...argv],
    stats: () => v2
      ? {
        usage: readNumber(path.join(dir, 'memory.current')),
        peak: fs.existsSync(path.join(dir, 'memory.peak')) ? readNumber(path.join(dir, 'memory.peak')) : null,
        oomKills: field(path.join(dir, 'memory.events'), 'oom_kill'),
      }
      : {
        usage: readNumber(path.join(dir, 'memory.usage_in_bytes')),
        peak: readNumber(path.join(dir, 'memory.max_usage_in_bytes')),
        oomKills: field(path.join(dir, 'memory.oom_control'), 'oom_kill'),
      },
    remove: () => {
      // The kernel may take a moment to let go of a group whose last process just exited.
      for (let i = 0; ; i++) {
        try {
          fs.rmdirSync(dir);
          return;
        } catch (err) {
          if (i >= 50 || (err as NodeJS.ErrnoException).code !== 'EBUSY') throw err;
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
        }
      }
    },
  };
}

function statusMiB(pid: number, field: string): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** VmRSS of a process in MiB (NaN once it has gone). */
export const rssMiB = (pid: number): number => statusMiB(pid, 'VmRSS');
/** RssAnon: VmRSS less the mapped files (the binary, libraries), which the kernel can drop and read again. */
export const anonMiB = (pid: number): number => statusMiB(pid, 'RssAnon');
