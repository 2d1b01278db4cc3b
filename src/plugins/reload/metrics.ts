// What the prometheus plugin exports for reload, kept as plain values so that it can read them
// at scrape time without reload depending on the metrics code:
//   coredns_reload_failed_total                          <- reloadMetrics.failedTotal
//   coredns_reload_version_info{hash="sha512",value=H}  1 <- reloadMetrics.versionHash (when set)

export const reloadMetrics = {
  /** Reload attempts that failed (unreadable or invalid Corefile, failed start); counted once per distinct failure. */
  failedTotal: 0,
  /**
   * SHA512 (hex) of the configuration the last reload tried, whether it succeeded or not; null
   * until the first reload (CoreDNS sets coredns_reload_version_info only from its first reload).
   */
  versionHash: null as string | null,
};
