// acl: allows, blocks (REFUSED), filters (an empty NOERROR) or drops (no answer at all) queries
// by their type and their client's network, first matching rule wins, as CoreDNS's acl. Blocked
// and filtered answers carry an Extended DNS Error (RFC 8914: 15 Blocked, 17 Filtered) when the
// query has EDNS. A query no rule matches, or outside the zones, is allowed.
import { RCODE } from '../../dns/constants.ts';
import { listenerIndex } from '../../plugin/listen-address.ts';
import { DROP, NEXT, type Handler, type WorkerEnv } from '../../plugin/types.ts';
import { ZoneMatcher } from '../../table/zone-match.ts';
import { type CompiledRule, type RuleSpec, compileRule } from './policy.ts';

export interface AclMetricSlots {
  allowed: number;
  /** By zone of the policy (the order of its `zones`). */
  blocked: number[];
  filtered: number[];
  dropped: number[];
}

/** One `acl` directive: its zones and rules, and its slots per address the block listens on. */
export interface AclPolicy {
  zones: string[];
  rules: RuleSpec[];
  metrics: AclMetricSlots[];
}

/** Every `acl` directive of a server block, in Corefile order: one chain link, as CoreDNS's one acl. */
export interface AclConfig {
  policies: AclPolicy[];
  /** The block's `bind` addresses (metrics per address), null for every address. */
  addresses: string[] | null;
}

const NONE = -1;
const ALLOW = 0;
const BLOCK = 1;
const FILTER = 2;

/** An EDNS0 Extended DNS Error option (RFC 8914 2) with an info code and no text. */
function ede(infoCode: number): Uint8Array {
  return new Uint8Array([0, 15, 0, 2, infoCode >> 8, infoCode & 0xff]);
}
const EDE_BLOCKED = ede(15);
const EDE_FILTERED = ede(17);

interface CompiledPolicy {
  zones: ZoneMatcher;
  rules: CompiledRule[];
  metrics: AclMetricSlots[];
}

export default function create(config: AclConfig, env: WorkerEnv): Handler {
  const policies: CompiledPolicy[] = config.policies.map((p) => ({ zones: new ZoneMatcher(p.zones), rules: p.rules.map(compileRule), metrics: p.metrics }));
  return {
    serve(q, w) {
      // Policies in order; in each, the first rule that matches decides. `allow` ends the
      // search; a policy none of whose rules match hands the query to the next one.
      for (let p = 0; p < policies.length; p++) {
        const policy = policies[p]!;
        const z = policy.zones.match(q);
        if (z < 0) continue;
        let action = NONE;
        for (let i = 0; i < policy.rules.length && action === NONE; i++) {
          const r = policy.rules[i]!;
          if (r.types !== null && r.types[q.qtype] !== 1) continue;
          if (r.nets !== null && !r.nets.matches(q.remoteAddress)) continue;
          action = r.action;
        }
        if (action === NONE) continue;
        if (action === ALLOW) break;
        const m = policy.metrics[policy.metrics.length === 1 ? 0 : listenerIndex(config.addresses, q.localAddress)]!;
        const zi = policy.zones.given[z]!; // the slots follow the Corefile's order of zones
        if (action === BLOCK) {
          env.metrics.inc(m.blocked[zi]!);
          w.start(q, RCODE.REFUSED, 0);
          w.ednsOptions = EDE_BLOCKED;
          return RCODE.REFUSED;
        }
        if (action === FILTER) {
          env.metrics.inc(m.filtered[zi]!);
          w.start(q, RCODE.NOERROR, 0);
          w.ednsOptions = EDE_FILTERED;
          return RCODE.NOERROR;
        }
        env.metrics.inc(m.dropped[zi]!);
        return DROP;
      }
      const first = policies[0]!.metrics;
      env.metrics.inc(first[first.length === 1 ? 0 : listenerIndex(config.addresses, q.localAddress)]!.allowed);
      return NEXT;
    },
  };
}
