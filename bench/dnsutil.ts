// Shared helpers for the benchmark tools: query encoding, query files,
// loopback guard, readiness probe, free-port lookup and /proc CPU accounting.
// Nothing in here is on a hot path.

import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import { execFileSync } from 'node:child_process';
import dnsPacket from 'dns-packet';

export interface EncodedQuery {
  /** Wire-format query, ID bytes = 0. */
  wire: Uint8Array;
  /** Offset just past the question section (QNAME + QTYPE + QCLASS). */
  qend: number;
  name: string;
  type: string;
}

export interface QuerySpec {
  name: string;
  type: string;
}

/** Encodes one query once (RD set, like dnsperf). `edns` adds an OPT record (UDP size 1232). */
export function encodeQuery(q: QuerySpec, edns = false): EncodedQuery {
  const packet: dnsPacket.Packet = {
    type: 'query',
    id: 0,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name: q.name, type: q.type as dnsPacket.RecordType, class: 'IN' }],
  };
  if (edns) {
    packet.additionals = [{ type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }];
  }
  const wire = new Uint8Array(dnsPacket.encode(packet));
  const qend = questionEnd(wire);
  if (qend < 0) throw new Error(`cannot encode query ${q.name} ${q.type}`);
  return { wire, qend, name: q.name, type: q.type };
}

/** Offset just past the first question, or -1 when malformed. */
export function questionEnd(msg: Uint8Array): number {
  let i = 12;
  const len = msg.length;
  while (i < len) {
    const l = msg[i]!;
    if (l === 0) break;
    if (l & 0xc0) return -1;
    i += l + 1;
  }
  if (i >= len) return -1;
  const end = i + 5;
  return end <= len ? end : -1;
}

/** Parses dnsperf's query-file format: `name TYPE` per line, `#` comments, blank lines ignored. */
export function parseQueryFile(text: string): QuerySpec[] {
  const out: QuerySpec[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const [name, type] = line.split(/\s+/);
    out.push({ name: name!, type: (type ?? 'A').toUpperCase() });
  }
  return out;
}

export function readQueryFile(path: string): QuerySpec[] {
  const specs = parseQueryFile(fs.readFileSync(path, 'utf8'));
  if (specs.length === 0) throw new Error(`no queries in ${path}`);
  return specs;
}

export interface Endpoint {
  host: string;
  port: number;
  family: 4 | 6;
}

/** Parses `127.0.0.1:1053`, `[::1]:1053`, `::1:1053` is NOT accepted (use brackets). */
export function parseEndpoint(s: string): Endpoint {
  let host: string;
  let portStr: string;
  const m6 = /^\[([^\]]+)\]:(\d+)$/.exec(s);
  if (m6) {
    host = m6[1]!;
    portStr = m6[2]!;
  } else {
    const i = s.lastIndexOf(':');
    if (i <= 0) throw new Error(`bad server address ${s} (want host:port)`);
    host = s.slice(0, i);
    portStr = s.slice(i + 1);
  }
  const port = Number(portStr);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`bad port in ${s}`);
  const fam = net.isIP(host);
  if (fam === 0) throw new Error(`server must be an IP literal: ${host}`);
  assertLoopback(host);
  return { host, port, family: fam === 6 ? 6 : 4 };
}

/** Benchmarks only ever talk to loopback. */
export function assertLoopback(host: string): void {
  const fam = net.isIP(host);
  const ok = (fam === 4 && host.startsWith('127.')) || (fam === 6 && (host === '::1' || /^(0{0,4}:){7}0{0,3}1$/.test(host)));
  if (!ok) throw new Error(`refusing non-loopback target ${host}: benchmarks only send to 127.0.0.0/8 or ::1`);
}

/**
 * Sends a query every 100 ms until one is answered (any rcode, or one `accept` likes, e.g.
 * NOERROR from a server still loading its data) or `capMs` passes.
 */
export async function waitForDns(
  ep: Endpoint,
  capMs = 15_000,
  query: QuerySpec = { name: 'kubernetes.default.svc.cluster.local', type: 'A' },
  abort?: { aborted: boolean },
  accept?: (msg: Buffer) => boolean,
): Promise<boolean> {
  assertLoopback(ep.host);
  const q = encodeQuery(query);
  const sock = dgram.createSocket(ep.family === 6 ? 'udp6' : 'udp4');
  sock.on('error', () => {}); // ECONNREFUSED etc. while the target is starting
  const deadline = Date.now() + capMs;
  let answered = false;
  let id = 1;
  sock.on('message', (msg) => {
    if (msg.length >= 12 && msg[2]! & 0x80 && (!accept || accept(msg))) answered = true;
  });
  await new Promise<void>((res) => sock.bind(0, ep.family === 6 ? '::1' : '127.0.0.1', () => res()));
  try {
    while (!answered && Date.now() < deadline && !abort?.aborted) {
      const b = Buffer.from(q.wire);
      id = (id + 1) & 0xffff;
      b[0] = id >> 8;
      b[1] = id & 0xff;
      sock.send(b, ep.port, ep.host);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    sock.close();
  }
  return answered;
}

/** Ports freePort() has returned in this process: the kernel may hand a closed one out again. */
const handedOut = new Set<number>();

/**
 * A port free for both UDP and TCP on `host` a moment ago (racy, good enough for benches and
 * tests). Both, because kdns binds UDP and TCP on every port it serves. Never the same port twice
 * in one process: a caller that asks for several before binding any gets distinct ones.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.once('error', reject);
      srv.listen(0, host, () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const s = dgram.createSocket(net.isIP(host) === 6 ? 'udp6' : 'udp4');
      s.once('error', () => resolve(false));
      s.bind(port, host, () => s.close(() => resolve(true)));
    });
    if (udpFree && !handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

let clkTck = 0;
function ticksPerSecond(): number {
  if (clkTck) return clkTck;
  try {
    clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    clkTck = 100;
  }
  return clkTck;
}

function readStat(pid: number): { ppid: number; ticks: number } | null {
  let s: string;
  try {
    s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // comm (field 2) may contain spaces and parens: split after the last ')'.
  const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
  // rest[0] = field 3 (state), so field N is rest[N - 3].
  return { ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) };
}

/**
 * utime+stime in microseconds of `pid` (all its threads: /proc/PID/stat already sums them)
 * plus all live descendant processes (so a `sh -c` wrapper or a forked worker pool is counted too).
 * Resolution is one clock tick (usually 10 ms). Returns NaN when `pid` is gone.
 */
export function processTreeCpuUs(pid: number): number {
  const root = readStat(pid);
  if (!root) return NaN;
  const children = new Map<number, number[]>();
  const ticks = new Map<number, number>();
  for (const ent of fs.readdirSync('/proc')) {
    const p = Number(ent);
    if (!Number.isInteger(p) || p <= 0) continue;
    const st = readStat(p);
    if (!st) continue;
    ticks.set(p, st.ticks);
    let arr = children.get(st.ppid);
    if (!arr) children.set(st.ppid, (arr = []));
    arr.push(p);
  }
  let total = 0;
  const stack = [pid];
  const seen = new Set<number>();
  while (stack.length) {
    const p = stack.pop()!;
    if (seen.has(p)) continue;
    seen.add(p);
    total += p === pid ? root.ticks : (ticks.get(p) ?? 0);
    for (const c of children.get(p) ?? []) stack.push(c);
  }
  return (total * 1e6) / ticksPerSecond();
}
