import type { PluginDefinition } from '../../plugin/types.ts';
import { noArgs, noBlock } from '../../plugin/args.ts';

export const any: PluginDefinition = {
  name: 'any',
  summary: 'answers ANY queries with a minimal HINFO (RFC 8482)',
  setup(ctx) {
    noArgs(ctx.directive);
    noBlock(ctx.directive);
    return { worker: { module: new URL('./handler.ts', import.meta.url).href, config: {} } };
  },
};
