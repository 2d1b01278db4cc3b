// loop (primary side): once the workers listen, sends the probe query `<random>.<random>.<zone>
// HINFO` to the server's own address and watches the arrivals the workers count. As CoreDNS's
// plugin/loop/setup.go: one attempt waits up to 2 s for an answer (miekg/dns Exchange); a failed
// attempt is retried after 1 s, its count starting over, for up to 30 s; the first answer of any
// kind ends probing, and so does the deadline. More than two arrivals is a forwarding loop: fatal.
//
// CoreDNS zeroes the count when an attempt fails; kdns zeroes it when the next attempt is sent.
// A copy still going round in the pause between the two then counts for the attempt it belongs
// to: forward sends a query that is already in flight upstream only once per worker and tries
// again after its own 2 s read timeout, so in a loop the third copy can arrive just after the
// failed attempt's 2 s, and resetting then would hide the loop for another round.
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import { randomInt } from 'node:crypto';
import { QTYPE } from '../../dns/constants.ts';
import type { PrimaryPart, ServerControl } from '../../plugin/types.ts';
import { S_ADDR, S_ADDR_LEN, S_COUNT, S_DETECTED, S_OFF, S_PORT } from './state.ts';

const PROBE_FOR_MS = 30_000;
const EXCHANGE_TIMEOUT_MS = 2_000;
const RETRY_AFTER_MS = 1_000;
/** How often the primary looks at the workers' count while probing. */
const WATCH_MS = 20;

export const TROUBLESHOOTING = 'https://coredns.io/plugins/loop#troubleshooting';

export interface ProbeOptions {
  /** Probe name, text form with the trailing dot. */
  name: string;
  /** Its wire form. */
  wire: Uint8Array;
  zone: string;
  port: number;
  state: SharedArrayBuffer;
}

export class LoopProbe implements PrimaryPart {
  private readonly opts: ProbeOptions;
  private readonly st: Int32Array;
  private ctl: ServerControl | null = null;
  private socket: dgram.Socket | null = null;
  private timer: NodeJS.Timeout | null = null;
  private watch: NodeJS.Timeout | null = null;
  private deadline = 0;
  private target = '127.0.0.1';
  /** The address as CoreDNS prints it: `:53` for a block on every address. */
  private shown = '';
  private done = false;

  constructor(opts: ProbeOptions) {
    this.opts = opts;
    this.st = new Int32Array(opts.state);
  }

  listening(ctl: ServerControl, addresses: string[] | null): void {
    this.ctl = ctl;
    // CoreDNS dials net.JoinHostPort(ListenHosts[0], Port): "" (every address) means this host.
    const host = addresses?.[0] ?? '';
    this.shown = `${isIPv6(host) ? `[${host}]` : host}:${this.opts.port}`;
    if (host === '' || host === '0.0.0.0') this.target = '127.0.0.1';
    else if (host === '::') this.target = '::1';
    else this.target = host;
    this.deadline = Date.now() + PROBE_FOR_MS;
    this.watch = setInterval(() => this.check(), WATCH_MS);
    this.watch.unref();
    this.attempt();
  }

  stop(): void {
    this.finish(false);
  }

  private attempt(): void {
    if (this.done) return;
    Atomics.store(this.st, S_COUNT, 0);
    const id = randomInt(0, 0x10000);
    const q = this.opts.wire;
    const msg = Buffer.alloc(12 + q.length + 4);
    msg.writeUInt16BE(id, 0);
    msg.writeUInt16BE(0x0100, 2); // RD, as miekg/dns SetQuestion
    msg.writeUInt16BE(1, 4);
    msg.set(q, 12);
    msg.writeUInt16BE(QTYPE.HINFO, 12 + q.length);
    msg.writeUInt16BE(1, 14 + q.length);
    const s = dgram.createSocket(isIPv6(this.target) ? 'udp6' : 'udp4');
    this.socket = s;
    s.unref();
    const failed = (): void => {
      if (this.socket !== s) return;
      this.closeSocket();
      // setup.go: try again after a second while the deadline allows (the count starts over then).
      this.timer = setTimeout(() => {
        this.timer = null;
        if (Date.now() < this.deadline) this.attempt();
        else this.finish(true);
      }, RETRY_AFTER_MS);
      this.timer.unref();
    };
    s.on('error', failed);
    s.on('message', (m) => {
      if (this.socket !== s || m.length < 12 || m.readUInt16BE(0) !== id || (m[2]! & 0x80) === 0) return;
      // Any answer, even SERVFAIL: the probe went round and did not come back.
      this.closeSocket();
      this.finish(true);
    });
    this.timer = setTimeout(() => {
      this.timer = null;
      failed();
    }, EXCHANGE_TIMEOUT_MS);
    this.timer.unref();
    s.connect(this.opts.port, this.target, () => {
      if (this.socket === s) s.send(msg);
    });
  }

  private closeSocket(): void {
    const s = this.socket;
    this.socket = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (s) {
      try {
        s.close();
      } catch {
        // already closed
      }
    }
  }

  /** Probing is over: a last look at the count, then the workers stop counting. */
  private finish(look: boolean): void {
    if (this.done) return;
    if (look && this.check()) return;
    this.done = true;
    Atomics.store(this.st, S_OFF, 1);
    if (this.watch) clearInterval(this.watch);
    this.watch = null;
    this.closeSocket();
  }

  /** True (and the server is stopping) when a worker saw the probe a third time. */
  private check(): boolean {
    if (this.done || Atomics.load(this.st, S_DETECTED) === 0) return false;
    const st = this.st;
    let from = '';
    for (let i = 0, n = Atomics.load(st, S_ADDR_LEN); i < n; i++) from += String.fromCharCode(Atomics.load(st, S_ADDR + i));
    const port = Atomics.load(st, S_PORT);
    const sender = `${isIPv6(from) ? `[${from}]` : from}:${port}`;
    this.finish(false);
    this.ctl?.fatal(loopMessage(sender, this.shown, this.opts.zone, this.opts.name));
    return true;
  }
}

/** CoreDNS's fatal line, then what usually causes it and how to fix it. */
export function loopMessage(sender: string, self: string, zone: string, probe: string): string {
  return `plugin/loop: Loop (${sender} -> ${self}) detected for zone "${zone}", see ${TROUBLESHOOTING}. Query: "HINFO ${probe}". `
    + 'The probe query kdns sent to itself came back more than twice: a forward in this server block sends queries back to kdns, '
    + 'directly or through another server. Most often `forward . /etc/resolv.conf` reads a resolv.conf whose nameserver is a local '
    + 'stub resolver (127.0.0.53, systemd-resolved) or this server itself. Forward to the real upstream servers instead '
    + '(their addresses, or /run/systemd/resolve/resolv.conf on systemd-resolved hosts), or, in Kubernetes, set the kubelet\'s '
    + 'resolvConf to a file that lists them.';
}
