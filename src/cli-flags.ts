// Command-line flags in the style of CoreDNS (Go's flag package): `-name value`, `-name=value`,
// `--name`, booleans given alone.
export interface Flags {
  conf: string | null;
  dnsPort: number | null;
  version: boolean;
  plugins: boolean;
  quiet: boolean;
  workers: number | null;
  tcpMaxConns: number | null;
  workerYoungMb: number | null;
  workerHeapMb: number | null;
  pidfile: string | null;
  help: boolean;
}

export class FlagError extends Error {}

export const USAGE = `Usage: kdns [flags]
  -conf FILE        Corefile to load (default: ./Corefile, else the built-in demo)
  -dns.port N       port for server blocks that name none (default 53; demo: 1053)
  -workers N        worker threads answering queries (default: available CPUs)
  -tcp.maxconns N   open TCP connections each worker accepts (default 1024)
  -worker.young-mb N  V8 young generation of each worker, in MiB (default 3: short GC pauses;
                    0: V8's own sizing)
  -worker.heap-mb N V8 old generation cap of each worker, in MiB (default: a share of the
                    container's memory limit, none without one; 0: V8's own sizing)
  -quiet            print nothing at start-up
  -pidfile FILE     write the process ID to FILE
  -plugins          list the plugins and exit
  -version          print the version and exit
`;

const VALUE_FLAGS = new Set(['conf', 'dns.port', 'workers', 'pidfile', 'tcp.maxconns', 'worker.young-mb', 'worker.heap-mb']);
const BOOL_FLAGS = new Set(['version', 'plugins', 'quiet', 'help', 'h']);

export function parseFlags(argv: string[]): Flags {
  const f: Flags = { conf: null, dnsPort: null, version: false, plugins: false, quiet: false, workers: null, tcpMaxConns: null, workerYoungMb: null, workerHeapMb: null, pidfile: null, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-') || arg === '-' || arg === '--') throw new FlagError(`unexpected argument '${arg}'`);
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    let value: string | undefined = eq >= 0 ? body.slice(eq + 1) : undefined;
    if (BOOL_FLAGS.has(name)) {
      const on = value === undefined || value === 'true' || value === '1';
      if (value !== undefined && !on && value !== 'false' && value !== '0') throw new FlagError(`invalid boolean value '${value}' for -${name}`);
      if (name === 'version') f.version = on;
      else if (name === 'plugins') f.plugins = on;
      else if (name === 'quiet') f.quiet = on;
      else f.help = on;
      continue;
    }
    if (!VALUE_FLAGS.has(name)) throw new FlagError(`flag provided but not defined: -${name}`);
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new FlagError(`flag needs an argument: -${name}`);
    }
    switch (name) {
      case 'conf':
        f.conf = value;
        break;
      case 'pidfile':
        f.pidfile = value;
        break;
      case 'dns.port':
        f.dnsPort = intFlag(name, value, 1, 65535);
        break;
      case 'workers':
        f.workers = intFlag(name, value, 1, 256);
        break;
      case 'tcp.maxconns':
        f.tcpMaxConns = intFlag(name, value, 1, 1_000_000);
        break;
      case 'worker.young-mb':
        f.workerYoungMb = intFlag(name, value, 0, 1024);
        break;
      case 'worker.heap-mb':
        f.workerHeapMb = intFlag(name, value, 0, 65536);
        break;
    }
  }
  return f;
}

function intFlag(name: string, value: string, min: number, max: number): number {
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new FlagError(`invalid value '${value}' for -${name}: want a number from ${min} to ${max}`);
  }
  return Number(value);
}
