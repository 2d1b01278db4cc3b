// A steady stream of UDP queries for tests that change the server under load (reload, SIGTERM,
// a worker crash): every query has a 1 s timeout and no retry, so each loss is visible.
import dgram from 'node:dgram';
import { encodeQuery } from './dns-client.ts';
import { decodeReply } from './decode.ts';

/**
 * A steady stream of UDP queries (`rate` per second, spread over 16 client sockets so that they
 * land on every worker), each with a 1 s timeout and no retry. Counts answers by their A record.
 */
export class QueryStream {
  readonly answers = new Map<string, number>();
  readonly failures: string[] = [];
  /** Answers in the order they arrived (A data, or the rcode). */
  readonly log: string[] = [];
  sent = 0;
  private readonly sockets: dgram.Socket[] = [];
  private readonly pending = new Map<number, NodeJS.Timeout>();
  private timer: NodeJS.Timeout | null = null;
  private nextId = 1;
  private t0 = Date.now();
  private readonly port: number;
  private readonly name: string;

  constructor(port: number, name: string) {
    this.port = port;
    this.name = name;
    for (let i = 0; i < 16; i++) {
      const s = dgram.createSocket('udp4');
      s.on('message', (m) => this.onReply(m));
      this.sockets.push(s);
    }
  }

  start(rate: number): void {
    const perTick = Math.max(1, Math.round(rate / 100));
    this.t0 = Date.now();
    this.timer = setInterval(() => {
      for (let i = 0; i < perTick; i++) this.send();
    }, 10);
  }

  private send(): void {
    const id = this.nextId;
    this.nextId = (this.nextId % 65535) + 1;
    const sock = this.sockets[this.sent % this.sockets.length]!;
    this.sent++;
    const at = Date.now() - this.t0;
    this.pending.set(id, setTimeout(() => {
      this.pending.delete(id);
      this.failures.push(`query ${id} sent at +${at} ms timed out`);
    }, 1000));
    sock.send(encodeQuery(this.name, { id }), this.port, '127.0.0.1');
  }

  private onReply(m: Buffer): void {
    const r = decodeReply(m);
    const timer = this.pending.get(r.id);
    if (!timer) return;
    clearTimeout(timer);
    this.pending.delete(r.id);
    const what = r.rcode === 'NOERROR' && r.answers[0] ? String(r.answers[0].data) : r.rcode;
    if (r.rcode !== 'NOERROR') this.failures.push(`query ${r.id}: ${r.rcode}`);
    this.answers.set(what, (this.answers.get(what) ?? 0) + 1);
    this.log.push(what);
  }

  /** Stops sending and waits for the last answers (or their timeouts). Safe to call twice. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    while (this.pending.size > 0) await new Promise((r) => setTimeout(r, 20));
    for (const s of this.sockets.splice(0)) s.close();
  }
}

