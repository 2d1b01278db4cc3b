// A query taken off the hot path (forwarding, cache refreshes). It owns a copy of the query, its
// own request state and the way back to the client, so the worker's reusable Query and
// ResponseWriter can serve the next packet while this one waits.
import type dgram from 'node:dgram';
import { Query, parseQuery } from '../dns/query.ts';
import { ResponseWriter, TCP_PREFIX } from '../dns/response.ts';
import type { Pending, RequestState } from '../plugin/types.ts';
import { sendAnswer } from './udp.ts';

/** Where a finished response goes. */
export type Sink =
  | { kind: 'udp'; socket: dgram.Socket; address: string; port: number }
  /** TCP, DoT and DoH: the listener sends it itself (a frame, an HTTP response) and counts it done. */
  | { kind: 'reply'; reply: (w: ResponseWriter, len: number) => void }
  /** A background run (spawn): the response goes to a plugin, unfinished. */
  | { kind: 'callback'; done: (q: Query, w: ResponseWriter, r: RequestState) => void };

/** The runtime side a Pending calls back into (implemented by WorkerRuntime). */
export interface PendingHost {
  complete(p: PendingQuery, w: ResponseWriter): void;
  resume(p: PendingQuery): void;
}

/** OPT record plus room for a post hook's small rewrites. */
const SLACK = 64;

export class PendingQuery implements Pending {
  readonly q: Query;
  readonly r: RequestState;
  /** The server block (index into the runtime's servers) and chain link that deferred it. */
  readonly server: number;
  readonly link: number;
  /** Links before `link` that asked to see the response (NEXT_POST), one bit each. */
  readonly mask: number;
  readonly sink: Sink;
  private readonly host: PendingHost;
  private finished = false;

  constructor(host: PendingHost, server: number, link: number, mask: number, q: Query, r: RequestState, sink: Sink) {
    this.host = host;
    this.server = server;
    this.link = link;
    this.mask = mask;
    this.q = q;
    this.r = r;
    this.sink = sink;
  }

  get done(): boolean {
    return this.finished;
  }

  writer(bodyBytes: number): ResponseWriter {
    return new ResponseWriter(Math.min(TCP_PREFIX + this.q.questionEnd + bodyBytes + SLACK, 65535 + TCP_PREFIX));
  }

  send(w: ResponseWriter): void {
    if (this.finished) return;
    this.finished = true;
    this.host.complete(this, w);
  }

  fail(rcode: number, error: string | null): void {
    if (this.finished) return;
    const w = this.writer(0);
    w.start(this.q, rcode, 0);
    if (error !== null) this.r.error = error;
    this.send(w);
  }

  next(): void {
    if (this.finished) return;
    this.finished = true;
    this.host.resume(this);
  }
}

/** A copy of `q` that outlives the packet it was parsed from. */
export function cloneQuery(q: Query): Query {
  const msg = Buffer.from(q.msg.subarray(0, q.len));
  const c = new Query();
  parseQuery(msg, msg.length, c);
  c.tcp = q.tcp;
  c.remoteAddress = q.remoteAddress;
  c.remotePort = q.remotePort;
  c.localAddress = q.localAddress;
  c.clientMsg = q.clientMsg;
  return c;
}

/** Sends a finished message of `len` bytes (at TCP_PREFIX in `w.buf`) to a client sink. */
export function deliver(sink: Sink, w: ResponseWriter, len: number): void {
  try {
    if (sink.kind === 'udp') sendAnswer(sink.socket, w.buf, TCP_PREFIX, len, sink.port, sink.address);
    else if (sink.kind === 'reply') sink.reply(w, len);
  } catch {
    // The listener closed while the answer was on its way (shutdown): nothing to send it on.
  }
}
