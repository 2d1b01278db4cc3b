// DNS messages on a byte stream (RFC 1035 4.2.2, RFC 7766 8): each one after a two-byte length.
// Shared by the TCP and DoT listeners: one connection carries many queries, and a message may
// arrive split over several reads or several in one; answers, including deferred ones, go back
// on the connection, which a worker stop ends once they are written.
import type net from 'node:net';
import type { Sink } from './pending.ts';
import type { ListenerRoute, WorkerRuntime } from './runtime.ts';
import { type StreamListener, closeListener } from './stream-listener.ts';

const MAX_FRAME = 65535;

/** Calls `onMessage` with every message read from `sock`; a broken stream destroys it. */
export function readFrames(sock: net.Socket, onMessage: (msg: Buffer) => void): void {
  let pending: Buffer | null = null;
  sock.on('data', (chunk: Buffer) => {
    let data = pending === null ? chunk : Buffer.concat([pending, chunk]);
    pending = null;
    let o = 0;
    while (data.length - o >= 2) {
      const len = data.readUInt16BE(o);
      if (len === 0) {
        // A zero-length message can't be a query; the stream is out of sync.
        sock.destroy();
        return;
      }
      if (data.length - o - 2 < len) break;
      onMessage(data.subarray(o + 2, o + 2 + len));
      o += 2 + len;
    }
    if (o < data.length) {
      data = data.subarray(o);
      if (data.length > MAX_FRAME + 2) {
        sock.destroy();
        return;
      }
      pending = Buffer.from(data);
    }
  });
}

/**
 * One TCP or DoT connection's share of a worker stop: answers the chain deferred (forward...)
 * are counted, so that stopping can stop reading, write what is still owed and then end the
 * connection (RFC 7766 6.2.3 lets a server close; the client retries what it did not get).
 */
export class StreamConnection {
  readonly sock: net.Socket;
  /** Queries deferred by the chain whose answers are still to be written. */
  inflight = 0;
  closing = false;
  /** Where the runtime sends a deferred answer: a frame on this connection. */
  readonly sink: Sink;

  constructor(sock: net.Socket) {
    this.sock = sock;
    this.sink = {
      kind: 'reply',
      reply: (w, len) => {
        this.inflight--;
        if (!sock.destroyed) sock.write(w.buf.subarray(0, w.frameForTcp(len)));
        if (this.closing && this.inflight === 0) sock.end();
      },
    };
  }

  /** Stops reading queries; ends the connection once its deferred answers are written. */
  drain(): void {
    this.closing = true;
    this.sock.pause();
    if (this.inflight === 0) this.sock.end();
  }
}

/** Answers one message read from connection `c` through the worker's chain. */
export function answerOnStream(rt: WorkerRuntime, route: ListenerRoute, c: StreamConnection, msg: Buffer): void {
  const sock = c.sock;
  const q = rt.q;
  q.tcp = true;
  q.remoteAddress = sock.remoteAddress ?? '';
  q.remotePort = sock.remotePort ?? 0;
  rt.replyTo = c.sink;
  let len: number;
  try {
    len = rt.handle(route, msg, msg.length);
    // The runtime took the sink: the answer comes later, through it.
    if (rt.replyTo === null) c.inflight++;
  } finally {
    rt.replyTo = null;
  }
  if (len > 0 && !sock.destroyed) {
    // Streams may queue a write; hand them their own copy of the shared response buffer.
    sock.write(Buffer.from(rt.w.buf.subarray(0, rt.w.frameForTcp(len))));
  }
  rt.observe(len);
}

/** A TCP or DoT listener's open connections: each one served, and all of them drained on close. */
export class StreamConnections {
  private readonly open = new Set<StreamConnection>();
  private readonly rt: WorkerRuntime;
  private readonly route: ListenerRoute;

  constructor(rt: WorkerRuntime, route: ListenerRoute) {
    this.rt = rt;
    this.route = route;
  }

  /** Reads and answers the queries of a new connection until it closes. */
  serve(sock: net.Socket): void {
    const c = new StreamConnection(sock);
    this.open.add(c);
    sock.on('close', () => this.open.delete(c));
    readFrames(sock, (msg) => answerOnStream(this.rt, this.route, c, msg));
  }

  /** Closing `server`: see closeListener. */
  listener(server: net.Server): StreamListener {
    return {
      close: () => closeListener(server, () => {
        for (const c of this.open) c.drain();
      }, () => {
        for (const c of this.open) c.sock.destroy();
      }),
    };
  }
}
