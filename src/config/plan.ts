// Turns a parsed Corefile into what the server runs: server blocks with their plugin chains in
// CoreDNS's fixed order, the listeners (address x port) they share, and the record tables the
// plugins created. Every mistake is a CorefileError pointing at the token.
import { randomBytes } from 'node:crypto';
import { type Corefile, type Directive, type Token, errorAt } from '../corefile/index.ts';
import { DIRECTIVE_ORDER, orderOf, plugins, pluginNames } from '../plugin/registry.ts';
import type { PrimaryPart } from '../plugin/types.ts';
import { TableWriter } from '../table/writer.ts';
import type { Transport, WorkerListenerConfig, WorkerPluginConfig, WorkerServerConfig, WorkerTlsConfig } from '../worker/config.ts';
import { parseServerKey } from './address.ts';
import { dohResponseSlots } from './doh-metrics.ts';
import { serverLabel } from '../plugins/prometheus/setup.ts';

export const ALL_ADDRESSES = '::';

export interface ServerPlan extends WorkerServerConfig {
  /** Addresses from `bind`; null = every address. */
  addresses: string[] | null;
  tcpIdleTimeoutMs?: number;
  /** The scheme of the block's keys on this port. */
  transport: Transport;
  /** From `tls` (tls:// and https:// blocks only). */
  tls?: WorkerTlsConfig;
  primaries: Array<{ name: string; part: PrimaryPart }>;
  /** Where the block starts, for messages. */
  at: Token;
}

export interface Plan {
  servers: ServerPlan[];
  listeners: WorkerListenerConfig[];
  tables: Map<string, TableWriter>;
  files: string[];
  warnings: string[];
}

export interface PlanOptions {
  defaultPort: number;
}

export function buildPlan(corefile: Corefile, opts: PlanOptions): Plan {
  const tables = new Map<string, TableWriter>();
  const servers: ServerPlan[] = [];
  for (const block of corefile.blocks) {
    if (block.keys.length === 0) continue;
    // Keys of one block may name different ports and schemes: CoreDNS runs one server per
    // scheme and port.
    const byPort = new Map<string, { transport: Transport; port: number; zones: string[]; keys: string[] }>();
    for (const k of block.keys) {
      for (const a of parseServerKey(k, opts.defaultPort)) {
        let g = byPort.get(`${a.transport}:${a.port}`);
        if (!g) byPort.set(`${a.transport}:${a.port}`, (g = { transport: a.transport, port: a.port, zones: [], keys: [] }));
        if (!g.zones.includes(a.zone)) g.zones.push(a.zone);
        g.keys.push(`${a.transport}://${a.zone}:${a.port}`);
      }
    }
    checkDirectives(block.directives);
    const ordered = [...block.directives].sort((a, b) => orderOf(a.name.text) - orderOf(b.name.text));
    const names = [...new Set(ordered.map((d) => d.name.text))];
    // The view's name is a label of metrics set up before `view` in chain order.
    const view = block.directives.find((d) => d.name.text === 'view')?.args[0]?.text ?? '';
    for (const { transport, port, ...g } of byPort.values()) {
      const server: ServerPlan = {
        key: g.keys[0]!, zones: g.zones, port, transport, plugins: [], addresses: null, primaries: [], at: block.keys[0]!,
      };
      for (const d of ordered) {
        const def = plugins.get(d.name.text)!;
        const instance = def.setup({
          directive: d,
          block: { zones: g.zones, port, key: server.key, transport, view },
          plugins: names,
          addresses: server.addresses,
          createTable: () => {
            const id = `t${tables.size + 1}`;
            const writer = new TableWriter();
            tables.set(id, writer);
            return { id, writer };
          },
        });
        if (instance.worker) server.plugins.push({ name: def.name, ...instance.worker } satisfies WorkerPluginConfig);
        if (instance.primary) server.primaries.push({ name: def.name, part: instance.primary });
        if (instance.bindAddresses) server.addresses = [...(server.addresses ?? []), ...instance.bindAddresses];
        if (instance.tcpIdleTimeoutMs !== undefined) server.tcpIdleTimeoutMs = instance.tcpIdleTimeoutMs;
        if (instance.debug) server.debug = true;
        if (instance.tls) server.tls = instance.tls;
        if (instance.filtered) server.filtered = true;
      }
      servers.push(server);
    }
  }
  if (servers.length === 0) {
    throw errorAt({ text: '', file: corefile.files[0] ?? 'Corefile', line: 1, column: 1, quoted: false }, 'the Corefile has no server blocks', 'start one with a zone and a port, e.g. .:53 { whoami }');
  }
  return { servers, listeners: planListeners(servers), tables, files: corefile.files, warnings: corefile.warnings };
}

function checkDirectives(directives: Directive[]): void {
  const seen = new Map<string, Token>();
  for (const d of directives) {
    const name = d.name.text;
    const def = plugins.get(name);
    if (!def) {
      if (DIRECTIVE_ORDER.includes(name)) {
        throw errorAt(d.name, `plugin '${name}' is not available in kdns yet`, `available plugins: ${pluginNames().join(', ')}`);
      }
      throw errorAt(d.name, `unknown directive '${name}'`, `available plugins: ${pluginNames().join(', ')}`);
    }
    const first = seen.get(name);
    if (first && !def.repeatable) {
      throw errorAt(d.name, `plugin '${name}' is given twice in this server block`, `the first one is at line ${first.line}`);
    }
    seen.set(name, d.name);
  }
}

/**
 * One listener per address and port. Blocks with the same zone on the same listener are an
 * error unless all but the last have a `view` with expressions (CoreDNS: filtered blocks first,
 * in Corefile order, then at most one unfiltered one), as are blocks that listen on every address
 * and on specific ones of the same port, and blocks of different schemes (or different `tls`
 * settings) on one listener.
 */
function planListeners(servers: ServerPlan[]): WorkerListenerConfig[] {
  const listeners = new Map<string, WorkerListenerConfig>();
  const zoneOwner = new Map<string, ServerPlan>();
  const portMode = new Map<number, { all: boolean; server: ServerPlan }>();
  servers.forEach((s, index) => {
    const all = s.addresses === null;
    const mode = portMode.get(s.port);
    if (mode && mode.all !== all) {
      throw errorAt(s.at, `port ${s.port} is used by a block that listens on every address and by one that binds specific addresses`, `give both blocks the same 'bind', or move one to another port (other block at ${mode.server.at.file}:${mode.server.at.line})`);
    }
    portMode.set(s.port, { all, server: s });
    for (const address of s.addresses ?? [ALL_ADDRESSES]) {
      const key = `[${address}]:${s.port}`;
      let l = listeners.get(key);
      if (!l) {
        listeners.set(key, (l = { address, port: s.port, servers: [], transport: s.transport }));
        if (s.tls) {
          l.tls = s.tls;
          l.tlsTicketKeys = randomBytes(48);
        }
        if (s.transport === 'https') l.dohResponses = dohResponseSlots(serverLabel(all ? '' : address, s.port, 'https'));
      } else {
        checkSameTransport(s, l, servers);
      }
      if (!l.servers.includes(index)) l.servers.push(index);
      if (s.tcpIdleTimeoutMs !== undefined) l.tcpIdleTimeoutMs = Math.min(l.tcpIdleTimeoutMs ?? Infinity, s.tcpIdleTimeoutMs);
      for (const z of s.zones) {
        const zkey = `${key} ${z}`;
        const other = zoneOwner.get(zkey);
        if (other && other !== s) {
          const hint = s.filtered
            ? `a block with a view must come before the block without one for the same zone (that block starts at ${other.at.file}:${other.at.line})`
            : `the other server block starts at ${other.at.file}:${other.at.line}; to split the zone between blocks, give all but the last a view`;
          throw errorAt(s.at, `zone ${z} on port ${s.port} is defined twice`, hint);
        }
        // Blocks with a view share the zone: only an unfiltered one claims it.
        if (!s.filtered) zoneOwner.set(zkey, s);
      }
    }
  });
  return [...listeners.values()];
}

/** Blocks that share a listener must agree on how it speaks: the scheme and the TLS settings. */
function checkSameTransport(s: ServerPlan, l: WorkerListenerConfig, servers: ServerPlan[]): void {
  const other = servers[l.servers[0]!]!;
  const where = `other block at ${other.at.file}:${other.at.line}`;
  if (s.transport !== l.transport) {
    throw errorAt(s.at, `port ${s.port} is used by a ${l.transport}:// block and by a ${s.transport}:// block`, `one port serves one scheme: move one of them to another port (${where})`);
  }
  if (JSON.stringify(s.tls ?? null) !== JSON.stringify(l.tls ?? null)) {
    throw errorAt(s.at, `the ${s.transport}:// blocks on port ${s.port} have different tls settings`, `one listener has one certificate: give every block on port ${s.port} the same tls line (${where})`);
  }
}
