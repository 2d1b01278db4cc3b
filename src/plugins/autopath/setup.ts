// autopath: server-side search path completion (CoreDNS's syntax and metric).
//
//   autopath [ZONE...] RESOLV-CONF
//
// RESOLV-CONF is a resolv.conf-style file whose `search` line is the path for every client, or
// `@kubernetes`: each client's own path (`<ns>.svc.<zone> svc.<zone> <zone>` and the host's
// search domains), its namespace read from the kubernetes plugin's table (client-namespace.ts).
import { metrics } from '../../metrics/index.ts';
import { fail, noBlock, zonesArg } from '../../plugin/args.ts';
import type { PluginDefinition } from '../../plugin/types.ts';
import { readResolvConfFile, searchDomains } from '../../config/resolv-conf.ts';
import { requestKubernetesSearch } from '../kubernetes/autopath-link.ts';
import { serverLabel } from '../prometheus/setup.ts';
import type { AutopathConfig } from './handler.ts';

const USAGE = 'autopath [ZONE...] RESOLV-CONF (a resolv.conf file, or @kubernetes)';

const success = metrics.counter({
  name: 'coredns_autopath_success_total',
  help: 'Counter of requests that did autopath.',
  labelNames: ['server'],
});

export const autopath: PluginDefinition = {
  name: 'autopath',
  summary: 'server-side search path completion: one query instead of a walk down the search path (@kubernetes or a resolv.conf)',
  setup(ctx) {
    const d = ctx.directive;
    noBlock(d);
    const last = d.args[d.args.length - 1];
    if (last === undefined) fail(d.name, 'autopath needs a RESOLV-CONF', `usage: ${USAGE}`);
    const zones = zonesArg(d.args.slice(0, -1), ctx.block.zones);
    const config: AutopathConfig = {
      zones,
      search: null,
      link: null,
      success: (ctx.addresses ?? ['']).map((host) => success.series([serverLabel(host, ctx.block.port, ctx.block.transport)])),
      addresses: ctx.addresses ?? null,
    };
    if (last.text.startsWith('@')) {
      const plugin = last.text.slice(1);
      if (plugin !== 'kubernetes') fail(last, `autopath cannot take a search path from '${plugin}'`, 'kdns\'s plugin that gives one is @kubernetes; or name a resolv.conf file');
      if (!(ctx.plugins ?? []).includes('kubernetes')) {
        // As CoreDNS: no kubernetes plugin, no search path, nothing completed; said once here.
        process.stdout.write(`[WARNING] plugin/autopath: @kubernetes in ${ctx.block.key} but no kubernetes plugin in that block: autopath does nothing\n`);
      } else {
        config.link = requestKubernetesSearch(ctx.block.key);
      }
    } else {
      const file = readResolvConfFile(last.text);
      if ('error' in file) fail(last, `cannot read ${last.text}: ${file.error}`, 'name a resolv.conf-style file with a `search` line, or @kubernetes');
      const search = searchDomains(file.lines);
      if (search.length === 0) fail(last, `no search domains in ${last.text}`, 'the file needs a line like `search default.svc.cluster.local svc.cluster.local cluster.local`');
      config.search = search;
    }
    return { worker: { module: new URL('./handler.ts', import.meta.url).href, config } };
  },
};
