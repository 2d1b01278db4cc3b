// The primary's young-generation cap (bin/node-flags.js) must not reach the workers. V8 reads
// --max-semi-space-size when an isolate's heap is set up, and a set flag wins over a Worker's
// resourceLimits.maxYoungGenerationSizeMb, so with it a worker's new space would be the primary's
// size whatever -worker.young-mb says. Setting it back to 0 (V8's own sizing) after the primary's
// heap exists leaves the primary capped and lets each worker's resourceLimits decide (measured:
// primary new space 4 MiB, workers 2 MiB with -worker.young-mb 3 and 8 MiB with 12).
import v8 from 'node:v8';

/** Idempotent; a no-op when the flag was not given (0 is its default). */
export function keepYoungGenerationCapToPrimary(): void {
  v8.setFlagsFromString('--max-semi-space-size=0');
}
