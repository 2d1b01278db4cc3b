// metadata [ZONES...]: turns on the metadata of queries for names in ZONES (default: the block's
// zones), so the labels other plugins publish can be read by log, rewrite and view.
import { noBlock, zonesArg } from '../../plugin/args.ts';
import type { PluginDefinition } from '../../plugin/types.ts';
import type { MetadataConfig } from './handler.ts';

export const metadata: PluginDefinition = {
  name: 'metadata',
  summary: 'publishes per-query labels (kubernetes/namespace, view/name ...) for log, rewrite and view',
  setup(ctx) {
    const d = ctx.directive;
    noBlock(d);
    const config: MetadataConfig = { zones: zonesArg(d.args, ctx.block.zones) };
    return { worker: { module: new URL('./handler.ts', import.meta.url).href, config } };
  },
};
