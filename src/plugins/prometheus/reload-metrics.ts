// CoreDNS's reload metrics, read at scrape time from the plain values the reload plugin keeps
// (src/plugins/reload/metrics.ts), so reload does not depend on the metrics code.
import { metrics } from '../../metrics/index.ts';
import { reloadMetrics } from '../reload/metrics.ts';

const failed = metrics.counter({ name: 'coredns_reload_failed_total', help: 'Counter of the number of failed reload attempts.' });
const failedSlot = failed.series();
let shown = 0;
failed.onCollect(() => {
  failed.inc(failedSlot, reloadMetrics.failedTotal - shown);
  shown = reloadMetrics.failedTotal;
});

metrics.onPrometheus((prom, registry) => {
  new prom.Gauge({
    name: 'coredns_reload_version_info',
    help: 'A metric with a constant \'1\' value labeled by hash, and value which type of hash generated.',
    labelNames: ['hash', 'value'],
    registers: [registry],
    collect() {
      this.reset();
      if (reloadMetrics.versionHash !== null) this.set({ hash: 'sha512', value: reloadMetrics.versionHash }, 1);
    },
  });
});
