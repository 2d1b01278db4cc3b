// The upstream of a capacity run (bench/capacity.ts): what a forwarder in front of it sees from
// "the internet", on loopback and never the bottleneck. Like bench/minimal-responder.ts, but
// answering by type so that caches in front of it behave as with a real resolver:
//   A     one A record 192.0.2.1 (TEST-NET-1)
//   AAAA  one AAAA record 2001:db8::1
//   else  NOERROR with no answer (NODATA)
// with TTL --ttl (default 30), RA set. Any EDNS OPT in the query is dropped.
//
//   node bench/upstream-responder.ts [--port 0] [--host 127.0.0.1] [--ttl 30] [--rcvbuf BYTES]
//
// Prints `ready <port>` once bound; exits on SIGTERM/SIGINT.

import { parseArgs } from 'node:util';
import { bindResponder } from './responder-socket.ts';

function records(ttl: number): { a: Buffer; aaaa: Buffer } {
  const t = [(ttl >>> 24) & 255, (ttl >>> 16) & 255, (ttl >>> 8) & 255, ttl & 255];
  const a = Buffer.from([0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, ...t, 0x00, 0x04, 192, 0, 2, 1]);
  const aaaa = Buffer.from([0xc0, 0x0c, 0x00, 0x1c, 0x00, 0x01, ...t, 0x00, 0x10, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  return { a, aaaa };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      ttl: { type: 'string', default: '30' },
      rcvbuf: { type: 'string', default: '0' },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad --port ${values.port}`);
  const { a, aaaa } = records(Math.max(0, Math.floor(Number(values.ttl) || 0)));
  const rcvbuf = Math.max(0, Number(values.rcvbuf) || 0);
  const sock = await bindResponder({ host: values.host, port, rcvbuf, name: 'upstream-responder' }, (msg, qend) => {
    const qtype = (msg[qend - 4]! << 8) | msg[qend - 3]!; // QTYPE, then QCLASS, end the question
    const rr = qtype === 1 ? a : qtype === 28 ? aaaa : null;
    const out = Buffer.allocUnsafe(qend + (rr ? rr.length : 0));
    msg.copy(out, 0, 0, qend);
    out[2] = (msg[2]! & 0x79) | 0x80; // QR; keep opcode and RD; clear AA and TC
    out[3] = 0x80; // RA, NOERROR
    out[4] = 0;
    out[5] = 1;
    out[6] = 0;
    out[7] = rr ? 1 : 0;
    out.fill(0, 8, 12);
    if (rr) rr.copy(out, qend);
    return out;
  });
  process.stdout.write(`ready ${sock.address().port}\n`);
  const stop = (): void => {
    sock.close();
    setTimeout(() => process.exit(0), 100).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  console.error(`upstream-responder: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
