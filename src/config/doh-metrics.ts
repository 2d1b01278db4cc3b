// coredns_dns_https_responses_total{server, status}: DoH responses per listener and HTTP status,
// as CoreDNS counts them (plugin/metrics/vars). Declared for every https:// listener whether or
// not a `prometheus` plugin exports it, like CoreDNS's global registry.
import { metrics, type SeriesGrid } from '../metrics/index.ts';
import { DOH_STATUSES } from '../worker/doh-request.ts';

const responses = metrics.counter({
  name: 'coredns_dns_https_responses_total',
  help: 'Counter of DoH responses per server and http status code.',
  labelNames: ['server', 'status'],
});

/** Slots for `server` (an `https://HOST:PORT` label), one per status in DOH_STATUSES order. */
export function dohResponseSlots(server: string): SeriesGrid {
  return responses.grid([[server], DOH_STATUSES.map(String)]);
}
