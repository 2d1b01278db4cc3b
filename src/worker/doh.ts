// A worker's DNS-over-HTTPS listener (RFC 8484) for one address and port: HTTP/2 and HTTP/1.1
// over TLS (ALPN h2, http/1.1), or plain HTTP/1.1 when the block has no `tls` (CoreDNS serves
// DoH without TLS for a TLS-terminating proxy in front). Each request carries one DNS message
// (doh-request.ts), which runs through the same runtime and plugin chain as UDP and TCP; the
// answer goes back as application/dns-message with a Cache-Control max-age (RFC 8484 5.1), also
// when it is a DNS error (SERVFAIL, REFUSED...). Stopping works as for DoT (stream-listener.ts).
import http from 'node:http';
import http2 from 'node:http2';
import type net from 'node:net';
import type tls from 'node:tls';
import { TCP_PREFIX } from '../dns/response.ts';
import { freshnessLifetime } from '../dns/freshness.ts';
import {
  DOH_MEDIA_TYPE, MAX_MESSAGE, STATUS_INDEX, type DohStatus, type Refusal, type RequestPlan, planBody, planRequest,
} from './doh-request.ts';
import { listenShared } from './listen.ts';
import type { Sink } from './pending.ts';
import type { ListenerRoute, WorkerRuntime } from './runtime.ts';
import { acceptsPeer, logKeys, tlsServerOptions } from './tls-server.ts';
import { type StreamListener, closeListener } from './stream-listener.ts';

/** CoreDNS's DoH server: IdleTimeout 120 s, ReadTimeout 5 s (`timeouts` changes the idle one). */
const DEFAULT_IDLE_MS = 120_000;
const READ_TIMEOUT_MS = 5_000;
/** Streams one HTTP/2 connection may have open at once (Go's HTTP/2 server default, CoreDNS's). */
const MAX_STREAMS = 250;

export interface DohOptions {
  maxConnections: number;
  /** This worker's metrics slots (coredns_dns_https_responses_total). */
  slots: Float64Array;
}

/** The parts of HTTP/1.1 and HTTP/2 compatibility requests and responses used here. */
interface Request {
  method?: string | undefined;
  url?: string | undefined;
  headers: http.IncomingHttpHeaders;
  httpVersionMajor: number;
  socket: net.Socket;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'end' | 'error', listener: (err?: Error) => void): unknown;
  pause(): unknown;
}
interface Response {
  writeHead(status: number, headers: Record<string, string | number>): unknown;
  end(body?: Uint8Array | string, callback?: () => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  readonly writableEnded: boolean;
  readonly stream?: http2.ServerHttp2Stream;
}

/** Open connections: HTTP/1.1 sockets with the requests they are answering, HTTP/2 sessions. */
class Connections {
  closing = false;
  readonly h1 = new Map<net.Socket, number>();
  readonly sessions = new Set<http2.Http2Session>();

  addSocket(sock: net.Socket): void {
    this.h1.set(sock, 0);
    sock.once('close', () => this.h1.delete(sock));
  }

  addSession(session: http2.Http2Session): void {
    this.sessions.add(session);
    session.once('close', () => this.sessions.delete(session));
  }

  /** An HTTP/1.1 request began on `sock`; `res` closing ends it. HTTP/2 sessions count their own. */
  request(req: Request, res: Response): void {
    if (req.httpVersionMajor === 2) return;
    const sock = req.socket;
    const n = this.h1.get(sock);
    if (n === undefined) return;
    this.h1.set(sock, n + 1);
    res.on('close', () => {
      const left = (this.h1.get(sock) ?? 1) - 1;
      if (!this.h1.has(sock)) return;
      this.h1.set(sock, left);
      if (this.closing && left === 0) sock.end();
    });
  }

  /** HTTP/2: GOAWAY, the session ends with its last stream. HTTP/1.1: end once answered. */
  drain(): void {
    this.closing = true;
    for (const s of this.sessions) s.close();
    for (const [sock, n] of this.h1) if (n === 0) sock.end();
  }

  kill(): void {
    for (const s of this.sessions) s.destroy();
    for (const sock of this.h1.keys()) sock.destroy();
  }
}

export async function openDoh(rt: WorkerRuntime, route: ListenerRoute, opts: DohOptions): Promise<StreamListener> {
  const { address, port, tls: settings, dohResponses } = route.config;
  const idleMs = route.config.tcpIdleTimeoutMs ?? DEFAULT_IDLE_MS;
  const open = new Connections();
  const slots = opts.slots;
  const count = dohResponses
    ? (status: DohStatus): void => {
      slots[dohResponses.base + STATUS_INDEX[status] * dohResponses.strides[1]!] += 1;
    }
    : (): void => {};
  const onRequest = (req: Request, res: Response): void => {
    open.request(req, res);
    serveRequest(rt, route, req, res, count);
  };
  let server: net.Server;
  if (settings) {
    const s = http2.createSecureServer({
      ...tlsServerOptions(settings, route.config.tlsTicketKeys),
      // ALPN: h2 first, then http/1.1 (RFC 8484 5.2: HTTP/2 is the minimum RECOMMENDED version).
      allowHTTP1: true,
      settings: { maxConcurrentStreams: MAX_STREAMS },
    }, onRequest as never);
    s.setTimeout(idleMs);
    // HTTP/1.1 connections of this server are run by node:http, which reads these.
    Object.assign(s, { keepAliveTimeout: idleMs, requestTimeout: READ_TIMEOUT_MS, headersTimeout: READ_TIMEOUT_MS });
    s.on('secureConnection', (sock: tls.TLSSocket) => {
      if (!acceptsPeer(settings, sock)) sock.destroy();
      else if (sock.alpnProtocol !== 'h2') open.addSocket(sock);
    });
    s.on('session', (session: http2.ServerHttp2Session) => open.addSession(session));
    s.on('tlsClientError', () => {
      // A failed handshake concerns one client.
    });
    s.on('sessionError', () => {
      // A broken HTTP/2 connection concerns one client.
    });
    logKeys(s, settings);
    server = s;
  } else {
    // Plain HTTP is HTTP/1.1 only, as CoreDNS's (Go's net/http serves no h2c by itself).
    const s = http.createServer({ keepAliveTimeout: idleMs, requestTimeout: READ_TIMEOUT_MS, headersTimeout: READ_TIMEOUT_MS, noDelay: true }, onRequest as never);
    s.on('connection', (sock: net.Socket) => open.addSocket(sock));
    server = s;
  }
  server.maxConnections = opts.maxConnections;
  await listenShared(server, address, port);
  return { close: () => closeListener(server, () => open.drain(), () => open.kill()) };
}

function serveRequest(rt: WorkerRuntime, route: ListenerRoute, req: Request, res: Response, count: (s: DohStatus) => void): void {
  const plan = planRequest(req.method, req.url, req.headers['content-type']);
  if (plan.kind !== 'body') {
    finish(rt, route, req, res, plan, count);
    return;
  }
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_MESSAGE) {
    finish(rt, route, req, res, planBody(null), count);
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let done = false;
  req.on('data', (chunk) => {
    if (done) return;
    size += chunk.length;
    if (size > MAX_MESSAGE) {
      done = true;
      finish(rt, route, req, res, planBody(null), count);
    } else {
      chunks.push(chunk);
    }
  });
  req.on('end', () => {
    if (done) return;
    done = true;
    finish(rt, route, req, res, planBody(Buffer.concat(chunks, size)), count);
  });
  req.on('error', () => {
    done = true;
  });
}

function finish(rt: WorkerRuntime, route: ListenerRoute, req: Request, res: Response, plan: RequestPlan, count: (s: DohStatus) => void): void {
  if (plan.kind === 'refuse') refuse(req, res, plan, count);
  else if (plan.kind === 'message') query(rt, route, req, res, plan.msg, count);
}

/** Runs one DNS message through the chain; the answer is written now or when a deferral ends. */
function query(rt: WorkerRuntime, route: ListenerRoute, req: Request, res: Response, msg: Buffer, count: (s: DohStatus) => void): void {
  const q = rt.q;
  q.tcp = true; // a DoH answer is never truncated; CoreDNS's proto label says tcp too
  q.remoteAddress = req.socket.remoteAddress ?? '';
  q.remotePort = req.socket.remotePort ?? 0;
  const sink: Sink = { kind: 'reply', reply: (w, len) => answer(res, w.buf.subarray(TCP_PREFIX, TCP_PREFIX + len), count) };
  rt.replyTo = sink;
  let len: number;
  let deferred: boolean;
  try {
    len = rt.handle(route, msg, msg.length);
    deferred = rt.replyTo === null;
  } finally {
    rt.replyTo = null;
  }
  if (len > 0) answer(res, rt.w.buf.subarray(TCP_PREFIX, TCP_PREFIX + len), count);
  // Dropped by the parser (a response, or no readable header): not a DNS query.
  else if (!deferred) refuse(req, res, { status: 400, reason: 'not a DNS query' }, count);
  rt.observe(len);
}

/** 200 with the DNS message (copied: the runtime reuses its buffer for the next query). */
function answer(res: Response, msg: Uint8Array, count: (s: DohStatus) => void): void {
  if (res.writableEnded) return;
  const body = Buffer.from(msg);
  try {
    res.writeHead(200, {
      'content-type': DOH_MEDIA_TYPE,
      'cache-control': `max-age=${freshnessLifetime(body, body.length)}`,
      'content-length': body.length,
    });
    res.end(body);
    count(200);
  } catch {
    // The client went away (stream reset, connection closed) while the answer was on its way.
  }
}

function refuse(req: Request, res: Response, r: Refusal, count: (s: DohStatus) => void): void {
  if (res.writableEnded) return;
  const headers: Record<string, string | number> = { 'content-type': 'text/plain; charset=utf-8' };
  if (r.status === 405) headers['allow'] = 'GET, POST';
  // A body too large is not read to its end: HTTP/1.1 must close the connection after the answer.
  if (r.status === 413 && req.httpVersionMajor < 2) headers['connection'] = 'close';
  const text = `${r.reason}\n`;
  headers['content-length'] = Buffer.byteLength(text);
  try {
    res.writeHead(r.status, headers);
    res.end(text, () => {
      // HTTP/2 (RFC 9113 8.1): a complete response before the whole request, then RST_STREAM
      // NO_ERROR so the client stops sending the rest.
      if (r.status === 413 && res.stream && !res.stream.closed) res.stream.close(http2.constants.NGHTTP2_NO_ERROR);
    });
    count(r.status);
  } catch {
    // The client went away.
  }
  if (r.status === 413) req.pause();
}
