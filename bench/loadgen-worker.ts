// One load-generator thread. Started by loadgen.ts; not a CLI.
//
// Hot path per query: pick a free (socket, id) slot, copy the pre-encoded query
// into a ring buffer, patch the 16-bit ID, send on a connected UDP socket.
// Per reply: look the slot up by (socket, id), check QR and that the question
// echoes ours, record the latency, and (closed loop) send the next query.
// Timeouts are found by a periodic sweep of a send-ordered FIFO, so no per-query
// timers exist.

import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import * as hdr from 'hdr-histogram-js';

export interface WorkerConfig {
  index: number;
  host: string;
  port: number;
  family: 4 | 6;
  sockets: number;
  /** Closed loop: outstanding queries on this thread. Ignored when rate > 0. */
  concurrency: number;
  /** Open loop: queries per second offered by this thread (0 = closed loop). */
  rate: number;
  /** Open loop: how sends are spread in time (see Pacing). */
  pacing: Pacing;
  timeoutMs: number;
  /** Bound on measured queries sent by this thread (Infinity = none). */
  maxQueries: number;
  /** unique: the name starts with UNIQUE_PLACEHOLDER, overwritten per query with a fresh label. */
  queries: { wire: Uint8Array; qend: number; unique: boolean }[];
}

/**
 * Open-loop send schedule.
 * - `tick`: every millisecond, whatever is due (bursts of rate/1000 queries). Cheap: the thread
 *   sleeps between ticks, so it suits a generator sharing cores with the server; but the server
 *   sees a burst each millisecond, and the last query of a burst waits for the rest.
 * - `even`: one query every 1/rate s, the thread spinning between sends (setImmediate, so replies
 *   are still read as they come). Takes a whole core per generator thread.
 * - `poisson`: as `even`, with exponential gaps (independent arrivals, as from many clients).
 */
export type Pacing = 'tick' | 'even' | 'poisson';
export const PACINGS: readonly Pacing[] = ['tick', 'even', 'poisson'];

/** First label of names in `unique` mode: 1 thread character + 9 counter characters. */
export const UNIQUE_PLACEHOLDER = 'u0000000000';
const UNIQUE_FROM = 12 + 2; // after the label length byte and the 'u'
const UNIQUE_TO = 12 + 1 + UNIQUE_PLACEHOLDER.length;
const DIGITS = '0123456789abcdefghijklmnopqrstuvwxyz';

/** Sent by the parent once every thread reported `ready`. */
export interface GoMessage {
  /** Epoch ms (Date.now() scale) of the start of the measured window; before it = warmup. */
  measureStartEpoch: number;
  /** Epoch ms at which sending stops. */
  sendEndEpoch: number;
}

export interface WorkerResult {
  index: number;
  sent: number;
  answered: number;
  timeouts: number;
  /** Replies for slots no longer in flight (after a timeout), or duplicates. */
  late: number;
  /** Replies whose question did not match the query sent with that ID, or not a response. */
  mismatched: number;
  /** Socket errors (e.g. ECONNREFUSED from ICMP port unreachable). */
  errors: number;
  /** Sends skipped because no free ID was available on any socket. */
  idExhausted: number;
  truncated: number;
  rcodes: number[];
  warmupSent: number;
  warmupAnswered: number;
  /** Epoch ms of the last measured answer (0 if none). */
  lastAnswerEpoch: number;
  /** Epoch ms when this thread stopped sending. */
  sendStopEpoch: number;
  /** Compressed base64 HdrHistogram of latencies in microseconds. */
  histogram: string;
}

const ID_SPACE = 65536;
const RING_BUFS = 8192; // send buffers in rotation (sends are synchronous in practice)
const BUF_SIZE = 512;

function run(cfg: WorkerConfig, ready: () => Promise<GoMessage>): Promise<WorkerResult> {
  const origin = performance.timeOrigin;
  let measureStart = Infinity; // in performance.now() scale; set by the go message
  let sendEnd = Infinity;
  const timeout = cfg.timeoutMs;
  const quarantine = timeout * 2; // an ID that timed out is not reused for this long
  const openLoop = cfg.rate > 0;
  const NS = cfg.sockets;
  const SLOTS = NS * ID_SPACE;

  const queries = cfg.queries.map((q) => ({ wire: Buffer.from(q.wire), qend: q.qend, len: q.wire.length, unique: q.unique }));
  const NQ = queries.length;
  let uniqueCounter = Math.floor(Math.random() * 36 ** 6);

  // Per-slot state, slot = socket * 65536 + id.
  const sendT = new Float64Array(SLOTS); // 0 = free
  const reuseAfter = new Float64Array(SLOTS);
  const slotQ = new Int32Array(SLOTS);
  const slotSeq = new Uint32Array(SLOTS);
  const slotMeasured = new Uint8Array(SLOTS);
  const nextId = new Uint32Array(NS);
  for (let s = 0; s < NS; s++) nextId[s] = (Math.random() * ID_SPACE) | 0;

  // Send-ordered FIFO of (slot, seq) for timeout sweeps; grows when full.
  let fifoCap = 1 << 16;
  let fifoSlot = new Int32Array(fifoCap);
  let fifoSeq = new Uint32Array(fifoCap);
  let fifoHead = 0;
  let fifoLen = 0;
  function fifoPush(slot: number, seq: number): void {
    if (fifoLen === fifoCap) {
      const ns = new Int32Array(fifoCap * 2);
      const nq = new Uint32Array(fifoCap * 2);
      for (let i = 0; i < fifoLen; i++) {
        const j = (fifoHead + i) & (fifoCap - 1);
        ns[i] = fifoSlot[j]!;
        nq[i] = fifoSeq[j]!;
      }
      fifoSlot = ns;
      fifoSeq = nq;
      fifoHead = 0;
      fifoCap *= 2;
    }
    const k = (fifoHead + fifoLen) & (fifoCap - 1);
    fifoSlot[k] = slot;
    fifoSeq[k] = seq;
    fifoLen++;
  }

  const ring: Buffer[] = [];
  for (let i = 0; i < RING_BUFS; i++) ring.push(Buffer.allocUnsafe(BUF_SIZE));
  let ringPos = 0;

  const hist = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
  const rcodes = new Array<number>(16).fill(0);
  let sent = 0;
  let answered = 0;
  let timeouts = 0;
  let late = 0;
  let mismatched = 0;
  let errors = 0;
  let idExhausted = 0;
  let truncated = 0;
  let warmupSent = 0;
  let warmupAnswered = 0;
  let lastAnswer = 0;
  let inflight = 0;
  let sending = true;
  let sendStop = 0;
  let sockRR = 0;
  let qRR = 0;

  const socks: dgram.Socket[] = [];

  let finish: () => void = () => {};
  const done = new Promise<void>((res) => (finish = res));

  function stopSending(now: number): void {
    if (!sending) return;
    sending = false;
    sendStop = now;
  }

  /** Sends one query; returns false when it could not (stopped, or no free ID). */
  function sendOne(): boolean {
    const now = performance.now();
    if (now >= sendEnd) {
      stopSending(now);
      return false;
    }
    const measured = now >= measureStart;
    if (measured && sent >= cfg.maxQueries) {
      stopSending(now);
      return false;
    }
    // pick a socket round-robin, then a free id on it
    let slot = -1;
    for (let tries = 0; tries < NS && slot < 0; tries++) {
      const s = sockRR;
      sockRR = sockRR + 1 === NS ? 0 : sockRR + 1;
      const base = s * ID_SPACE;
      let id = nextId[s]!;
      for (let k = 0; k < 64; k++) {
        id = (id + 1) & 0xffff;
        const sl = base + id;
        if (sendT[sl] === 0 && reuseAfter[sl]! <= now) {
          slot = sl;
          break;
        }
      }
      nextId[s] = id;
    }
    if (slot < 0) {
      idExhausted++;
      return false;
    }
    const qi = qRR;
    qRR = qRR + 1 === NQ ? 0 : qRR + 1;
    const q = queries[qi]!;
    const buf = ring[ringPos]!;
    ringPos = ringPos + 1 === RING_BUFS ? 0 : ringPos + 1;
    q.wire.copy(buf, 0, 0, q.len);
    if (q.unique) {
      // Thread index, then the per-thread counter in base 36: unique across threads and runs of a minute.
      buf[UNIQUE_FROM] = DIGITS.charCodeAt(cfg.index % 36);
      for (let i = UNIQUE_TO - 1, n = uniqueCounter++; i > UNIQUE_FROM; i--, n = Math.floor(n / 36)) buf[i] = DIGITS.charCodeAt(n % 36);
    }
    const id = slot & 0xffff;
    buf[0] = id >> 8;
    buf[1] = id & 0xff;
    const seq = (slotSeq[slot]! + 1) >>> 0;
    slotSeq[slot] = seq;
    slotQ[slot] = qi;
    slotMeasured[slot] = measured ? 1 : 0;
    sendT[slot] = now;
    inflight++;
    if (measured) sent++;
    else warmupSent++;
    fifoPush(slot, seq);
    socks[slot >>> 16]!.send(buf, 0, q.len);
    return true;
  }

  function maybeDone(): void {
    if (!sending && inflight === 0) finish();
  }

  function onReply(base: number, msg: Buffer): void {
    const now = performance.now();
    if (msg.length < 12 || (msg[2]! & 0x80) === 0) {
      mismatched++;
      return;
    }
    const slot = base + ((msg[0]! << 8) | msg[1]!);
    const t = sendT[slot]!;
    if (t === 0) {
      late++;
      return;
    }
    const q = queries[slotQ[slot]!]!;
    // In unique mode the first label differs per query; the rest of the question must match.
    const from = q.unique ? UNIQUE_TO : 12;
    if (msg.length < q.qend || msg.compare(q.wire, from, q.qend, from, q.qend) !== 0) {
      mismatched++;
      return;
    }
    sendT[slot] = 0;
    inflight--;
    if (slotMeasured[slot] === 1) {
      answered++;
      rcodes[msg[3]! & 0x0f]!++;
      if (msg[2]! & 0x02) truncated++;
      const us = Math.round((now - t) * 1000);
      hist.recordValue(us < 1 ? 1 : us);
      lastAnswer = now;
    } else {
      warmupAnswered++;
    }
    if (!openLoop && sending) sendOne();
    if (!sending && inflight === 0) finish();
  }

  function sweep(): void {
    const now = performance.now();
    while (fifoLen > 0) {
      const slot = fifoSlot[fifoHead]!;
      const seq = fifoSeq[fifoHead]!;
      const t = sendT[slot]!;
      if (t !== 0 && slotSeq[slot] === seq) {
        if (now - t < timeout) break;
        // timed out
        sendT[slot] = 0;
        reuseAfter[slot] = now + quarantine;
        inflight--;
        if (slotMeasured[slot] === 1) timeouts++;
        if (!openLoop && sending) sendOne();
      }
      fifoHead = (fifoHead + 1) & (fifoCap - 1);
      fifoLen--;
    }
    if (sending && now >= sendEnd) stopSending(now);
    if (!openLoop && sending && inflight < cfg.concurrency) {
      // refill after ID exhaustion or errors
      for (let i = inflight; i < cfg.concurrency; i++) if (!sendOne()) break;
    }
    maybeDone();
  }

  // Open loop: the schedule is fixed in advance by the rate and the pacing; anything not sent when
  // due stays due (bursts capped per turn so that replies keep being read), so a generator that
  // cannot keep up shows as sent < offered.
  let openTimer: NodeJS.Timeout | undefined;
  function startOpenLoop(): void {
    const t0 = performance.now();
    const perMs = cfg.rate / 1000;
    const burstCap = Math.max(16, Math.ceil(perMs * 2));
    if (cfg.pacing === 'tick') {
      let scheduled = 0;
      openTimer = setInterval(() => {
        if (!sending) return;
        const now = performance.now();
        const due = Math.floor((now - t0) * perMs) - scheduled;
        const n = due > burstCap ? burstCap : due;
        for (let i = 0; i < n; i++) {
          scheduled++;
          if (!sendOne() && !sending) break;
        }
        if (now >= sendEnd) stopSending(now);
      }, 1);
      return;
    }
    const meanGapMs = 1 / perMs;
    const poisson = cfg.pacing === 'poisson';
    // Exponential gaps with mean 1/rate: -ln(U) / rate, U in (0, 1].
    const gap = (): number => (poisson ? -Math.log(1 - Math.random()) * meanGapMs : meanGapMs);
    let next = t0 + gap();
    const turn = (): void => {
      if (!sending) return;
      const now = performance.now();
      for (let n = 0; next <= now && n < burstCap; n++) {
        next += gap();
        if (!sendOne() && !sending) break;
      }
      if (now >= sendEnd) stopSending(now);
      if (sending) setImmediate(turn);
    };
    setImmediate(turn);
  }

  return (async () => {
    const type = cfg.family === 6 ? 'udp6' : 'udp4';
    const bindHost = cfg.family === 6 ? '::1' : '127.0.0.1';
    for (let s = 0; s < NS; s++) {
      const sock = dgram.createSocket({ type, recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
      const base = s * ID_SPACE;
      sock.on('message', (msg) => onReply(base, msg));
      sock.on('error', () => {
        errors++;
      });
      await new Promise<void>((res) => sock.bind(0, bindHost, () => res()));
      await new Promise<void>((res, rej) => sock.connect(cfg.port, cfg.host, (err?: Error) => (err ? rej(err) : res())));
      socks.push(sock);
    }
    const go = await ready();
    measureStart = go.measureStartEpoch - origin;
    sendEnd = go.sendEndEpoch - origin;

    const sweepTimer = setInterval(sweep, Math.max(5, Math.min(50, timeout / 10)));
    if (openLoop) startOpenLoop();
    else for (let i = 0; i < cfg.concurrency; i++) if (!sendOne()) break;
    // Stop sending at sendEnd even if nothing else wakes us.
    const endTimer = setTimeout(() => stopSending(performance.now()), Math.max(0, sendEnd - performance.now()) + 1);
    // Hard stop: everything is over by sendEnd + timeout + slack, whatever happens.
    const hardTimer = setTimeout(() => finish(), Math.max(0, sendEnd - performance.now()) + timeout * 3 + 1000);

    await done;
    clearInterval(sweepTimer);
    if (openTimer) clearInterval(openTimer);
    clearTimeout(endTimer);
    clearTimeout(hardTimer);
    if (inflight > 0) {
      // only on the hard stop: count what is left as timeouts
      for (let sl = 0; sl < SLOTS; sl++) if (sendT[sl] !== 0 && slotMeasured[sl] === 1) timeouts++;
    }
    for (const s of socks) s.close();
    return {
      index: cfg.index,
      sent,
      answered,
      timeouts,
      late,
      mismatched,
      errors,
      idExhausted,
      truncated,
      rcodes,
      warmupSent,
      warmupAnswered,
      lastAnswerEpoch: lastAnswer ? lastAnswer + origin : 0,
      sendStopEpoch: (sendStop || performance.now()) + origin,
      histogram: hdr.encodeIntoCompressedBase64(hist),
    };
  })();
}

if (parentPort) {
  const cfg = workerData as WorkerConfig;
  const port = parentPort;
  const ready = (): Promise<GoMessage> =>
    new Promise((resolve) => {
      port.once('message', (m: GoMessage) => resolve(m));
      port.postMessage({ ready: true });
    });
  run(cfg, ready).then(
    (r) => parentPort!.postMessage({ ok: true, result: r }),
    (err: unknown) => parentPort!.postMessage({ ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
}
