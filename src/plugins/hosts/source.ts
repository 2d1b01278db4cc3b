// The hosts file on the primary: read at start-up, then checked every `reload` interval (size,
// mtime and inode, as CoreDNS checks size and mtime) and re-read when it changed. Each read
// rebuilds the answers and writes only the names that changed, in one table batch.
import { readFileSync, statSync } from 'node:fs';
import { nameToWire } from '../../dns/name.ts';
import type { TableWriter } from '../../table/writer.ts';
import { HostsMap, type NameData, encodeName, mergeSources } from './hostsfile.ts';

export interface HostsSourceOptions {
  path: string;
  zones: string[];
  reverse: boolean;
  ttl: number;
  /** The Corefile's inline lines (served whatever happens to the file). */
  inline: HostsMap;
  writer: TableWriter;
  log(line: string): void;
}

export class HostsSource {
  private readonly o: HostsSourceOptions;
  /** The file's last good content, parsed (empty until it could be read). */
  private file: HostsMap;
  /** What the table holds: name -> its data as JSON (to write only what changed). */
  private served = new Map<string, string>();
  /** Size, mtime and inode of the file last read; '' before the first read. */
  private fingerprint = '';
  private lastError = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(o: HostsSourceOptions) {
    this.o = o;
    this.file = new HostsMap(o.zones, o.reverse);
  }

  /** Fills the table (the file if it can be read, and the inline lines), then polls. */
  start(reloadMs: number): void {
    this.check();
    this.publish();
    this.o.writer.setReady(true);
    if (reloadMs > 0) {
      this.timer = setInterval(() => {
        try {
          if (this.check()) this.publish(true);
        } catch (err) {
          // Never expected (the content is checked as it is read); the last good table stays.
          this.o.log(`[ERROR] plugin/hosts: reloading ${this.o.path}: ${(err as Error).message}`);
        }
      }, reloadMs);
      this.timer.unref();
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Re-reads the file when it changed; true when its content was replaced. */
  private check(): boolean {
    let fp: string;
    let text: string;
    try {
      const st = statSync(this.o.path);
      if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
      fp = `${st.size}:${st.mtimeMs}:${st.ino}`;
      if (fp === this.fingerprint) return false;
      text = readFileSync(this.o.path, 'utf8');
    } catch (err) {
      this.failed(err as NodeJS.ErrnoException);
      return false;
    }
    if (this.lastError !== '') this.o.log(`[INFO] plugin/hosts: ${this.o.path} can be read again`);
    this.lastError = '';
    this.fingerprint = fp;
    const next = new HostsMap(this.o.zones, this.o.reverse);
    next.addText(text);
    this.file = next;
    return true;
  }

  /** Logs a file that cannot be read, once per distinct problem; the last content stays. */
  private failed(err: NodeJS.ErrnoException): void {
    const code = err.code ?? err.message;
    if (code === this.lastError) return;
    this.lastError = code;
    if (code === 'ENOENT' && this.fingerprint === '') this.o.log(`[WARNING] plugin/hosts: File does not exist: ${this.o.path}`);
    else if (this.fingerprint === '') this.o.log(`[WARNING] plugin/hosts: cannot read ${this.o.path}: ${code}`);
    else this.o.log(`[WARNING] plugin/hosts: cannot read ${this.o.path}: ${code}; serving its last content`);
  }

  /** Writes the names whose answers changed (and removes those gone) in one batch. */
  private publish(logChanges = false): void {
    const merged = mergeSources([this.file, this.o.inline]);
    const next = new Map<string, string>();
    const puts: Uint8Array[] = [];
    for (const [name, d] of merged) {
      const json = signature(d);
      next.set(name, json);
      if (this.served.get(name) !== json) puts.push(encodeName(name, d, this.o.ttl));
    }
    const removes = [...this.served.keys()].filter((n) => !next.has(n)).map((n) => nameToWire(n));
    this.served = next;
    if (puts.length + removes.length === 0) return;
    const w = this.o.writer;
    w.batch(() => {
      for (const wire of removes) w.remove(wire);
      for (const entry of puts) w.put(entry);
    });
    if (logChanges) this.o.log(`[INFO] plugin/hosts: reloaded ${this.o.path}: ${puts.length} names updated, ${removes.length} removed`);
  }
}

function signature(d: NameData): string {
  return JSON.stringify([[...d.a], [...d.aaaa], [...d.ptr]]);
}
