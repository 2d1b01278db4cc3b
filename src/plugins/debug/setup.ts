// debug: a plugin that fails a query (throws) is logged with its stack and the query, as
// `[DEBUG]` lines. CoreDNS's debug also stops recovering from panics so the process dies with a
// stack trace; kdns keeps recovering (a failed query must never take a worker down) and logs
// the same trace instead.
import type { PluginDefinition } from '../../plugin/types.ts';
import { noArgs, noBlock } from '../../plugin/args.ts';

export const debug: PluginDefinition = {
  name: 'debug',
  summary: "logs each plugin failure with its stack trace and the query ([DEBUG] lines)",
  setup(ctx) {
    noArgs(ctx.directive);
    noBlock(ctx.directive);
    return { debug: true };
  },
};
