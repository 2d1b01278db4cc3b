// `kdns -conf Corefile`: load the configuration, start the server, stop on SIGTERM/SIGINT.
import { existsSync, writeFileSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { CorefileError, loadCorefile, parseCorefile, type Corefile } from './corefile/index.ts';
import { buildPlan } from './config/plan.ts';
import { DEMO_PORT, demoBanner, demoCorefile } from './config/demo.ts';
import { FlagError, USAGE, parseFlags } from './cli-flags.ts';
import { pluginNames } from './plugin/registry.ts';
import { DnsServer } from './server/server.ts';
import type { ServerControl } from './plugin/types.ts';
import { ListenError } from './server/port-check.ts';
import { NAME, VERSION } from './version.ts';

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
  try {
    if (flags.conf !== null) corefile = loadCorefile(resolve(flags.conf));
    else if (existsSync('Corefile')) corefile = loadCorefile(resolve('Corefile'));
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

  const server = new DnsServer(plan, {
    workers: flags.workers ?? availableParallelism(),
    testHooks: process.env.KDNS_TEST_HOOKS === '1',
    tcp: flags.tcpMaxConns !== null ? { maxConnections: flags.tcpMaxConns } : {},
  });
  try {
    await server.start();
  } catch (err) {
    if (err instanceof ListenError) {
      process.stderr.write(`kdns: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  if (flags.pidfile) writeFileSync(flags.pidfile, `${process.pid}\n`);
  if (!flags.quiet) {
    if (demo) process.stdout.write(demoBanner(port));
    for (const s of plan.servers) for (const z of s.zones) process.stdout.write(`${z}:${s.port}\n`);
    process.stdout.write(`${NAME}-${VERSION}\n${process.platform}/${process.arch}, node ${process.version}, ${server.aliveWorkers()} workers\n`);
  }

  return new Promise<number>((resolveExit) => {
    let stopping = false;
    const shutdown = (code: number): void => {
      if (stopping) return;
      stopping = true;
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      server.stop().then(() => {
        if (flags.pidfile) rmSync(flags.pidfile, { force: true });
        resolveExit(code);
      }, () => resolveExit(1));
    };
    const onSignal = (): void => shutdown(0);
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    const control: ServerControl = {
      fatal(message) {
        process.stderr.write(`[FATAL] ${message}\n`);
        shutdown(1);
      },
      parts: () => plan.servers.flatMap((s) => s.primaries.map((p) => ({ block: s.key, plugin: p.name, part: p.part }))),
    };
    for (const s of plan.servers) for (const p of s.primaries) p.part.listening?.(control);
  });
}

function configError(err: unknown): number {
  if (err instanceof CorefileError) {
    process.stderr.write(`kdns: ${err.message}\n`);
    return 1;
  }
  throw err;
}
