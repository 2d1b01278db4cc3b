// Histogram bucket bounds CoreDNS uses (plugin/plugin.go TimeBuckets, plugin/metrics/vars).

/** prometheus.ExponentialBuckets(start, factor, count). */
export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  const out: number[] = [];
  for (let i = 0, v = start; i < count; i++, v *= factor) out.push(v);
  return out;
}

/** CoreDNS's plugin.TimeBuckets: 0.25 ms doubling 16 times, up to 8.192 s. */
export const TIME_BUCKETS: readonly number[] = exponentialBuckets(0.00025, 2, 16);

/** coredns_dns_request_size_bytes / response_size_bytes. */
export const SIZE_BUCKETS: readonly number[] = [0, 100, 200, 300, 400, 511, 1023, 2047, 4095, 8291, 16e3, 32e3, 48e3, 64e3];
