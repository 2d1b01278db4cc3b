// Which of a server block's `bind` addresses a query came in on: CoreDNS runs one server per
// address, so per-server metrics (the `server` label) have one series per address.

/** Index of `localAddress` among the block's `addresses` (null: every address, one server): 0 when not found. */
export function listenerIndex(addresses: readonly string[] | null, localAddress: string): number {
  return addresses === null ? 0 : Math.max(0, addresses.indexOf(localAddress));
}
