// records: inline zone-file records served from a record table (CoreDNS external plugin
// `records`). This is also the static source the built-in demo uses.
import type { PluginDefinition } from '../../plugin/types.ts';
import { fail, zonesArg } from '../../plugin/args.ts';
import { RRTextError, parseRRText } from '../../dns/rr-text.ts';
import { isSubdomain } from '../../dns/name.ts';
import type { RR } from '../../table/entry.ts';
import { RecordStore, defaultSoa } from '../../table/record-store.ts';

const DEFAULT_TTL = 3600;

export interface RecordsConfig {
  tableId: string;
  zones: string[];
}

export const records: PluginDefinition = {
  name: 'records',
  summary: 'serves records written inline in the Corefile, in zone-file syntax',
  repeatable: true,
  setup(ctx) {
    const d = ctx.directive;
    const zones = zonesArg(d.args, ctx.block.zones);
    const byZone = new Map<string, RR[]>(zones.map((z) => [z, []]));
    for (const line of d.block ?? []) {
      const tokens = [line.name, ...line.args];
      if (line.block) fail(line.name, 'a record line cannot open a block');
      let rr: RR;
      try {
        rr = parseRRText(tokens.map((t) => t.text), zones[0]!, DEFAULT_TTL);
      } catch (err) {
        if (err instanceof RRTextError) fail(tokens[err.word]!, err.message);
        throw err;
      }
      const zone = [...byZone.keys()].filter((z) => isSubdomain(rr.name, z)).sort((a, b) => b.length - a.length)[0];
      if (!zone) fail(line.name, `${rr.name} is not inside ${zones.join(' or ')}`, 'write names relative to the zone, or fully qualified names ending in a dot inside it');
      byZone.get(zone)!.push(rr);
    }
    const { id, writer } = ctx.createTable();
    const serial = Math.floor(Date.now() / 1000);
    const soas = [...byZone].map(([zone, rrs]) => rrs.find((r) => r.type === 'SOA' && r.name === zone) ?? defaultSoa(zone, DEFAULT_TTL, serial));
    const store = new RecordStore(writer, soas);
    store.set('corefile', [...byZone.values()].flat());
    store.flush();
    writer.setReady(true);
    const config: RecordsConfig = { tableId: id, zones };
    return { worker: { module: new URL('./handler.ts', import.meta.url).href, config } };
  },
};
