// The reload loop: every interval the `reload` directive asks for, read the Corefile and its
// imports again; when the parsed result differs from the running configuration, build a plan from
// it and hand it to `swap` (which starts it next to the running server and then stops the old
// one). Anything that goes wrong leaves the running configuration serving and is logged once.
import { createHash } from 'node:crypto';
import { CorefileError, loadCorefile, type Corefile } from '../../corefile/index.ts';
import { buildPlan, type Plan } from '../../config/plan.ts';
import { ListenError } from '../../server/port-check.ts';
import { reloadMetrics } from './metrics.ts';
import { reloadInterval } from './setup.ts';

/**
 * SHA512 of the parsed Corefile, imports and snippets expanded. Like CoreDNS (which hashes its
 * parsed server blocks) a change to an imported file counts, a change to comments alone does not.
 */
export function configDigest(corefile: Corefile): string {
  return createHash('sha512').update(JSON.stringify(corefile.blocks)).digest('hex');
}

export interface ReloaderOptions {
  /** The Corefile as it was loaded at start-up. */
  file: string;
  /** -dns.port: the port of keys that name none. */
  defaultPort: number;
  /**
   * Starts `plan` alongside the running server, then stops the running one. Throws, with the
   * running server untouched, when the new one cannot start; false when shutdown began meanwhile.
   */
  swap(plan: Plan): Promise<boolean>;
  /** Writes one log line (no newline); CoreDNS logs [INFO] and [ERROR] alike to stdout. */
  log(line: string): void;
}

export class Reloader {
  private readonly opts: ReloaderOptions;
  /** The plan being served (its `reload` directive sets the interval; none: no more checks). */
  private current: Plan;
  /** Digest of the configuration being served. */
  private running: string;
  /** Digest of the last Corefile that parsed; a configuration that failed is not tried again. */
  private seen: string;
  private lastError = '';
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private closed = false;

  constructor(opts: ReloaderOptions, corefile: Corefile, plan: Plan) {
    this.opts = opts;
    this.current = plan;
    this.running = this.seen = configDigest(corefile);
    if (reloadInterval(plan) !== null) opts.log(`[INFO] plugin/reload: Running configuration SHA512 = ${this.running}`);
    this.schedule();
  }

  /** Stops checking; waits for a reload under way to finish (or fail). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.inFlight;
  }

  /** Checks once (unless a check is under way: then that one). */
  check(): Promise<void> {
    this.inFlight ??= this.checkOnce().catch((err: unknown) => {
      this.fail(`reload failed: ${err instanceof Error ? err.message : String(err)}`);
    }).finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  private schedule(): void {
    const ms = reloadInterval(this.current);
    if (ms === null || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.check().finally(() => this.schedule());
    }, ms);
    this.timer.unref();
  }

  private async checkOnce(): Promise<void> {
    const { file } = this.opts;
    let corefile: Corefile;
    try {
      corefile = loadCorefile(file);
    } catch (err) {
      this.fail(`Corefile parse failed: ${describe(err, file, null)}`);
      return;
    }
    const digest = configDigest(corefile);
    if (digest === this.seen) {
      this.lastError = '';
      return;
    }
    this.seen = digest;
    this.lastError = '';
    if (digest === this.running) return; // edited back to what runs
    this.opts.log('[INFO] Reloading');
    for (const w of corefile.warnings) this.opts.log(`[WARNING] ${w}`);
    reloadMetrics.versionHash = digest;
    let plan: Plan | null = null;
    try {
      plan = buildPlan(corefile, { defaultPort: this.opts.defaultPort });
      if (!(await this.opts.swap(plan))) return;
    } catch (err) {
      this.fail(`Corefile changed but reload failed: ${describe(err, file, plan)}`);
      return;
    }
    this.running = digest;
    this.current = plan;
    this.opts.log(`[INFO] plugin/reload: Running configuration SHA512 = ${digest}`);
    this.opts.log('[INFO] Reloading complete');
  }

  private fail(what: string): void {
    if (what === this.lastError) return;
    this.lastError = what;
    reloadMetrics.failedTotal++;
    this.opts.log(`[ERROR] plugin/reload: ${what}; still serving the previous configuration`);
  }
}

/** One line: file:line:column and what is wrong, the hint in parentheses. */
function describe(err: unknown, file: string, plan: Plan | null): string {
  if (err instanceof CorefileError) {
    return err.hint === undefined ? err.message : err.message.replace(`\n  hint: ${err.hint}`, ` (hint: ${err.hint})`);
  }
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof ListenError && err.port !== undefined && plan) {
    const at = plan.servers.find((s) => s.port === err.port)?.at;
    if (at) return `${at.file}:${at.line}:${at.column}: ${message}`;
  }
  return `${file}: ${message}`;
}
