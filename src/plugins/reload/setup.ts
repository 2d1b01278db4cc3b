// reload [INTERVAL [JITTER]]: check the Corefile every INTERVAL (+/- JITTER/2) and, when it
// changed, replace the running configuration with the new one without dropping a query; an
// invalid new Corefile leaves the running one in place. The check itself lives in reloader.ts
// (run by the CLI, which owns the running server); setup only validates the directive and
// carries the chosen interval in its primary part.
import type { PluginDefinition, PrimaryPart } from '../../plugin/types.ts';
import type { Plan } from '../../config/plan.ts';
import { fail, maxArgs, noBlock, parseDuration } from '../../plugin/args.ts';

const DEFAULT_INTERVAL_MS = 30_000;
const DEFAULT_JITTER_MS = 15_000;
/** CoreDNS's minimums: INTERVAL 2s; JITTER 1s, or 0 for none. */
const MIN_INTERVAL_MS = 2_000;
const MIN_JITTER_MS = 1_000;

/**
 * For tests only: KDNS_RELOAD_MIN_INTERVAL_MS lowers the minimum INTERVAL (and the minimum
 * non-zero JITTER to half of it), so a test can reload several times in a few seconds.
 */
function minimums(): { interval: number; jitter: number } {
  const env = Number(process.env.KDNS_RELOAD_MIN_INTERVAL_MS);
  if (Number.isFinite(env) && env > 0 && env < MIN_INTERVAL_MS) return { interval: env, jitter: Math.min(MIN_JITTER_MS, env / 2) };
  return { interval: MIN_INTERVAL_MS, jitter: MIN_JITTER_MS };
}

/** The check interval (jitter applied) of each `reload` directive's primary part. */
const intervals = new WeakMap<PrimaryPart, number>();

export const reload: PluginDefinition = {
  name: 'reload',
  summary: 'reloads the Corefile (and its imports) when it changes, without dropping queries',
  setup(ctx) {
    const d = ctx.directive;
    maxArgs(d, 2, 'reload [INTERVAL [JITTER]]');
    noBlock(d);
    const min = minimums();
    let interval = DEFAULT_INTERVAL_MS;
    if (d.args[0]) {
      interval = parseDuration(d.args[0]);
      if (interval < min.interval) fail(d.args[0], `reload interval must be at least ${min.interval / 1000}s`, 'e.g. reload 30s');
    }
    let jitter = DEFAULT_JITTER_MS;
    if (d.args[1]) {
      jitter = parseDuration(d.args[1]);
      if (jitter !== 0 && jitter < min.jitter) fail(d.args[1], `reload jitter must be 0 or at least ${min.jitter / 1000}s`, 'e.g. reload 30s 15s');
    }
    // As CoreDNS: JITTER is capped at INTERVAL/2, and the interval moves by up to +/- JITTER/2,
    // chosen once per configuration load, so replicas that share a Corefile spread their reloads.
    jitter = Math.min(jitter, interval / 2);
    const part: PrimaryPart = {};
    intervals.set(part, interval + (jitter > 0 ? Math.random() * jitter - jitter / 2 : 0));
    return { primary: part };
  },
};

/**
 * The check interval `plan` asks for, or null when no server block has `reload`. `reload`
 * applies to the whole Corefile; when several blocks give it, the last one's interval counts
 * (CoreDNS keeps one setting that each block's setup overwrites).
 */
export function reloadInterval(plan: Plan): number | null {
  let ms: number | null = null;
  for (const s of plan.servers) for (const p of s.primaries) ms = intervals.get(p.part) ?? ms;
  return ms;
}
