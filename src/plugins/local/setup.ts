import { noArgs, noBlock } from '../../plugin/args.ts';
import type { PluginDefinition } from '../../plugin/types.ts';
import { metrics } from '../../metrics/index.ts';
import type { LocalConfig } from './handler.ts';

const localhostRequests = metrics.counter({
  name: 'coredns_local_localhost_requests_total',
  help: 'Counter of localhost.<domain> requests.',
  labelNames: [],
});

export const local: PluginDefinition = {
  name: 'local',
  summary: 'answers localhost, localhost.<domain> and the loopback reverse zones on the spot',
  setup(ctx) {
    noArgs(ctx.directive);
    noBlock(ctx.directive);
    const config: LocalConfig = { localhostRequests: localhostRequests.series({}) };
    return { worker: { module: new URL('./handler.ts', import.meta.url).href, config } };
  },
};
