// The fake API server as its own process:
//   node test/fake-apiserver/main.ts --port 0 [--host 127.0.0.1] [--token T] [--bookmark-ms N]
//        [--history N] [--watch-timeout-s N] [--exit-with-stdin] [--verbose]
// prints `listening http://127.0.0.1:PORT` on stdout once it accepts connections and exits 0 on
// SIGTERM or SIGINT (and, with --exit-with-stdin, when its stdin closes, so that it never outlives
// the test process that started it).
import { DEFAULT_OPTIONS, FakeApiServer, type ServerOptions } from './server.ts';

const USAGE = 'usage: main.ts [--port N] [--host ADDR] [--token T] [--bookmark-ms N] [--history N] [--watch-timeout-s N] [--exit-with-stdin] [--verbose]';

function fail(msg: string): never {
  process.stderr.write(`fake-apiserver: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): { opts: Partial<ServerOptions>; exitWithStdin: boolean } {
  const opts: Partial<ServerOptions> = {};
  let exitWithStdin = false;
  const int = (flag: string, v: string | undefined): number => {
    if (v === undefined || !/^\d+$/.test(v)) fail(`${flag} needs a whole number`);
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf('=');
    const flag = eq > 0 ? a.slice(0, eq) : a;
    const val = (): string | undefined => (eq > 0 ? a.slice(eq + 1) : argv[++i]);
    switch (flag) {
      case '--port':
        opts.port = int(flag, val());
        break;
      case '--host':
        opts.host = val() ?? fail('--host needs an address');
        break;
      case '--token':
        opts.token = val() ?? fail('--token needs a value');
        break;
      case '--bookmark-ms':
        opts.bookmarkMs = int(flag, val());
        break;
      case '--history':
        opts.history = int(flag, val());
        break;
      case '--watch-timeout-s':
        opts.watchTimeoutS = int(flag, val());
        break;
      case '--exit-with-stdin':
        exitWithStdin = true;
        break;
      case '--verbose':
        opts.verbose = true;
        break;
      case '-h':
      case '--help':
        process.stdout.write(USAGE + '\n');
        process.exit(0);
        break;
      default:
        fail(`unknown flag ${a}`);
    }
  }
  return { opts, exitWithStdin };
}

const { opts, exitWithStdin } = parseArgs(process.argv.slice(2));
const server = new FakeApiServer(opts);
let port: number;
try {
  port = await server.listen();
} catch (err) {
  process.stderr.write(`fake-apiserver: cannot listen: ${(err as Error).message}\n`);
  process.exit(1);
}
const host = server.opts.host.includes(':') ? `[${server.opts.host}]` : server.opts.host;
process.stdout.write(`listening http://${host}:${port}\n`);
if (server.opts.verbose) process.stderr.write(`fake-apiserver: options ${JSON.stringify({ ...DEFAULT_OPTIONS, ...opts, token: opts.token ? '***' : undefined })}\n`);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  const force = setTimeout(() => process.exit(0), 2000);
  force.unref();
  server.close().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (exitWithStdin) {
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
}
