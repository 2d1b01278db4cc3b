// prometheus [ADDRESS]: serves every metric on ADDRESS/metrics (default localhost:9153, as
// CoreDNS) and counts this server block's queries with CoreDNS's metric names, labels and
// buckets. The counting is a worker observer writing the worker's own metrics block; the
// primary sums the blocks when it is scraped (src/metrics).
import type { PluginDefinition } from '../../plugin/types.ts';
import type { Transport } from '../../worker/config.ts';
import { eachOption, maxArgs } from '../../plugin/args.ts';
import { HttpEndpoint, parseHttpAddress } from '../../plugin/http-endpoint.ts';
import { SIZE_BUCKETS, TIME_BUCKETS, enablePlugins, metrics, type SeriesGrid } from '../../metrics/index.ts';
import { FAMILIES, NOT_HANDLERS, PROTOS, RCODES, TYPES } from './labels.ts';
import './reload-metrics.ts';

/** What the worker observer gets: the grids of its block's series (see handler.ts). */
export interface PrometheusConfig {
  /** The block's zones; index i is the zone label value at index i of every grid (then "dropped"). */
  zones: string[];
  /** The block's `bind` addresses, in the order of the `server` label values; null: every address. */
  addresses: string[] | null;
  /** Values of the `plugin` label: '' (the server wrote the response), then the block's plugins. */
  plugins: string[];
  requests: SeriesGrid;
  doRequests: SeriesGrid;
  duration: SeriesGrid;
  requestSize: SeriesGrid;
  responseSize: SeriesGrid;
  responses: SeriesGrid;
}

export const DEFAULT_ADDRESS = 'localhost:9153';
/** CoreDNS's vars.Dropped: the zone label of queries no server block's zone matched. */
const DROPPED_ZONE = 'dropped';

const requests = metrics.counter({
  name: 'coredns_dns_requests_total',
  help: 'Counter of DNS requests made per zone, protocol and family.',
  labelNames: ['server', 'zone', 'view', 'proto', 'family', 'type'],
});
const doRequests = metrics.counter({
  name: 'coredns_dns_do_requests_total',
  help: 'Counter of DNS requests with DO bit set per zone.',
  labelNames: ['server', 'zone', 'view'],
});
const duration = metrics.histogram({
  name: 'coredns_dns_request_duration_seconds',
  help: 'Histogram of the time (in seconds) each request took per zone.',
  labelNames: ['server', 'zone', 'view'],
  buckets: TIME_BUCKETS,
});
const requestSize = metrics.histogram({
  name: 'coredns_dns_request_size_bytes',
  help: 'Size of the EDNS0 UDP buffer in bytes (64K for TCP) per zone and protocol.',
  labelNames: ['server', 'zone', 'view', 'proto'],
  buckets: SIZE_BUCKETS,
});
const responseSize = metrics.histogram({
  name: 'coredns_dns_response_size_bytes',
  help: 'Size of the returned response in bytes.',
  labelNames: ['server', 'zone', 'view', 'proto'],
  buckets: SIZE_BUCKETS,
});
const responses = metrics.counter({
  name: 'coredns_dns_responses_total',
  help: 'Counter of response status codes.',
  labelNames: ['server', 'zone', 'view', 'rcode', 'plugin'],
});

/**
 * CoreDNS's `server` label: the scheme, the listen address and port (`dns://:53` for all
 * addresses, `tls://:853`, `https://127.0.0.1:443`).
 */
export function serverLabel(host: string, port: number, transport: Transport = 'dns'): string {
  return `${transport}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export const prometheus: PluginDefinition = {
  name: 'prometheus',
  summary: 'Prometheus metrics on /metrics (default localhost:9153), with CoreDNS\'s names and labels',
  setup(ctx) {
    const d = ctx.directive;
    maxArgs(d, 1, 'prometheus [ADDRESS]');
    eachOption(d, {});
    const addr = parseHttpAddress(d.args[0], DEFAULT_ADDRESS);
    const { zones, port, transport } = ctx.block;
    // The `view` label: the block's view name, '' without one (as CoreDNS).
    const VIEW = ctx.block.view ?? '';
    const hosts = ctx.addresses ?? [''];
    // CoreDNS runs one server per `bind` address, each with its own `server` label; the worker
    // tells them apart by the address of the listener a query came in on.
    const server = hosts.map((h) => serverLabel(h, port, transport));
    const handlers = (ctx.plugins ?? ['prometheus']).filter((p) => !NOT_HANDLERS.has(p));
    const plugins = ['', ...handlers];
    // Queries on this block's address that no block's zone matched (REFUSED) count under zone
    // "dropped", as CoreDNS's server does.
    const zoneLabels = [...zones, DROPPED_ZONE];
    const config: PrometheusConfig = {
      zones,
      addresses: ctx.addresses ?? null,
      plugins,
      requests: requests.grid([server, zoneLabels, [VIEW], PROTOS, FAMILIES, TYPES]),
      doRequests: doRequests.grid([server, zoneLabels, [VIEW]]),
      duration: duration.grid([server, zoneLabels, [VIEW]]),
      requestSize: requestSize.grid([server, zoneLabels, [VIEW], PROTOS]),
      responseSize: responseSize.grid([server, zoneLabels, [VIEW], PROTOS]),
      responses: responses.grid([server, zoneLabels, [VIEW], RCODES, plugins]),
    };
    // coredns_plugin_enabled: every chain plugin of the block, per listen address and zone.
    const enabledSeries = server.flatMap((label) => zones.flatMap((zone) => handlers.map((name) => ({ server: label, zone, view: VIEW, name }))));
    let release: (() => void) | null = null;
    const endpoint = new HttpEndpoint(addr, '/metrics', (_req, res) => {
      metrics.render().then(
        ({ contentType, text }) => res.writeHead(200, { 'content-type': contentType }).end(text),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`${err.message}\n`),
      );
    });
    return {
      worker: { module: new URL('./handler.ts', import.meta.url).href, config },
      primary: {
        start: async () => {
          await metrics.prometheus();
          release = enablePlugins(enabledSeries);
          await endpoint.start();
        },
        stop: async () => {
          release?.();
          release = null;
          await endpoint.stop();
        },
      },
    };
  },
};
