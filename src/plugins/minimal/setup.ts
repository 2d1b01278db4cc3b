import { noArgs, noBlock } from '../../plugin/args.ts';
import type { PluginDefinition } from '../../plugin/types.ts';

export const minimal: PluginDefinition = {
  name: 'minimal',
  summary: 'successful answers carry their answer section only (no authority, no additional)',
  setup(ctx) {
    noArgs(ctx.directive);
    noBlock(ctx.directive);
    return { worker: { module: new URL('./handler.ts', import.meta.url).href, config: {} } };
  },
};
