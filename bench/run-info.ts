// What a bench report records about where it was measured: the machine, the kdns source it ran
// (a figure from uncommitted src/ is not the commit's), and the time stamp in its file name.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface MachineInfo {
  cpus: number;
  model: string;
  kernel: string;
  node: string;
  memMiB: number;
}

export interface SourceState {
  /** Short HEAD, or `unknown` outside a git checkout. */
  commit: string;
  /** Files changed but not committed under src/, bin/ and workers/. */
  dirtySrcFiles: number;
}

export function machineInfo(): MachineInfo {
  let model = os.cpus()[0]?.model ?? 'unknown';
  try {
    model = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? model;
  } catch {
    // not Linux: os.cpus() it is
  }
  return { cpus: os.cpus().length, model, kernel: os.release(), node: process.version, memMiB: Math.round(os.totalmem() / 1048576) };
}

export function sourceState(): SourceState {
  const git = (args: string[]): string => {
    try {
      return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '';
    }
  };
  const dirty = git(['status', '--porcelain', '--', 'src', 'bin', 'workers']);
  return { commit: git(['rev-parse', '--short', 'HEAD']) || 'unknown', dirtySrcFiles: dirty ? dirty.split('\n').length : 0 };
}

/** `20250102-030405` (UTC): report file names sort by time. */
export function fileTimestamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}
