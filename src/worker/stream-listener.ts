// Closing a TCP, DoT or DoH listener the way CoreDNS's servers shut down: stop accepting, let each
// open connection finish the answers it owes (and no more), then close it; what is still open
// after DRAIN_MS is cut. Worker stop (shutdown, reload, the old workers of a reload) waits here.
import type net from 'node:net';

/** Past forward's 5 s deadline, so even its SERVFAIL for a silent upstream is delivered. */
const DRAIN_MS = 6000;

export interface StreamListener {
  close(): Promise<void>;
}

/**
 * Stops `server` accepting and calls `drain` (ask each connection to end once answered);
 * resolves when every connection is gone, after calling `kill` if they take longer than DRAIN_MS.
 */
export function closeListener(server: net.Server, drain: () => void, kill: () => void): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(kill, DRAIN_MS);
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    drain();
  });
}
