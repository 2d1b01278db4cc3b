import type { Directive, Token } from '../../corefile/index.ts';
import { typeFromName } from '../../dns/constants.ts';
import { type NetSpec, parseNet } from '../../dns/address-match.ts';
import { metrics } from '../../metrics/index.ts';
import { fail, zonesArg } from '../../plugin/args.ts';
import { type PerServerConfigs, configPerServer } from '../../plugin/per-server.ts';
import type { PluginDefinition } from '../../plugin/types.ts';
import { serverLabel } from '../prometheus/setup.ts';
import type { AclConfig, AclMetricSlots, AclPolicy } from './handler.ts';
import { ACTIONS, type Action, type RuleSpec } from './policy.ts';

const USAGE = 'acl [ZONES...] { allow|block|filter|drop [type QTYPE...] [net SOURCE...] }';
/** kdns has no `view` plugin: CoreDNS leaves the label empty then. */
const VIEW = '';

const allowed = metrics.counter({ name: 'coredns_acl_allowed_requests_total', help: 'Counter of DNS requests being allowed.', labelNames: ['server', 'view'] });
const blocked = metrics.counter({ name: 'coredns_acl_blocked_requests_total', help: 'Counter of DNS requests being blocked.', labelNames: ['server', 'zone', 'view'] });
const filtered = metrics.counter({ name: 'coredns_acl_filtered_requests_total', help: 'Counter of DNS requests being filtered.', labelNames: ['server', 'zone', 'view'] });
const dropped = metrics.counter({ name: 'coredns_acl_dropped_requests_total', help: 'Counter of DNS requests being dropped.', labelNames: ['server', 'zone', 'view'] });

/** One acl per server, its policies in Corefile order, as CoreDNS runs it. */
const configs: PerServerConfigs<AclConfig> = new WeakMap();

function parseRule(d: Directive): RuleSpec {
  const action = d.name.text.toLowerCase();
  if (!(ACTIONS as readonly string[]).includes(action)) fail(d.name, `unknown acl action '${d.name.text}'`, `use one of ${ACTIONS.join(', ')}; ${USAGE}`);
  if (d.block) fail(d.name, 'an acl rule takes no block', USAGE);
  let types: number[] | null = null;
  let nets: NetSpec[] | null = null;
  let list: 'type' | 'net' | null = null;
  let anyType = false;
  let anyNet = false;
  const need = (t: Token): void => {
    if (list === null) fail(t, `'${t.text}' must follow 'type' or 'net'`, USAGE);
  };
  for (const t of d.args) {
    const word = t.text.toLowerCase();
    if (word === 'type' || word === 'net') {
      list = word;
      continue;
    }
    need(t);
    if (list === 'type') {
      if (t.text === '*') { anyType = true; continue; }
      const type = typeFromName(t.text.toUpperCase());
      if (type === undefined) fail(t, `unknown query type '${t.text}'`, 'e.g. A, AAAA, MX, ANY, or * for every type');
      (types ??= []).push(type);
    } else {
      if (t.text === '*') { anyNet = true; continue; }
      const net = parseNet(t.text);
      if (net === null) fail(t, `'${t.text}' is not an address or a network`, 'write it like 10.0.0.0/8, 192.168.1.1 or fd00::/8, or * for every client');
      (nets ??= []).push(net);
    }
  }
  return { action: action as Action, types: anyType ? null : types, nets: anyNet ? null : nets };
}

export const acl: PluginDefinition = {
  name: 'acl',
  summary: 'allows, blocks, filters or drops queries by type and client network',
  repeatable: true,
  setup(ctx) {
    const d = ctx.directive;
    if (!d.block || d.block.length === 0) fail(d.name, 'acl needs a block with at least one rule', USAGE);
    const zones = zonesArg(d.args, ctx.block.zones);
    const rules = d.block.map(parseRule);
    const slots = (host: string): AclMetricSlots => {
      const server = serverLabel(host, ctx.block.port, ctx.block.transport);
      return {
        allowed: allowed.series([server, VIEW]),
        blocked: zones.map((z) => blocked.series([server, z, VIEW])),
        filtered: zones.map((z) => filtered.series([server, z, VIEW])),
        dropped: zones.map((z) => dropped.series([server, z, VIEW])),
      };
    };
    const policy: AclPolicy = { zones, rules, metrics: (ctx.addresses ?? ['']).map(slots) };
    const { config, first } = configPerServer(configs, ctx, (): AclConfig => ({ policies: [], addresses: ctx.addresses ?? null }));
    config.policies.push(policy);
    if (!first) return {};
    return { worker: { module: new URL('./handler.ts', import.meta.url).href, config } };
  },
};
