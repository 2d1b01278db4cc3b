// The floor kdns is compared against: the smallest sensible Node.js UDP DNS
// responder. Per datagram it copies header+question, sets QR/AA, ANCOUNT=1
// and appends one fixed A record (owner 0xC00C, TTL 5, 127.0.0.1).
//
//   node bench/minimal-responder.ts [--port 1053] [--host 127.0.0.1] [--threads 1] [--rcvbuf BYTES]
//
// --threads N > 1 runs N worker_threads, each with its own reusePort socket on
// the same port (the kernel spreads flows over them by 4-tuple hash).
// --rcvbuf sets SO_RCVBUF (default: the OS default, as most servers leave it).
// Prints `ready <port>` on stdout once every socket is bound.

import type dgram from 'node:dgram';
import { parseArgs } from 'node:util';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { bindResponder } from './responder-socket.ts';

// Fixed answer: NAME=ptr to offset 12, TYPE=A, CLASS=IN, TTL=5, RDLENGTH=4, 127.0.0.1
const ANSWER = Buffer.from([0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x05, 0x00, 0x04, 127, 0, 0, 1]);

function answer(msg: Buffer, qend: number): Buffer {
  const out = Buffer.allocUnsafe(qend + 16);
  msg.copy(out, 0, 0, qend);
  out[2] = (msg[2]! & 0x79) | 0x84; // QR, AA; keep opcode and RD; clear TC
  out[3] = 0; // NOERROR
  out[4] = 0; // QDCOUNT = 1
  out[5] = 1;
  out[6] = 0; // ANCOUNT = 1
  out[7] = 1;
  out[8] = 0; // NSCOUNT = 0
  out[9] = 0;
  out[10] = 0; // ARCOUNT = 0 (any OPT in the query is dropped)
  out[11] = 0;
  ANSWER.copy(out, qend);
  return out;
}

function serve(host: string, port: number, reusePort: boolean, rcvbuf: number): Promise<dgram.Socket> {
  return bindResponder({ host, port, reusePort, rcvbuf, name: 'minimal-responder' }, answer);
}

interface WorkerInit {
  host: string;
  port: number;
  rcvbuf: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '1053' },
      host: { type: 'string', default: '127.0.0.1' },
      threads: { type: 'string', default: '1' },
      rcvbuf: { type: 'string', default: '0' },
    },
  });
  const host = values.host;
  let port = Number(values.port);
  const threads = Math.max(1, Math.min(64, Number(values.threads) || 1));
  const rcvbuf = Math.max(0, Number(values.rcvbuf) || 0); // SO_RCVBUF; 0 = OS default (net.core.rmem_default)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad --port ${values.port}`);

  const workers: Worker[] = [];
  let sock: dgram.Socket | undefined;
  if (threads === 1) {
    sock = await serve(host, port, false, rcvbuf);
    port = sock.address().port;
  } else {
    // Start worker 0 first so that --port 0 resolves to one port shared by all.
    for (let t = 0; t < threads; t++) {
      const w = new Worker(new URL(import.meta.url), { workerData: { host, port, rcvbuf } satisfies WorkerInit });
      workers.push(w);
      const bound = await new Promise<number>((resolve, reject) => {
        w.once('message', (m: { port: number }) => resolve(m.port));
        w.once('error', reject);
      });
      w.on('error', (err) => {
        console.error(`minimal-responder worker: ${err.message}`);
        process.exit(1);
      });
      port = bound;
    }
  }
  process.stdout.write(`ready ${port}\n`);

  const stop = (): void => {
    sock?.close();
    for (const w of workers) void w.terminate();
    // Sockets/workers closing lets the loop drain; make sure we leave promptly.
    setTimeout(() => process.exit(0), 200).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (isMainThread) {
  main().catch((err: unknown) => {
    console.error(`minimal-responder: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
} else {
  const init = workerData as WorkerInit;
  const s = await serve(init.host, init.port, true, init.rcvbuf);
  parentPort!.postMessage({ port: s.address().port });
}
