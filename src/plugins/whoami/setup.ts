import type { PluginDefinition } from '../../plugin/types.ts';
import { noArgs, noBlock } from '../../plugin/args.ts';

export const whoami: PluginDefinition = {
  name: 'whoami',
  summary: "answers every query with the client's address and port",
  setup(ctx) {
    noArgs(ctx.directive);
    noBlock(ctx.directive);
    return { worker: { module: new URL('./handler.ts', import.meta.url).href, config: {} } };
  },
};
