// Real DNS servers for tests and benchmarks, run as foreground child processes on 127.0.0.1:
// Debian's unbound (local data, or a caching resolver in front of another server) and dnsmasq
// (the kube-dns stand-in). Missing binaries give { skip } instead of an error, so tests can t.skip().
import { spawn } from 'node:child_process';
import { accessSync, constants, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeQuery, udpRaw } from './dns-client.ts';
import { freePort, tempDir } from './server-process.ts';

export interface Daemon {
  port: number;
  pid: number;
  /** `127.0.0.1:PORT`, as a forward target. */
  address: string;
  logs(): string;
  /** SIGTERM, then SIGKILL after 2 s; resolves once the process has exited. */
  stop(): Promise<void>;
}

export interface Skip {
  skip: string;
}

/** Why `bin` cannot be run (for a test's skip option), or undefined when it is installed. */
export function missingTool(bin: string): string | undefined {
  return findBinary(bin) ? undefined : `${bin} is not installed (bash test/setup/ensure-tools.sh installs it)`;
}

function findBinary(bin: string): string | undefined {
  // sbin is often missing from a non-root PATH, and unbound and dnsmasq live there.
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin'];
  for (const d of dirs.filter(Boolean)) {
    try {
      accessSync(join(d, bin), constants.X_OK);
      return join(d, bin);
    } catch {}
  }
  return undefined;
}

export interface UnboundOptions {
  port?: number;
  /** Address to listen on (default 127.0.0.1); queries from anywhere are then allowed. */
  host?: string;
  /** Command the daemon runs under, e.g. `['nsenter', '-t', PID, '-n']` for another network namespace. */
  wrap?: string[];
  /** Zone-file RRs (`www.example.test. 60 IN A 10.0.0.1`) and local zones (`{ zone: 'example.test.' }`, type static by default). */
  localData?: Array<string | { zone: string; type?: string }>;
  /** `HOST:PORT` of the server everything outside the local zones is forwarded to (cached). */
  forwardTo?: string;
  threads?: number;
  /** unbound size syntax: `4m`, `64m`; the rrset cache gets the same. */
  msgCacheSize?: string;
  /** More `server:` lines, verbatim. */
  extraConfig?: string[];
}

export async function startUnbound(opts: UnboundOptions = {}): Promise<Daemon | Skip> {
  const bin = findBinary('unbound');
  if (!bin) return { skip: missingTool('unbound')! };
  return startDaemon(opts.port, opts.host ?? '127.0.0.1', (port, dir) => {
    const conf = join(dir, 'unbound.conf');
    writeFileSync(conf, unboundConfig(port, dir, opts));
    const [cmd, ...pre] = [...(opts.wrap ?? []), bin];
    return [cmd!, [...pre, '-d', '-c', conf]];
  });
}

function unboundConfig(port: number, dir: string, opts: UnboundOptions): string {
  const server = [
    'username: ""', 'chroot: ""', `directory: "${dir}"`, `pidfile: "${join(dir, 'unbound.pid')}"`,
    'do-daemonize: no', 'use-syslog: no', 'logfile: ""', 'verbosity: 1',
    `interface: ${opts.host ?? '127.0.0.1'}@${port}`, `access-control: ${opts.host ? '0.0.0.0/0' : '127.0.0.0/8'} allow`, 'do-ip6: no',
    // Upstreams here are on loopback, which unbound refuses to query by default; no DNSSEC, so no trust anchor.
    'do-not-query-localhost: no', 'module-config: "iterator"',
    `num-threads: ${opts.threads ?? 1}`,
  ];
  if (opts.msgCacheSize) server.push(`msg-cache-size: ${opts.msgCacheSize}`, `rrset-cache-size: ${opts.msgCacheSize}`);
  if (opts.forwardTo) {
    // unbound answers these itself by default (NXDOMAIN), but test names and cluster PTRs live there.
    server.push('unblock-lan-zones: yes', ...['test.', 'invalid.', 'onion.', 'home.arpa.'].map((z) => `local-zone: "${z}" nodefault`));
  } else {
    // Without an upstream, never fall back to the root servers: names outside the local zones are refused.
    server.push('local-zone: "." refuse');
  }
  for (const d of opts.localData ?? []) {
    if (typeof d === 'string') server.push(d.includes('"') ? `local-data: '${d}'` : `local-data: "${d}"`);
    else server.push(`local-zone: "${d.zone}" ${d.type ?? 'static'}`);
  }
  server.push(...(opts.extraConfig ?? []));
  let conf = `server:\n${server.map((l) => `  ${l}\n`).join('')}remote-control:\n  control-enable: no\n`;
  if (opts.forwardTo) {
    const { host, port: p } = hostPort(opts.forwardTo);
    conf += `forward-zone:\n  name: "."\n  forward-addr: ${host}@${p}\n`;
  }
  return conf;
}

export interface DnsmasqOptions {
  port?: number;
  /** `--host-record` values: `name[,name...],ip[,ipv6][,ttl]`. */
  hostRecords?: string[];
  /** `--address` values: `/domain/ip`. */
  addresses?: string[];
  /** `HOST:PORT` of the upstream for everything else. */
  forwardTo?: string;
  /** Cache entries (dnsmasq's default is 150; 0 turns the cache off). */
  cacheSize?: number;
  extraArgs?: string[];
}

export async function startDnsmasq(opts: DnsmasqOptions = {}): Promise<Daemon | Skip> {
  const bin = findBinary('dnsmasq');
  if (!bin) return { skip: missingTool('dnsmasq')! };
  return startDaemon(opts.port, '127.0.0.1', (port, dir) => {
    const args = [
      '-k', '--no-resolv', '--no-hosts', `--port=${port}`, '--listen-address=127.0.0.1', '--bind-interfaces',
      '--conf-file=/dev/null', '--user=root', `--pid-file=${join(dir, 'dnsmasq.pid')}`, '--log-facility=-',
    ];
    for (const r of opts.hostRecords ?? []) args.push(`--host-record=${r}`);
    for (const a of opts.addresses ?? []) args.push(`--address=${a}`);
    if (opts.forwardTo) {
      const { host, port: p } = hostPort(opts.forwardTo);
      args.push(`--server=${host}#${p}`);
    }
    if (opts.cacheSize !== undefined) args.push(`--cache-size=${opts.cacheSize}`);
    return [bin, [...args, ...(opts.extraArgs ?? [])]];
  });
}

function hostPort(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
}

/**
 * Spawns the command `build` makes for a port and a temp dir, and resolves once it answers a
 * query. A chosen-for-us port can be taken in the meantime, so an early exit is retried twice.
 */
async function startDaemon(fixedPort: number | undefined, host: string, build: (port: number, dir: string) => [string, string[]]): Promise<Daemon> {
  for (let attempt = 1; ; attempt++) {
    const port = fixedPort ?? (await freePort());
    const [bin, args] = build(port, tempDir());
    const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    let done = false;
    const exited = new Promise<void>((resolve) => {
      const end = (): void => {
        done = true;
        resolve();
      };
      proc.on('exit', end);
      proc.on('error', (e) => {
        out += `${e.message}\n`;
        end();
      });
    });
    const d: Daemon = {
      port,
      pid: proc.pid!,
      address: `${host}:${port}`,
      logs: () => out,
      async stop() {
        if (done) return;
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 2000);
        await exited;
        clearTimeout(timer);
      },
    };
    if (await answering(host, port, () => done)) return d;
    await d.stop();
    if (fixedPort !== undefined || attempt === 3) throw new Error(`${bin} did not start on port ${port}:\n${out}`);
  }
}

/** Polls with a CHAOS version.bind query (both servers answer it themselves) for up to 10 s. */
async function answering(host: string, port: number, gone: () => boolean): Promise<boolean> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && !gone()) {
    if (await udpRaw(port, encodeQuery('version.bind', { type: 'TXT', cls: 'CH' }), 100, host)) return true;
  }
  return false;
}
