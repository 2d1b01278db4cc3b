// k8s_external, worker side: answers from the zone's table, which the kubernetes plugin's state
// fills; until its first sync is in, SERVFAIL (or the next plugin, for a fallthrough zone).
import { QCLASS } from '../../dns/constants.ts';
import { NEXT, type Handler, type WorkerEnv } from '../../plugin/types.ts';
import { answerEntry } from '../../table/answer.ts';
import { ZoneMatcher, fallthroughMatcher } from '../../table/zone-match.ts';
import { answerUnsynced } from '../kubernetes/unsynced.ts';
import type { K8sExternalConfig } from './setup.ts';

export default function create(config: K8sExternalConfig, env: WorkerEnv): Handler {
  const zones = new ZoneMatcher(config.zones);
  const table = env.table(config.tableId);
  const fallthrough = fallthroughMatcher(config.fallthrough, config.zones);
  return {
    serve(q, w) {
      if (q.qclass !== QCLASS.IN && q.qclass !== QCLASS.ANY) return NEXT;
      const z = zones.match(q);
      if (z < 0) return NEXT;
      if (!table.ready) return answerUnsynced(fallthrough, q, w);
      const entry = table.find(q);
      if (entry === 0 && fallthrough !== null && fallthrough.match(q) >= 0) return NEXT;
      return answerEntry(table, zones, z, q, w, entry);
    },
  };
}
