import { maxArgs, noBlock, parseIntArg } from '../../plugin/args.ts';
import type { PluginDefinition } from '../../plugin/types.ts';
import type { BufsizeConfig } from './handler.ts';

/** DNS Flag Day 2020's size: fits a 1280-byte IPv6 MTU without fragments. */
const DEFAULT_SIZE = 1232;

export const bufsize: PluginDefinition = {
  name: 'bufsize',
  summary: "caps the EDNS0 UDP payload size of queries (default 1232) so answers are not fragmented",
  setup(ctx) {
    const d = ctx.directive;
    noBlock(d);
    maxArgs(d, 1, 'bufsize [SIZE]');
    const config: BufsizeConfig = { size: d.args[0] ? parseIntArg(d.args[0], 512, 4096) : DEFAULT_SIZE };
    return { worker: { module: new URL('./handler.ts', import.meta.url).href, config } };
  },
};
