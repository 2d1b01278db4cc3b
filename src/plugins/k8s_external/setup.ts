// k8s_external: the external addresses of Kubernetes Services (spec.externalIPs, load balancer
// ingress) under a zone of their own, for clients outside the cluster. Its records come from
// the kubernetes plugin of the same server block (one watch, one cluster state), which writes
// them into this plugin's table (src/plugins/kubernetes/external-zone.ts).
//
//   k8s_external [ZONE...] { apex APEX; ttl TTL; headless; fallthrough [ZONES...] }
import type { PluginDefinition } from '../../plugin/types.ts';
import { eachOption, fail, optionArgs, parseIntArg, zonesArg } from '../../plugin/args.ts';
import { canonicalName, isReverseZone } from '../../dns/name.ts';
import { RecordStore } from '../../table/record-store.ts';
import { offerExternalZone } from '../kubernetes/external-zone.ts';
import { externalSoa } from './records.ts';

const DEFAULT_TTL = 5;
const DEFAULT_APEX = 'dns';

export interface K8sExternalConfig {
  tableId: string;
  zones: string[];
  /** null: no fallthrough; []: every zone; else these zones. */
  fallthrough: string[] | null;
}

export const k8sExternal: PluginDefinition = {
  name: 'k8s_external',
  summary: 'external IPs and load balancer addresses of Kubernetes Services under an outside zone (needs kubernetes)',
  setup(ctx) {
    const d = ctx.directive;
    if (!(ctx.plugins ?? []).includes('kubernetes')) {
      fail(d.name, 'k8s_external serves the kubernetes plugin\'s Services and there is none in this server block', 'add a kubernetes block to the same server block');
    }
    const zones = zonesArg(d.args, ctx.block.zones);
    const forward = zones.filter((z) => !isReverseZone(z));
    if (forward.length === 0) fail(d.args[0] ?? d.name, 'k8s_external needs a zone that is not a reverse zone', 'e.g. k8s_external example.org');
    let ttl = DEFAULT_TTL;
    let apex = DEFAULT_APEX;
    let headless = false;
    let fallthrough: string[] | null = null;
    eachOption(d, {
      ttl(x) {
        ttl = parseIntArg(optionArgs(x, 1, 1, 'ttl SECONDS')[0]!, 0, 3600);
      },
      apex(x) {
        const [t] = optionArgs(x, 1, 1, 'apex LABEL');
        if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i.test(t!.text)) fail(t!, `'${t!.text}' is not a DNS label`, 'use one label, e.g. apex dns');
        apex = t!.text.toLowerCase();
      },
      headless(x) {
        optionArgs(x, 0, 0, 'headless');
        headless = true;
      },
      fallthrough(x) {
        fallthrough = optionArgs(x, 0, Infinity, 'fallthrough [ZONES...]').map((t) => canonicalName(t.text));
      },
    });
    const { id, writer } = ctx.createTable();
    const serial = Math.floor(Date.now() / 1000);
    const store = new RecordStore(writer, zones.map((z) => externalSoa(z, apex, ttl, serial)));
    offerExternalZone(ctx.block.key, {
      store, zones: forward, reverseZones: zones.filter(isReverseZone), ttl, headless, apex,
      ready: () => writer.setReady(true),
    });
    const config: K8sExternalConfig = { tableId: id, zones, fallthrough };
    return { worker: { module: new URL('./handler.ts', import.meta.url).href, config } };
  },
};
