// file: serves zones from RFC 1035 master files, re-read when the SOA serial changes
// (CoreDNS's file plugin). The records go into a table of their own, answered by the same
// handler as the inline `records` plugin.
//
//   file DBFILE [ZONES...] { reload DURATION }
import type { PluginDefinition } from '../../plugin/types.ts';
import { eachOption, fail, noBlock, parseDuration, zonesArg } from '../../plugin/args.ts';
import type { RR } from '../../table/entry.ts';
import { RecordStore } from '../../table/record-store.ts';
import type { RecordsConfig } from '../records/setup.ts';
import { ZoneFileSource } from './source.ts';
import { ZoneFileError, readZoneFile, zoneSoa } from './zone-file.ts';

/** CoreDNS's default: the file is checked every minute. */
const DEFAULT_RELOAD_MS = 60_000;

export const file: PluginDefinition = {
  name: 'file',
  summary: 'zones from RFC 1035 master files (with $ORIGIN, $TTL, $INCLUDE), reloaded when their SOA serial changes',
  repeatable: true,
  setup(ctx) {
    const d = ctx.directive;
    if (d.args.length === 0) fail(d.name, 'file needs a zone file', 'usage: file DBFILE [ZONES...]');
    const path = d.args[0]!.text;
    const zones = zonesArg(d.args.slice(1), ctx.block.zones);
    let reloadMs = DEFAULT_RELOAD_MS;
    eachOption(d, {
      reload(x) {
        noBlock(x);
        if (x.args.length !== 1) fail(x.name, 'reload needs one duration', 'usage: reload DURATION (0 to disable)');
        reloadMs = parseDuration(x.args[0]!);
      },
    });
    // Read now, so that a broken file is a configuration error with its file and line.
    const first = new Map<string, RR[]>();
    for (const zone of zones) {
      try {
        first.set(zone, readZoneFile(path, zone));
      } catch (err) {
        if (err instanceof ZoneFileError) fail(d.args[0]!, err.message, err.hint);
        throw err;
      }
    }
    const { id, writer } = ctx.createTable();
    const soas = zones.map((z) => zoneSoa(first.get(z)!, z)!);
    const store = new RecordStore(writer, soas, { authorityNs: true });
    const source = new ZoneFileSource({ path, zones, store, log: (line) => void process.stdout.write(`${line}\n`) });
    const config: RecordsConfig = { tableId: id, zones };
    return {
      worker: { module: new URL('../records/handler.ts', import.meta.url).href, config },
      primary: {
        start() {
          source.start(first, reloadMs);
          writer.setReady(true);
        },
        stop: () => source.stop(),
      },
    };
  },
};
