// The probe's shared state: one SharedArrayBuffer per `loop` instance, seen by the primary and
// every worker (Int32 slots, read and written with Atomics).

/** Arrivals of the probe query counted by the workers (reset when a probe attempt fails). */
export const S_COUNT = 0;
/** 1 once probing is over: workers stop looking at HINFO queries. */
export const S_OFF = 1;
/** Taken (compareExchange) by the worker that sees the third arrival, so one reports. */
export const S_CLAIMED = 2;
/** 1 once that worker has written the sender's address below: a loop. */
export const S_DETECTED = 3;
export const S_PORT = 4;
export const S_ADDR_LEN = 5;
/** The sender's address, one UTF-16 unit per slot. */
export const S_ADDR = 6;
export const MAX_ADDR = 64;

export const STATE_BYTES = (S_ADDR + MAX_ADDR) * 4;

/** CoreDNS: more than two arrivals of the probe is a loop. */
export const MAX_SEEN = 2;
