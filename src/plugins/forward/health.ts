// forward's health checks, run once on the primary for every worker. CoreDNS (plugin/pkg/proxy,
// plugin/pkg/up): an upstream that failed an exchange is probed with `. IN NS` (RD set unless
// no_rec) over its own transport (UDP; TCP with force_tcp; TLS for tls://) every health_check
// interval until a probe gets any answer; each failed probe adds to the upstream's fail count,
// an answer sets it to 0. Workers add to the same counts (a SharedArrayBuffer) when an exchange
// fails, and count an upstream down while it is above max_fails.
import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';
import dnsPacket from 'dns-packet';
import { H_FAILS, type TlsFiles } from './config.ts';
import { randomId, tlsConnectOptions } from './transport.ts';
import type { Upstream } from './upstream.ts';

export interface ProbeOptions {
  /** RD in the probe (off with `no_rec`). */
  rd: boolean;
  /** Probe name, canonical (`.` by default). */
  domain: string;
  tcp: boolean;
  tls: TlsFiles;
  timeoutMs: number;
}

/** How often the checker looks for upstreams that failed an exchange. */
const POLL_MS = 50;

interface Probing {
  timer: NodeJS.Timeout | null;
  /** A probe of this round failed (the recovery is then logged). */
  failed: boolean;
}

export class HealthChecker {
  private readonly upstreams: Upstream[];
  private readonly h: Int32Array;
  private readonly intervalMs: number;
  private readonly probe: ProbeOptions;
  private readonly log: (line: string) => void;
  private readonly probeFailed: (upstream: number) => void;
  private readonly rounds: Array<Probing | null>;
  private poller: NodeJS.Timeout | null = null;

  /** `probeFailed`: a probe of upstream i failed (coredns_proxy_healthcheck_failures_total). */
  constructor(upstreams: Upstream[], health: SharedArrayBuffer, intervalMs: number, probe: ProbeOptions, log: (line: string) => void, probeFailed: (upstream: number) => void = () => {}) {
    this.upstreams = upstreams;
    this.h = new Int32Array(health);
    this.intervalMs = intervalMs;
    this.probe = probe;
    this.log = log;
    this.probeFailed = probeFailed;
    this.rounds = upstreams.map(() => null);
  }

  start(): void {
    this.poller = setInterval(() => {
      for (let i = 0; i < this.upstreams.length; i++) {
        if (this.rounds[i] === null && Atomics.load(this.h, H_FAILS + i) > 0) this.begin(i);
      }
    }, POLL_MS);
    this.poller.unref();
  }

  stop(): void {
    if (this.poller) clearInterval(this.poller);
    this.poller = null;
    for (let i = 0; i < this.rounds.length; i++) this.end(i);
  }

  /**
   * A round of probes for upstream i: one now, then one per interval (each with CoreDNS's 1 s
   * timeout, so with a short interval several may be out at once) until one is answered.
   */
  private begin(i: number): void {
    const round: Probing = { timer: null, failed: false };
    this.rounds[i] = round;
    const tick = (): void => {
      sendProbe(this.upstreams[i]!, this.probe).then((error) => this.result(i, round, error), (err: Error) => this.result(i, round, err.message));
    };
    round.timer = setInterval(tick, this.intervalMs);
    round.timer.unref();
    tick();
  }

  private result(i: number, round: Probing, error: string | null): void {
    if (this.rounds[i] !== round) return; // the round is over (a probe got an answer, or stop)
    const u = this.upstreams[i]!;
    if (error === null) {
      Atomics.store(this.h, H_FAILS + i, 0);
      this.end(i);
      if (round.failed) this.log(`[INFO] plugin/forward: ${u.name} answers health checks again`);
      return;
    }
    if (Atomics.load(this.h, H_FAILS + i) < 1_000_000) Atomics.add(this.h, H_FAILS + i, 1);
    this.probeFailed(i);
    if (!round.failed) {
      round.failed = true;
      this.log(`[WARNING] plugin/forward: health check of ${u.name} failed: ${error}; probing every ${seconds(this.intervalMs)}`);
    }
  }

  private end(i: number): void {
    const round = this.rounds[i];
    if (round?.timer) clearInterval(round.timer);
    this.rounds[i] = null;
  }
}

function seconds(ms: number): string {
  return `${ms / 1000}s`;
}

/** One probe; resolves with null when the upstream answered (any rcode), else the error. */
export function sendProbe(u: Upstream, o: ProbeOptions): Promise<string | null> {
  const id = randomId();
  const msg = dnsPacket.encode({
    id, type: 'query', flags: o.rd ? dnsPacket.RECURSION_DESIRED : 0,
    questions: [{ name: o.domain === '.' ? '.' : o.domain.slice(0, -1), type: 'NS', class: 'IN' }],
  });
  // "If we got a header, we're alright" (CoreDNS health.go): any response with our ID.
  const answers = (m: Buffer): boolean => m.length >= 12 && m.readUInt16BE(0) === id && (m[2]! & 0x80) !== 0;
  return u.tls || o.tcp ? probeStream(u, o, msg, answers) : probeUdp(u, o, msg, answers);
}

function probeUdp(u: Upstream, o: ProbeOptions, msg: Buffer, answers: (m: Buffer) => boolean): Promise<string | null> {
  return new Promise((resolve) => {
    const s = dgram.createSocket(u.host.includes(':') ? 'udp6' : 'udp4');
    let settled = false;
    const done = (error: string | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      try {
        s.close();
      } catch {
        // already closed
      }
      resolve(error);
    };
    const timer = setTimeout(() => done(`read udp ${u.name}: i/o timeout`), o.timeoutMs);
    s.on('error', (err: NodeJS.ErrnoException) => done(`read udp ${u.name}: ${err.code === 'ECONNREFUSED' ? 'connection refused' : err.message}`));
    s.on('message', (m) => {
      if (answers(m)) done(null);
    });
    s.connect(u.port, u.host, () => {
      try {
        s.send(msg);
      } catch (err) {
        done(`write udp ${u.name}: ${(err as Error).message}`);
      }
    });
  });
}

function probeStream(u: Upstream, o: ProbeOptions, msg: Buffer, answers: (m: Buffer) => boolean): Promise<string | null> {
  return new Promise((resolve) => {
    const proto = u.tls ? 'tcp-tls' : 'tcp';
    const sock = u.tls ? tls.connect(tlsConnectOptions(u, o.tls)) : net.connect({ host: u.host, port: u.port });
    let settled = false;
    const done = (error: string | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(error);
    };
    const timer = setTimeout(() => done(`read ${proto} ${u.name}: i/o timeout`), o.timeoutMs);
    sock.on('error', (err: NodeJS.ErrnoException) => done(`${proto} ${u.name}: ${err.code === 'ECONNREFUSED' ? 'connection refused' : err.message}`));
    sock.on('close', () => done(`read ${proto} ${u.name}: connection closed`));
    const frame = Buffer.alloc(msg.length + 2);
    frame.writeUInt16BE(msg.length, 0);
    msg.copy(frame, 2);
    sock.write(frame);
    let data = Buffer.alloc(0);
    sock.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      while (data.length >= 2 && data.length >= 2 + data.readUInt16BE(0)) {
        const m = data.subarray(2, 2 + data.readUInt16BE(0));
        data = data.subarray(2 + m.length);
        if (answers(m)) return done(null);
      }
    });
  });
}
