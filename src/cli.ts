// `kdns -conf Corefile`: load the configuration, start the server, stop on SIGTERM/SIGINT; with
// `reload`, replace the running server when the Corefile changes.
import { existsSync, writeFileSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { CorefileError, loadCorefile, parseCorefile, type Corefile } from './corefile/index.ts';
import { buildPlan, type Plan } from './config/plan.ts';
import { DEMO_PORT, demoBanner, demoCorefile } from './config/demo.ts';
import { FlagError, USAGE, parseFlags } from './cli-flags.ts';
import { pluginNames } from './plugin/registry.ts';
import { DnsServer } from './server/server.ts';
import type { ServerControl } from './plugin/types.ts';
import { ListenError } from './server/port-check.ts';
import { Reloader } from './plugins/reload/reloader.ts';
import { NAME, VERSION } from './version.ts';
import { containerMemoryLimit, workerHeapLimitMb } from './server/memory-limits.ts';

const DEFAULT_PORT = 53;

export async function main(argv: string[]): Promise<number> {
  let flags;
  try {
    flags = parseFlags(argv);
  } catch (err) {
    if (err instanceof FlagError) {
      process.stderr.write(`${err.message}\n${USAGE}`);
      return 2;
    }
    throw err;
  }
  if (flags.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (flags.version) {
    process.stdout.write(`${NAME}-${VERSION}\n${process.platform}/${process.arch}, node ${process.version}\n`);
    return 0;
  }
  if (flags.plugins) {
    process.stdout.write(`Server types:\n  dns\n\nCaddyfile loaders:\n  flag\n  default\n\nOther plugins:\n${pluginNames().map((p) => `  dns.${p}\n`).join('')}`);
    return 0;
  }

  let corefile: Corefile;
  let demo = false;
  let port = flags.dnsPort ?? DEFAULT_PORT;
  /** The Corefile on disk (null for the built-in demo): what `reload` reads again. */
  let file: string | null = null;
  try {
    if (flags.conf !== null) corefile = loadCorefile((file = resolve(flags.conf)));
    else if (existsSync('Corefile')) corefile = loadCorefile((file = resolve('Corefile')));
    else {
      demo = true;
      port = flags.dnsPort ?? DEMO_PORT;
      corefile = parseCorefile(demoCorefile(port), '<built-in demo>');
    }
  } catch (err) {
    return configError(err);
  }
  for (const w of corefile.warnings) process.stderr.write(`[WARNING] ${w}\n`);

  let plan;
  try {
    plan = buildPlan(corefile, { defaultPort: port });
  } catch (err) {
    return configError(err);
  }

  const workers = flags.workers ?? availableParallelism();
  const serverOptions = {
    workers,
    testHooks: process.env.KDNS_TEST_HOOKS === '1',
    tcp: flags.tcpMaxConns !== null ? { maxConnections: flags.tcpMaxConns } : {},
    youngGenerationMb: flags.workerYoungMb ?? undefined,
    heapLimitMb: workerHeapLimitMb(workers, flags.workerHeapMb),
  };
  /** The server answering now; a reload replaces it. */
  let server = new DnsServer(plan, serverOptions);
  try {
    await server.start();
  } catch (err) {
    if (err instanceof ListenError) {
      process.stderr.write(`kdns: ${err.message}\n`);
      return 1;
    }
    throw err;
  }

  return new Promise<number>((resolveExit) => {
    let stopping = false;
    let reloader: Reloader | null = null;
    const shutdown = (code: number): void => {
      if (stopping) return;
      stopping = true;
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      // A reload under way finishes (or is undone) first, so exactly one server is left to stop.
      (async () => {
        await reloader?.close();
        await server.stop();
      })().then(() => {
        if (flags.pidfile) rmSync(flags.pidfile, { force: true });
        resolveExit(code);
      }, () => resolveExit(1));
    };
    const onSignal = (): void => shutdown(0);
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    // Only now say we are up: a SIGTERM sent as soon as the banner is seen must find the handler
    // (before it, the signal's default action kills the process).
    if (flags.pidfile) writeFileSync(flags.pidfile, `${process.pid}\n`);
    if (!flags.quiet) {
      if (demo) process.stdout.write(demoBanner(port));
      // As CoreDNS: `.:53` for dns://, the scheme in front for the others (`tls://.:853`).
      for (const s of plan.servers) for (const z of s.zones) process.stdout.write(`${s.transport === 'dns' ? '' : `${s.transport}://`}${z}:${s.port}\n`);
      process.stdout.write(`${NAME}-${VERSION}\n${process.platform}/${process.arch}, node ${process.version}, ${server.aliveWorkers()} workers${heapNote(serverOptions.heapLimitMb)}\n`);
    }
    /** What the parts of one configuration see: their own plan's parts (ready's scope). */
    const controlFor = (p: Plan): ServerControl => ({
      fatal(message) {
        process.stderr.write(`[FATAL] ${message}\n`);
        shutdown(1);
      },
      parts: () => p.servers.flatMap((s) => s.primaries.map((x) => ({ block: s.key, plugin: x.name, part: x.part }))),
    });
    const announce = (p: Plan): void => {
      const control = controlFor(p);
      for (const s of p.servers) for (const x of s.primaries) x.part.listening?.(control, s.addresses);
    };
    announce(plan);
    if (file === null) return;
    reloader = new Reloader({
      file,
      defaultPort: port,
      // The new server binds the same ports next to the running one (SO_REUSEPORT), so some
      // socket is always open for every listener both have; only then does the old one stop.
      async swap(next) {
        if (stopping) return false;
        const fresh = new DnsServer(next, serverOptions);
        await fresh.start({ held: server.plan.listeners });
        if (stopping) {
          await fresh.stop({ reload: true });
          return false;
        }
        const old = server;
        server = fresh;
        announce(next);
        await old.stop({ reload: true });
        return true;
      },
      log: (line) => void process.stdout.write(`${line}\n`),
    }, corefile, plan);
  });
}

function configError(err: unknown): number {
  if (err instanceof CorefileError) {
    process.stderr.write(`kdns: ${err.message}\n`);
    return 1;
  }
  throw err;
}

/** The banner's note on the workers' heap cap, and where it came from. */
function heapNote(limitMb: number | null): string {
  if (limitMb === null) return '';
  const limit = containerMemoryLimit();
  return `, worker heap limit ${limitMb} MiB${limit === null ? '' : ` (memory limit ${Math.round(limit / 2 ** 20)} MiB)`}`;
}
