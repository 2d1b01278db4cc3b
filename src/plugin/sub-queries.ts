// Answering a query from sub-queries run through the rest of the chain (RequestState.subChain):
// synchronously while they all answer at once (names from tables), else the client's query is
// deferred at the first sub-query that waits (forward) and answered when the last one is in.
// For the plugins that ask the chain other questions before they answer (autopath, dns64).
import { RCODE } from '../dns/constants.ts';
import type { Query } from '../dns/query.ts';
import type { ResponseWriter } from '../dns/response.ts';
import { ASYNC, NEXT, type Pending, type RequestState, type SubChain } from './types.ts';

/**
 * How the sub-queries ended: an answer (written by `write` into a started-afresh writer for the
 * client's query), `next` (the client's query goes on to the next plugin, as if this one had
 * passed it), or a plugin's error (SERVFAIL).
 */
export type SubOutcome = { write(q: Query, out: ResponseWriter): void } | { error: string } | 'next';

/**
 * Runs `begin` with the rest of the chain and a callback to call once, with the outcome; returns
 * serve()'s verdict. Inside serve() only.
 */
export function answerFromSubQueries(q: Query, w: ResponseWriter, r: RequestState, plugin: string, begin: (chain: SubChain, end: (o: SubOutcome) => void) => void): number {
  let pending: Pending | null = null;
  let result: SubOutcome | null = null;
  const end = (o: SubOutcome): void => {
    if (result !== null) return;
    result = o;
    if (pending !== null) deliver(pending, o, plugin);
  };
  begin(r.subChain(), end);
  if (result === null) {
    pending = r.defer();
    return ASYNC;
  }
  const o = result as SubOutcome;
  if (o === 'next') return NEXT;
  if ('error' in o) {
    r.error = o.error;
    w.start(q, RCODE.SERVFAIL, 0);
    return RCODE.SERVFAIL;
  }
  o.write(q, w);
  return w.rcode;
}

function deliver(p: Pending, o: SubOutcome, plugin: string): void {
  try {
    if (o === 'next') return p.next();
    if ('error' in o) return p.fail(RCODE.SERVFAIL, o.error);
    const out = p.writer(65535);
    o.write(p.q, out);
    p.send(out);
  } catch (err) {
    // A callback of the runtime's: nothing above it would answer the client.
    p.fail(RCODE.SERVFAIL, `plugin/${plugin}: ${(err as Error).message}`);
  }
}
