// A zone file on the primary: read at start-up, then checked every `reload` interval (size,
// mtime, inode) and read again when it changed; its records replace the zone's only when the
// SOA serial changed, as CoreDNS's file plugin reloads "if the SOA version changes". A file that
// does not parse any more is logged and the zone keeps its last good records.
import { statSync } from 'node:fs';
import type { RR } from '../../table/entry.ts';
import type { RecordStore } from '../../table/record-store.ts';
import { ZoneFileError, readZoneFile, zoneSoa } from './zone-file.ts';

export interface ZoneFileSourceOptions {
  path: string;
  zones: string[];
  store: RecordStore;
  log(line: string): void;
}

const serialOf = (rrs: RR[], zone: string): number => (zoneSoa(rrs, zone)!.data as { serial: number }).serial;

export class ZoneFileSource {
  private readonly o: ZoneFileSourceOptions;
  private fingerprint = '';
  private serials = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private lastError = '';

  constructor(o: ZoneFileSourceOptions) {
    this.o = o;
  }

  /** Serves the records read at setup (`first`, by zone), then polls every `reloadMs` (0: never). */
  start(first: Map<string, RR[]>, reloadMs: number): void {
    this.fingerprint = this.stat();
    for (const [zone, rrs] of first) this.publish(zone, rrs);
    this.o.store.flush();
    if (reloadMs > 0) {
      this.timer = setInterval(() => this.check(), reloadMs);
      this.timer.unref();
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private stat(): string {
    try {
      const st = statSync(this.o.path);
      return `${st.size}:${st.mtimeMs}:${st.ino}`;
    } catch {
      return '';
    }
  }

  private check(): void {
    const fp = this.stat();
    if (fp === this.fingerprint || fp === '') return;
    this.fingerprint = fp;
    for (const zone of this.o.zones) {
      let rrs: RR[];
      try {
        rrs = readZoneFile(this.o.path, zone);
      } catch (err) {
        const message = err instanceof ZoneFileError ? err.message : (err as Error).message;
        if (message !== this.lastError) this.o.log(`[ERROR] plugin/file: reloading zone "${zone}": ${message}; serving the last good version`);
        this.lastError = message;
        continue;
      }
      this.lastError = '';
      if (serialOf(rrs, zone) === this.serials.get(zone)) continue;
      this.publish(zone, rrs);
      this.o.log(`[INFO] plugin/file: Successfully reloaded zone "${zone}" in "${this.o.path}" with ${serialOf(rrs, zone)} SOA serial`);
    }
    this.o.store.flush();
  }

  private publish(zone: string, rrs: RR[]): void {
    this.serials.set(zone, serialOf(rrs, zone));
    this.o.store.set(`zone:${zone}`, rrs);
  }
}
