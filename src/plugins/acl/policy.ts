// acl's rules as the worker gets them (plain data) and as it runs them (compiled matchers).
import { type NetSpec, NetMatcher } from '../../dns/address-match.ts';

export const ACTIONS = ['allow', 'block', 'filter', 'drop'] as const;
export type Action = (typeof ACTIONS)[number];

export interface RuleSpec {
  action: Action;
  /** Query types the rule is for; null: every type (`type *` or no `type`). */
  types: number[] | null;
  /** Client networks; null: every client (`net *` or no `net`). */
  nets: NetSpec[] | null;
}

export interface CompiledRule {
  action: number;
  /** qtype -> 1 for the rule's types, or null for all. */
  types: Uint8Array | null;
  nets: NetMatcher | null;
}

export function compileRule(r: RuleSpec): CompiledRule {
  let types: Uint8Array | null = null;
  if (r.types !== null) {
    types = new Uint8Array(65536);
    for (const t of r.types) types[t] = 1;
  }
  return { action: ACTIONS.indexOf(r.action), types, nets: r.nets === null ? null : new NetMatcher(r.nets) };
}
