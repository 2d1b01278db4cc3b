// hosts [FILE [ZONES...]] { ADDRESS NAME...; ttl SECONDS; no_reverse; reload DURATION;
//   fallthrough [ZONES...]; fallthrough_unsupported }
// CoreDNS's hosts plugin: /etc/hosts-style entries served from a record table.
import { accessSync, constants, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Directive, Token } from '../../corefile/index.ts';
import { canonicalName } from '../../dns/name.ts';
import { fail, noBlock, parseDuration, parseIntArg, zonesArg } from '../../plugin/args.ts';
import type { PluginDefinition } from '../../plugin/types.ts';
import { HostsMap, hostName, parseAddress } from './hostsfile.ts';
import { HostsSource } from './source.ts';

export interface HostsConfig {
  tableId: string;
  /** Zones whose names are answered (PTR queries are answered whatever their zone). */
  zones: string[];
  /** null: no fallthrough; []: every zone; else these zones. */
  fallthrough: string[] | null;
  /** Types other than A, AAAA and PTR at a name that exists go to the next plugin as well. */
  fallthroughUnsupported: boolean;
}

const DEFAULT_FILE = '/etc/hosts';
const DEFAULT_TTL = 3600;
const DEFAULT_RELOAD_MS = 5000;
const OPTIONS = ['ttl', 'no_reverse', 'reload', 'fallthrough', 'fallthrough_unsupported'];

export const hosts: PluginDefinition = {
  name: 'hosts',
  summary: 'serves A, AAAA and PTR records from an /etc/hosts-style file and inline lines',
  setup(ctx) {
    const d = ctx.directive;
    const path = resolve(d.args[0]?.text ?? DEFAULT_FILE);
    const zoneArgs = d.args.slice(1);
    for (const t of zoneArgs) if (t.text.includes('/')) fail(t, `'${t.text}' is not a zone`, 'hosts takes zone names; PTR records are served for every address anyway');
    const zones = zonesArg(zoneArgs, ctx.block.zones);
    checkFile(path, d.args[0] ?? d.name);

    const o = readOptions(d);
    const inline = new HostsMap(zones, o.reverse);
    for (const x of o.lines) addInlineLine(inline, x, zones);

    const { id, writer } = ctx.createTable();
    const source = new HostsSource({
      path, zones, reverse: o.reverse, ttl: o.ttl, inline, writer,
      log: (line) => void process.stdout.write(`${line}\n`),
    });
    const config: HostsConfig = { tableId: id, zones, fallthrough: o.fallthrough, fallthroughUnsupported: o.unsupported };
    return {
      worker: { module: new URL('./handler.ts', import.meta.url).href, config },
      primary: {
        start: () => source.start(o.reloadMs),
        stop: () => source.stop(),
        ready: () => true,
      },
    };
  },
};

interface Options {
  ttl: number;
  reloadMs: number;
  reverse: boolean;
  fallthrough: string[] | null;
  unsupported: boolean;
  /** Lines that are not options: hosts-file lines. */
  lines: Directive[];
}

function readOptions(d: Directive): Options {
  const o: Options = { ttl: DEFAULT_TTL, reloadMs: DEFAULT_RELOAD_MS, reverse: true, fallthrough: null, unsupported: false, lines: [] };
  const args = (x: Directive, min: number, max: number, usage: string): Token[] => {
    noBlock(x);
    if (x.args.length < min) fail(x.name, `${x.name.text} needs an argument`, `usage: ${usage}`);
    if (x.args.length > max) fail(x.args[max]!, max === 0 ? `${x.name.text} takes no arguments` : `too many arguments for ${x.name.text}`, `usage: ${usage}`);
    return x.args;
  };
  let unsupportedAt: Token | null = null;
  for (const x of d.block ?? []) {
    switch (x.name.text) {
      case 'ttl':
        o.ttl = parseIntArg(args(x, 1, 1, 'ttl SECONDS')[0]!, 1, 65535);
        break;
      case 'no_reverse':
        args(x, 0, 0, 'no_reverse');
        o.reverse = false;
        break;
      case 'reload':
        o.reloadMs = parseDuration(args(x, 1, 1, 'reload DURATION (0 to disable)')[0]!);
        break;
      case 'fallthrough':
        o.fallthrough = args(x, 0, Infinity, 'fallthrough [ZONES...]').map((t) => canonicalName(t.text));
        break;
      case 'fallthrough_unsupported':
        args(x, 0, 0, 'fallthrough_unsupported');
        o.unsupported = true;
        unsupportedAt = x.name;
        break;
      default:
        // Anything else is a hosts-file line, allowed only before fallthrough (as in CoreDNS).
        if (o.fallthrough !== null) fail(x.name, `unknown option '${x.name.text}' for hosts`, `host lines go before fallthrough; options: ${OPTIONS.join(', ')}`);
        o.lines.push(x);
    }
  }
  if (unsupportedAt !== null && o.fallthrough === null) fail(unsupportedAt, 'fallthrough_unsupported needs fallthrough', 'add a fallthrough line to the hosts block');
  return o;
}

/** An inline line, checked strictly: a Corefile mistake is reported where it was written. */
function addInlineLine(inline: HostsMap, x: Directive, zones: string[]): void {
  if (x.block) fail(x.name, 'a host line cannot open a block');
  const addr = parseAddress(x.name.text);
  if (!addr) fail(x.name, `'${x.name.text}' is neither a hosts option nor an IP address`, `host lines are ADDRESS NAME...; options: ${OPTIONS.join(', ')}`);
  if (x.args.length === 0) fail(x.name, `no name after ${x.name.text}`, 'host lines are ADDRESS NAME... (e.g. 10.0.0.1 db.example.org db)');
  const names: string[] = [];
  for (const t of x.args) {
    const name = hostName(t.text);
    if (name === null) fail(t, `'${t.text}' is not a valid host name`, 'labels of 1 to 63 bytes, at most 255 bytes in all');
    if (!inline.inZones(name)) fail(t, `${name} is not inside ${zones.join(' or ')}`, 'hosts serves names in its zones only: add the zone to the hosts line or the server block');
    names.push(name);
  }
  inline.add(addr, names);
}

/**
 * A file that is missing is served as empty until it appears (CoreDNS warns and goes on); a
 * path that cannot be used at all is a configuration error.
 */
function checkFile(path: string, at: Token): void {
  let problem: string | null = null;
  try {
    if (statSync(path).isDirectory()) problem = 'is a directory';
    else accessSync(path, constants.R_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    if (code !== 'ENOENT') problem = `cannot be read: ${code}`;
  }
  if (problem !== null) fail(at, `hosts file ${path} ${problem}`, 'give the path of a readable file in /etc/hosts format');
}
