// The worker half of `prometheus`: after every response of its server block, adds the query to
// this worker's metrics block (CoreDNS's vars.Report). Plain stores into a Float64Array at
// indexes computed from the grids setup declared; nothing allocated, nothing sent anywhere.
import type { Handler, RequestState, WorkerEnv } from '../../plugin/types.ts';
import type { Query } from '../../dns/query.ts';
import type { ResponseWriter } from '../../dns/response.ts';
import { ZoneMatcher } from '../../table/zone-match.ts';
import { SIZE_BUCKETS, TIME_BUCKETS } from '../../metrics/buckets.ts';
import { observeInto } from '../../metrics/worker.ts';
import { OTHER_RCODE, OTHER_TYPE, TYPE_INDEX, isIPv6 } from './labels.ts';
import type { PrometheusConfig } from './setup.ts';

export default function create(c: PrometheusConfig, env: WorkerEnv): Handler {
  const slots = env.metrics.slots;
  // The zone label is the block zone the name falls in (the longest); one zone needs no match.
  const matcher = c.zones.length > 1 ? new ZoneMatcher(c.zones) : null;
  const zoneOf = matcher ? Int32Array.from(matcher.names, (n) => c.zones.indexOf(n)) : Int32Array.of(0);
  const dropped = c.zones.length; // the zone label after the block's zones
  const times = Float64Array.from(TIME_BUCKETS);
  const sizes = Float64Array.from(SIZE_BUCKETS);
  // Grid strides: labels are [server, zone, view, ...]; view has one value.
  const reqBase = c.requests.base, reqSrv = c.requests.strides[0]!, reqZone = c.requests.strides[1]!, reqProto = c.requests.strides[3]!, reqFamily = c.requests.strides[4]!;
  const doBase = c.doRequests.base, doSrv = c.doRequests.strides[0]!, doZone = c.doRequests.strides[1]!;
  const durBase = c.duration.base, durSrv = c.duration.strides[0]!, durZone = c.duration.strides[1]!;
  const rqsBase = c.requestSize.base, rqsSrv = c.requestSize.strides[0]!, rqsZone = c.requestSize.strides[1]!, rqsProto = c.requestSize.strides[3]!;
  const rssBase = c.responseSize.base, rssSrv = c.responseSize.strides[0]!, rssZone = c.responseSize.strides[1]!, rssProto = c.responseSize.strides[3]!;
  const resBase = c.responses.base, resSrv = c.responses.strides[0]!, resZone = c.responses.strides[1]!, resRcode = c.responses.strides[3]!, resPlugin = c.responses.strides[4]!;
  const pluginIndex = new Map(c.plugins.map((p, i) => [p, i]));
  // Nearly every response of a block comes from the same plugin, and on the same address:
  // remember the last lookups.
  let lastPlugin = '';
  let lastIndex = 0;
  const addresses = c.addresses !== null && c.addresses.length > 1 ? c.addresses : null;
  let lastAddress = '';
  let lastServer = 0;

  const count = (q: Query, w: ResponseWriter, r: RequestState, z: number): void => {
    let srv = 0;
    if (addresses !== null) {
      if (q.localAddress !== lastAddress) {
        lastAddress = q.localAddress;
        lastServer = Math.max(0, addresses.indexOf(lastAddress));
      }
      srv = lastServer;
    }
    const proto = q.tcp ? 1 : 0;
    const family = isIPv6(q.remoteAddress) ? 1 : 0;
    const type = q.qtype < 256 ? TYPE_INDEX[q.qtype]! : OTHER_TYPE;
    slots[reqBase + srv * reqSrv + z * reqZone + proto * reqProto + family * reqFamily + type] += 1;
    if (q.doBit) slots[doBase + srv * doSrv + z * doZone] += 1;
    observeInto(slots, durBase + srv * durSrv + z * durZone, times, (performance.now() - r.start) / 1000);
    observeInto(slots, rqsBase + srv * rqsSrv + z * rqsZone + proto * rqsProto, sizes, q.len);
    observeInto(slots, rssBase + srv * rssSrv + z * rssZone + proto * rssProto, sizes, r.responseLen);
    const plugin = r.plugin ?? '';
    if (plugin !== lastPlugin) {
      lastPlugin = plugin;
      lastIndex = pluginIndex.get(plugin) ?? 0;
    }
    const rcode = w.rcode < OTHER_RCODE ? w.rcode : OTHER_RCODE;
    slots[resBase + srv * resSrv + z * resZone + rcode * resRcode + lastIndex * resPlugin] += 1;
  };

  return {
    observe(q, w, r) {
      let z = 0;
      if (matcher !== null) {
        const m = matcher.match(q);
        if (m >= 0) z = zoneOf[m]!;
      }
      count(q, w, r, z);
    },
    unmatched(q, w, r) {
      count(q, w, r, dropped);
    },
  };
}
