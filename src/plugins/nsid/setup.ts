import { hostname } from 'node:os';
import { fail, noBlock } from '../../plugin/args.ts';
import type { PluginDefinition } from '../../plugin/types.ts';
import type { NsidConfig } from './handler.ts';

/** An EDNS option's data is at most 65535 bytes; the whole OPT must still fit a response. */
const MAX_NSID_BYTES = 512;

export const nsid: PluginDefinition = {
  name: 'nsid',
  summary: 'tells which server answered: the NSID EDNS option (RFC 5001), default the host name',
  setup(ctx) {
    const d = ctx.directive;
    noBlock(d);
    // CoreDNS joins every argument with spaces; without one, the host name (a pod's name).
    const text = d.args.length > 0 ? d.args.map((t) => t.text).join(' ') : hostname();
    const data = Buffer.from(text, 'utf8');
    if (data.length > MAX_NSID_BYTES) {
      fail(d.args[0]!, `the nsid identifier is ${data.length} bytes`, `keep it to ${MAX_NSID_BYTES} bytes or less`);
    }
    const config: NsidConfig = { data };
    return { worker: { module: new URL('./handler.ts', import.meta.url).href, config } };
  },
};
