// view (worker side): the block's expressions compiled into one filter the router asks before
// the chain runs (src/worker/runtime.ts ListenerRoute). A query no expression accepts goes on to
// the next block for its zone.
import type { Handler, WorkerEnv } from '../../plugin/types.ts';
import { compileExpression } from './expression.ts';
import { requestFunctions } from './functions.ts';

export interface ViewConfig {
  name: string;
  /** Every one must be true (CoreDNS: all of a view's expr lines). */
  expressions: string[];
  serverPort: number;
}

export default function create(config: ViewConfig, env: WorkerEnv): Handler {
  const meta = env.metadata;
  meta?.provide('view/name', () => config.name);
  const functions = requestFunctions({ serverPort: config.serverPort, metadata: (q, label) => meta?.value(q, label) ?? '' });
  const tests = config.expressions.map((e) => compileExpression(e, functions));
  const filter = tests.length === 1
    ? tests[0]!
    : (q: Parameters<Handler['filter'] & {}>[0]): boolean => {
        for (let i = 0; i < tests.length; i++) if (!tests[i]!(q)) return false;
        return true;
      };
  return { filter };
}
