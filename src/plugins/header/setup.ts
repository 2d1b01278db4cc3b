import { fail } from '../../plugin/args.ts';
import type { PluginDefinition } from '../../plugin/types.ts';
import type { HeaderConfig } from './handler.ts';
import { HEADER_FLAGS, addRule } from './rules.ts';

const USAGE = 'header { [query|response] set|clear FLAGS... } with FLAGS among aa ra rd';

export const header: PluginDefinition = {
  name: 'header',
  summary: 'sets or clears the AA, RA and RD flags of queries and responses',
  setup(ctx) {
    const d = ctx.directive;
    if (!d.block || d.block.length === 0) fail(d.name, 'header needs a block with at least one rule', USAGE);
    const config: HeaderConfig = { query: { set: 0, clear: 0 }, response: { set: 0, clear: 0 } };
    for (const rule of d.block) {
      const words = [rule.name, ...rule.args];
      let selector = words[0]!.text.toLowerCase();
      if (selector === 'set' || selector === 'clear') {
        // CoreDNS 1.12 still takes a rule without a selector, for responses, with a warning.
        process.stderr.write(`[WARNING] plugin/header: the rule at ${rule.name.file}:${rule.name.line} has no selector; it applies to responses. Write 'response ${selector} ...'\n`);
        words.unshift({ ...rule.name, text: 'response' });
        selector = 'response';
      }
      if (selector !== 'query' && selector !== 'response') fail(words[0]!, `unknown header selector '${words[0]!.text}'`, USAGE);
      const action = words[1];
      if (!action || (action.text.toLowerCase() !== 'set' && action.text.toLowerCase() !== 'clear')) {
        fail(action ?? words[0]!, action ? `unknown header action '${action.text}'` : 'a header rule needs an action', USAGE);
      }
      if (words.length < 3) fail(action, 'a header rule needs at least one flag', USAGE);
      for (const f of words.slice(2)) {
        const flag = HEADER_FLAGS[f.text.toLowerCase()];
        if (flag === undefined) fail(f, `unknown header flag '${f.text}'`, 'supported flags: aa ra rd');
        addRule(config[selector], action.text.toLowerCase() as 'set' | 'clear', flag);
      }
    }
    return { worker: { module: new URL('./handler.ts', import.meta.url).href, config } };
  },
};
