// forward (worker side): sends queries under FROM to the upstreams and relays their answers.
// Per query it follows CoreDNS's loop (plugin/forward/forward.go): upstreams in policy order,
// those marked down skipped (all down: a random one, or SERVFAIL with failfast), the next one
// tried after an error, until an answer or the 5 s deadline. Identical queries in flight at once
// share one upstream exchange. Upstream health lives in a SharedArrayBuffer every worker and
// the primary's health checker see.
import dnsPacket from 'dns-packet';
import { FLAG_AA, FLAG_AD, FLAG_CD, FLAG_QR, FLAG_RA, FLAG_RD, FLAG_TC, RCODE } from '../../dns/constants.ts';
import { MessageScan, sameQuestion, scanMessage } from '../../dns/message.ts';
import { nameToWire } from '../../dns/name.ts';
import type { Query } from '../../dns/query.ts';
import type { ResponseWriter } from '../../dns/response.ts';
import { ASYNC, NEXT, type Handler, type Pending, type RequestState, type WorkerEnv } from '../../plugin/types.ts';
import { ZoneMatcher } from '../../table/zone-match.ts';
import { TIME_BUCKETS } from '../../metrics/buckets.ts';
import { observeInto } from '../../metrics/worker.ts';
import { DEFAULTS, H_CONCURRENT, H_FAILS, H_ROBIN, PROXY_OTHER_RCODE, type ForwardConfig, type ForwardMetricSlots } from './config.ts';
import { type Carrier, type Receiver, type Sent, UpstreamSockets } from './transport.ts';

/**
 * Client queries waiting for an upstream in one worker, all forward instances together. Past
 * it a query fails at once (SERVFAIL) instead of queueing without bound.
 */
export const MAX_PENDING_PER_WORKER = 4096;
/** Below this much time to the deadline no attempt is started. */
const MIN_ATTEMPT_MS = 5;
let pendingInWorker = 0;

/** Upstream flags relayed to the client (RD and CD are the client's own, echoed by start()). */
const RELAYED_FLAGS = FLAG_AA | FLAG_RA | FLAG_AD;

class Attempt implements Sent {
  id = 0;
  carrier: Carrier | null = null;
  readonly ex: Exchange;
  readonly upstream: number;
  readonly tcp: boolean;
  /** The TCP retry of a truncated UDP answer. */
  readonly tcRetry: boolean;
  /** A retry after a reused TCP connection closed under the first try. */
  readonly reconnect: boolean;
  timer: NodeJS.Timeout | null = null;
  /** Timed out or failed: no longer the exchange's hope (a late answer is still taken). */
  failed = false;
  /** performance.now() when it was sent (coredns_proxy_request_duration_seconds). */
  start = 0;

  constructor(ex: Exchange, upstream: number, tcp: boolean, tcRetry: boolean, reconnect: boolean) {
    this.ex = ex;
    this.upstream = upstream;
    this.tcp = tcp;
    this.tcRetry = tcRetry;
    this.reconnect = reconnect;
  }
}

/** One upstream exchange and the client queries waiting for it. */
class Exchange {
  readonly key: string;
  /** The first client's query: what is sent upstream, and what answers must match. */
  readonly q: Query;
  readonly waiters: Pending[];
  readonly order: number[];
  readonly deadline: number;
  /** Position in `order`, down upstreams skipped this round, attempts made (CoreDNS's i, fails). */
  i = 0;
  skipped = 0;
  attempts = 0;
  current: Attempt | null = null;
  /** Every attempt still registered on a carrier (a slow upstream's late answer counts). */
  readonly sent: Attempt[] = [];
  lastError: string | null = null;
  /** A truncated UDP answer, relayed as it is when the TCP retry fails. */
  truncated: Buffer | null = null;
  done = false;

  constructor(key: string, p: Pending, order: number[], deadline: number) {
    this.key = key;
    this.q = p.q;
    this.waiters = [p];
    this.order = order;
    this.deadline = deadline;
  }
}

export default function create(config: ForwardConfig, env: WorkerEnv): Handler {
  return new Forwarder(config, env);
}

class Forwarder implements Handler, Receiver {
  private readonly c: ForwardConfig;
  private readonly env: WorkerEnv;
  private readonly from: ZoneMatcher;
  private readonly fromLen: number;
  private readonly except: ZoneMatcher | null;
  private readonly h: Int32Array;
  private readonly n: number;
  private readonly sockets: UpstreamSockets[];
  private readonly sequential: number[];
  private readonly maxAttempts: number;
  private readonly inflight = new Map<string, Exchange>();
  private readonly scan = new MessageScan();
  private readonly refusedError: string;
  private closed = false;
  /** This worker's metrics block, our slots in it, and the duration histogram's bounds. */
  private readonly slots: Float64Array;
  private readonly m: ForwardMetricSlots;
  private readonly bounds = Float64Array.from(TIME_BUCKETS);

  constructor(config: ForwardConfig, env: WorkerEnv) {
    this.c = config;
    this.env = env;
    this.from = new ZoneMatcher([config.from]);
    this.fromLen = nameToWire(config.from).length;
    this.except = config.except.length ? new ZoneMatcher(config.except) : null;
    this.h = new Int32Array(config.health);
    this.n = config.upstreams.length;
    this.slots = env.metrics.slots;
    this.m = config.metrics;
    const hits = config.metrics.connHits;
    const misses = config.metrics.connMisses;
    this.sockets = config.upstreams.map((u, i) => new UpstreamSockets(u, this, {
      expireMs: config.expireMs, connectTimeoutMs: DEFAULTS.readTimeoutMs, tls: config.tls,
      // coredns_proxy_conn_cache_{hits,misses}_total: proto udp, and tcp (tcp-tls for tls://).
      connCache: {
        slots: env.metrics.slots,
        udpHit: hits.base + i * hits.strides[1]!,
        udpMiss: misses.base + i * misses.strides[1]!,
        streamHit: hits.base + i * hits.strides[1]! + (u.tls ? 2 : 1) * hits.strides[2]!,
        streamMiss: misses.base + i * misses.strides[1]! + (u.tls ? 2 : 1) * misses.strides[2]!,
      },
    }));
    this.sequential = config.upstreams.map((_, i) => i);
    // CoreDNS keeps cycling until its deadline; an upstream that fails at once (connection
    // refused) would make that a busy loop, so every upstream gets two tries at most (and a
    // single one three, the last cut short by the deadline).
    this.maxAttempts = Math.max(3, 2 * this.n);
    this.refusedError = `concurrent queries exceeded maximum ${config.maxConcurrent}`;
  }

  serve(q: Query, w: ResponseWriter, r: RequestState): number {
    if (this.from.match(q) < 0) return NEXT;
    if (this.except !== null && q.nameLen !== this.fromLen && this.except.match(q) >= 0) return NEXT;
    const max = this.c.maxConcurrent;
    if (max > 0 && Atomics.add(this.h, H_CONCURRENT, 1) >= max) {
      // CoreDNS: REFUSED, not a health failure (forward.go, max_concurrent).
      Atomics.sub(this.h, H_CONCURRENT, 1);
      this.slots[this.m.rejects] += 1;
      r.error = this.refusedError;
      w.start(q, RCODE.REFUSED, 0);
      return RCODE.REFUSED;
    }
    if (pendingInWorker >= MAX_PENDING_PER_WORKER || this.closed) {
      if (max > 0) Atomics.sub(this.h, H_CONCURRENT, 1);
      r.error = `more than ${MAX_PENDING_PER_WORKER} queries waiting for upstreams in this worker`;
      w.start(q, RCODE.SERVFAIL, 0);
      return RCODE.SERVFAIL;
    }
    const p = r.defer();
    pendingInWorker++;
    const key = keyOf(p.q);
    const same = this.inflight.get(key);
    if (same !== undefined) {
      same.waiters.push(p);
      return ASYNC;
    }
    const ex = new Exchange(key, p, this.order(), performance.now() + DEFAULTS.deadlineMs);
    this.inflight.set(key, ex);
    this.nextAttempt(ex);
    return ASYNC;
  }

  /** Upstream indexes in the order this query tries them (CoreDNS's policy.go). */
  private order(): number[] {
    const n = this.n;
    if (n === 1 || this.c.policy === 'sequential') return this.sequential;
    if (this.c.policy === 'round_robin') {
      const first = ((Atomics.add(this.h, H_ROBIN, 1) >>> 0) + 1) % n;
      const out = [first];
      for (let i = 0; i < n; i++) if (i !== first) out.push(i);
      return out;
    }
    const out = this.sequential.slice();
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      const t = out[i]!;
      out[i] = out[j]!;
      out[j] = t;
    }
    return out;
  }

  private down(u: number): boolean {
    return this.c.maxFails > 0 && Atomics.load(this.h, H_FAILS + u) > this.c.maxFails;
  }

  private countFail(u: number): void {
    if (this.c.maxFails > 0 && Atomics.load(this.h, H_FAILS + u) < 1_000_000) Atomics.add(this.h, H_FAILS + u, 1);
  }

  /** Starts the next attempt of `ex`, or fails it (deadline, attempts used up, all down with failfast). */
  private nextAttempt(ex: Exchange): void {
    const n = this.n;
    for (;;) {
      // Timers fire on the event loop's millisecond clock, so the one cut short by the deadline
      // can run a fraction of a millisecond before it: an attempt with almost no time left is
      // not sent (it could only time out).
      if (ex.attempts >= this.maxAttempts || performance.now() >= ex.deadline - MIN_ATTEMPT_MS) {
        return this.failAll(ex, ex.lastError ?? 'no healthy proxies');
      }
      if (ex.i >= n) {
        ex.i = 0;
        ex.skipped = 0;
      }
      let u = ex.order[ex.i++]!;
      if (this.down(u)) {
        ex.skipped++;
        if (ex.skipped < n) continue;
        // Every upstream is down: CoreDNS assumes the health checks are what is broken and
        // tries a random upstream, unless failfast_all_unhealthy_upstreams says to give up.
        this.slots[this.m.broken] += 1;
        if (this.c.failfast) return this.failAll(ex, ex.lastError ?? 'no healthy proxies');
        u = Math.floor(Math.random() * n);
      }
      ex.attempts++;
      return this.send(ex, u, this.c.forceTcp || (!this.c.preferUdp && ex.q.tcp), false, false);
    }
  }

  private send(ex: Exchange, u: number, tcp: boolean, tcRetry: boolean, reconnect: boolean): void {
    const a = new Attempt(ex, u, tcp, tcRetry, reconnect);
    ex.current = a;
    ex.sent.push(a);
    const q = ex.q;
    // Each attempt has its own copy: a stream may still hold the previous one, with another ID.
    const buf = Buffer.allocUnsafe(q.len + 2);
    buf.set(q.msg.subarray(0, q.len), 2);
    a.start = performance.now();
    const wait = Math.min(DEFAULTS.readTimeoutMs, ex.deadline - a.start);
    a.timer = setTimeout(() => this.guard(a, () => this.timedOut(a)), Math.max(1, wait));
    this.sockets[u]!.send(a, buf, q.len, tcp);
  }

  private timedOut(a: Attempt): void {
    a.timer = null;
    if (a.ex.done || a.failed) return;
    const carrier = a.carrier;
    const what = carrier ? carrier.describe() : `${a.tcp ? 'tcp' : 'udp'} ${this.c.upstreams[a.upstream]!.name}`;
    // A TCP connection that let a query time out takes no new ones (it closes once drained).
    if (a.tcp) carrier?.retire();
    this.attemptFailed(a, `read ${what}: i/o timeout`);
  }

  /** Receiver: a carrier's query can get no answer. */
  failed(s: Sent, error: string, retry: boolean): void {
    this.guard(s as Attempt, () => this.onFailed(s as Attempt, error, retry));
  }

  /** Receiver: a message with `s`'s ID arrived from its upstream. */
  answer(s: Sent, msg: Buffer): void {
    this.guard(s as Attempt, () => this.onAnswer(s as Attempt, msg));
  }

  /**
   * Runs socket and timer callbacks: a bug here must cost one exchange (SERVFAIL), never the
   * worker or a client left waiting.
   */
  private guard(a: Attempt, f: () => void): void {
    try {
      f();
    } catch (err) {
      this.env.log(`[ERROR] plugin/forward: ${(err as Error).stack ?? (err as Error).message}`);
      if (!a.ex.done) this.failAll(a.ex, `plugin/forward: ${(err as Error).message}`);
    }
  }

  private onFailed(a: Attempt, error: string, retry: boolean): void {
    a.carrier = null;
    if (a.ex.done || a.failed) return;
    if (retry && !a.reconnect) {
      // A reused connection closed under the query: try once more on a new one, not a failure.
      this.cancel(a);
      a.failed = true;
      if (a.ex.current === a) this.send(a.ex, a.upstream, a.tcp, a.tcRetry, true);
      return;
    }
    this.attemptFailed(a, error);
  }

  private cancel(a: Attempt): void {
    if (a.timer !== null) clearTimeout(a.timer);
    a.timer = null;
  }

  private attemptFailed(a: Attempt, error: string): void {
    this.cancel(a);
    a.failed = true;
    const ex = a.ex;
    ex.lastError = error;
    if (!a.tcRetry) this.countFail(a.upstream);
    if (ex.current !== a) return;
    if (a.tcRetry && ex.truncated !== null) {
      // No full answer over TCP: relay the truncated one (the client retries over TCP itself).
      const msg = ex.truncated;
      if (scanMessage(msg, msg.length, this.scan)) return this.complete(ex, msg);
    }
    this.nextAttempt(ex);
  }

  private onAnswer(a: Attempt, msg: Buffer): void {
    const ex = a.ex;
    a.carrier?.forget(a);
    a.carrier = null;
    if (ex.done) return;
    const bad = this.check(ex.q, msg);
    if (bad !== null) {
      // Not an answer to this query (no QR, another question, cut short, garbage): this
      // upstream failed it; the next one is tried at once.
      if (!a.failed) this.attemptFailed(a, `${bad} from ${this.c.upstreams[a.upstream]!.name}`);
      return;
    }
    // An answer from this upstream (CoreDNS observes it in proxy.Connect, whatever its rcode).
    const rcode = this.scan.rcode;
    const d = this.m.duration;
    const slot = d.base + a.upstream * d.strides[1]! + (rcode < PROXY_OTHER_RCODE ? rcode : PROXY_OTHER_RCODE) * d.strides[2]!;
    observeInto(this.slots, slot, this.bounds, (performance.now() - a.start) / 1000);
    if ((this.scan.flags & FLAG_TC) !== 0 && !a.tcp && ex.truncated === null) {
      // Truncated over UDP: ask the same upstream over TCP for all of it.
      this.cancel(a);
      a.failed = true;
      ex.truncated = msg;
      if (performance.now() < ex.deadline) return this.send(ex, a.upstream, true, true, false);
      return this.complete(ex, msg);
    }
    this.complete(ex, msg);
  }

  /** Why `msg` is no answer to `q`, or null (then `this.scan` holds it). */
  private check(q: Query, msg: Buffer): string | null {
    if (msg.length < 12) return 'short response';
    const flags = (msg[2]! << 8) | msg[3]!;
    if ((flags & FLAG_QR) === 0) return 'response without the QR bit';
    if (((flags >> 11) & 0xf) !== q.opcode) return 'response with another opcode';
    const scan = this.scan;
    if (!scanMessage(msg, msg.length, scan)) return 'malformed response';
    if (scan.qdcount !== 1 || !sameQuestion(msg, q.lower, q.nameLen, q.qtype, q.qclass)) return 'response to another question';
    return null;
  }

  /** Relays the answer in `msg` (scanned into `this.scan`) to every waiting client. */
  private complete(ex: Exchange, msg: Buffer): void {
    this.finish(ex);
    let scan = this.scan;
    const rcode = scan.rcode;
    if (this.c.next.includes(rcode)) {
      for (const p of ex.waiters) this.settle(p, () => p.next());
      return;
    }
    // The upstream's OPT goes: finish() writes ours for each client. Cut when it is the last
    // record (the usual place); else re-encode without it (no pointer can then point past it).
    let src = msg;
    if (scan.opt >= 0 && scan.opt !== scan.count - 1) {
      const stripped = withoutOpt(msg);
      if (stripped === null || !scanMessage(stripped, stripped.length, scan)) {
        for (const p of ex.waiters) this.settle(p, () => p.fail(RCODE.SERVFAIL, `malformed response from ${this.c.upstreams[ex.current?.upstream ?? 0]!.name}`));
        return;
      }
      src = stripped;
      scan = this.scan;
    }
    const from = scan.questionEnd;
    let end = scan.end;
    let ar = scan.ar;
    if (scan.opt >= 0) {
      end = scan.starts[scan.opt]!;
      ar--;
    }
    const an = scan.an;
    const ns = scan.ns;
    const flags = (scan.flags & RELAYED_FLAGS) | (scan.flags & FLAG_TC);
    for (const p of ex.waiters) {
      this.settle(p, () => {
        const w = p.writer(end - from);
        w.start(p.q, rcode & 0xf, flags);
        w.rcode = rcode;
        w.appendRecords(src, from, end, an, ns, ar);
        p.send(w);
      });
    }
  }

  private failAll(ex: Exchange, error: string): void {
    this.finish(ex);
    for (const p of ex.waiters) this.settle(p, () => p.fail(RCODE.SERVFAIL, error));
  }

  /** The exchange is over: timers stopped, every registration forgotten. */
  private finish(ex: Exchange): void {
    ex.done = true;
    if (this.inflight.get(ex.key) === ex) this.inflight.delete(ex.key);
    for (const a of ex.sent) {
      this.cancel(a);
      a.carrier?.forget(a);
      a.carrier = null;
    }
  }

  /** Hands one client its result, releasing what it held; one client's failure spares the others. */
  private settle(p: Pending, deliver: () => void): void {
    pendingInWorker--;
    if (this.c.maxConcurrent > 0) Atomics.sub(this.h, H_CONCURRENT, 1);
    try {
      deliver();
    } catch (err) {
      this.env.log(`[ERROR] plugin/forward: relaying an answer failed: ${(err as Error).message}`);
      if (!p.done) p.fail(RCODE.SERVFAIL, `plugin/forward: ${(err as Error).message}`);
    }
  }

  close(): void {
    this.closed = true;
    for (const ex of [...this.inflight.values()]) {
      this.finish(ex);
      for (const _ of ex.waiters) {
        pendingInWorker--;
        if (this.c.maxConcurrent > 0) Atomics.sub(this.h, H_CONCURRENT, 1);
      }
    }
    for (const s of this.sockets) s.close();
  }
}

/** Queries that can share one upstream exchange: same name (any case), type, class, RD, CD, DO. */
function keyOf(q: Query): string {
  const name = String.fromCharCode.apply(null, q.lower.subarray(0, q.nameLen) as unknown as number[]);
  return name + String.fromCharCode(q.qtype, q.qclass, (q.flags & (FLAG_RD | FLAG_CD)) | (q.doBit ? 1 : 0));
}

/** `msg` re-encoded without its OPT record (the rare answer whose OPT is not last), or null. */
function withoutOpt(msg: Buffer): Buffer | null {
  try {
    const d = dnsPacket.decode(msg);
    d.additionals = (d.additionals ?? []).filter((a) => a.type !== 'OPT');
    return dnsPacket.encode(d);
  } catch {
    return null;
  }
}
