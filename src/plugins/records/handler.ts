import { QCLASS } from '../../dns/constants.ts';
import { NEXT, type Handler, type WorkerEnv } from '../../plugin/types.ts';
import { answerFromTable } from '../../table/answer.ts';
import { ZoneMatcher } from '../../table/zone-match.ts';
import type { RecordsConfig } from './setup.ts';

export default function create(config: RecordsConfig, env: WorkerEnv): Handler {
  const zones = new ZoneMatcher(config.zones);
  const table = env.table(config.tableId);
  return {
    serve(q, w) {
      if (q.qclass !== QCLASS.IN && q.qclass !== QCLASS.ANY) return NEXT;
      const z = zones.match(q);
      if (z < 0) return NEXT;
      return answerFromTable(table, zones, z, q, w);
    },
  };
}
