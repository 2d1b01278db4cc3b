import type { PluginDefinition } from '../../plugin/types.ts';
import { fail } from '../../plugin/args.ts';

export const loadbalance: PluginDefinition = {
  name: 'loadbalance',
  summary: 'turns the order of A, AAAA and MX records round in every answer, CNAMEs first',
  setup(ctx) {
    const d = ctx.directive;
    const [policy, extra] = d.args;
    if (policy && policy.text === 'weighted') {
      fail(policy, "the 'weighted' policy of loadbalance is not available in kdns", 'use round_robin (the default: plain `loadbalance`), which gives every address its turn first');
    }
    if (policy && policy.text !== 'round_robin') {
      fail(policy, `unknown loadbalance policy '${policy.text}'`, 'loadbalance takes round_robin (the default)');
    }
    if (extra) fail(extra, `unexpected argument '${extra.text}' for round_robin`, 'usage: loadbalance [round_robin]');
    const option = d.block?.[0];
    if (option) {
      if (option.name.text === 'prefer') {
        fail(option.name, "loadbalance's 'prefer' option is not available in kdns", 'remove the block: round_robin gives every address its turn first');
      }
      fail(option.name, `unknown option '${option.name.text}' for loadbalance`, 'loadbalance round_robin takes no options');
    }
    return { worker: { module: new URL('./handler.ts', import.meta.url).href, config: {} } };
  },
};
