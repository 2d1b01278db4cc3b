// Shared metrics, primary side (see README.md). Worker code imports ./worker.ts (and
// ./buckets.ts) only.
export { metrics, MetricsRegistry, type PromClient, type PromInstaller } from './registry.ts';
export type { HistogramOptions, LabelValues, MetricOptions, SeriesGrid } from './shared.ts';
export { SharedCounter, SharedGauge, SharedHistogram } from './shared.ts';
export { SIZE_BUCKETS, TIME_BUCKETS, exponentialBuckets } from './buckets.ts';
export { attachServer, closeWorkerBlock, countWorkerDeath, countWorkerRestart, enablePlugins, openWorkerBlock, type ServerSource } from './server.ts';
export { PANICS_SLOT, histogramWidth } from './worker.ts';
