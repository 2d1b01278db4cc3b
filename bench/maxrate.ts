// The search for the highest offered rate a server sustains within a loss and latency ceiling.
// Generic over the trial (an open-loop run at one rate), so it can be tested without a network;
// bench/loadgen.ts's findMaxRate() runs it with runLoad().
//
// Search: start at `startRate` (by default the closed-loop rate the caller measured, times 0.8,
// else minRate); while trials pass, multiply the rate by `growth`; while they fail, divide it.
// Once a passing and a failing rate bracket the answer, bisect until hi / lo <= 1 + tolerance or
// `maxTrials` trials have run. The answer is the highest rate of the bracket that passed. Rates
// never leave [minRate, maxRate].

export interface Ceilings {
  /** Highest acceptable share of queries unanswered within the timeout (e.g. 0.001). */
  maxLoss: number;
  /** Highest acceptable p99 latency, ms. */
  maxP99Ms: number;
}

/** What one trial measured; `rate` is what was offered. */
export interface TrialMeasure {
  rate: number;
  /** Answers per second. */
  qps: number;
  /** Queries actually sent per second (below `rate` when the generator cannot keep up). */
  sentQps: number;
  loss: number;
  latencyMs: { p50: number; p90: number; p99: number; p999: number; max: number };
  /** The generator sent < 97 % of `rate`: the trial says more about the generator. */
  generatorLag: boolean;
  /** Server CPU per answered query, when known. */
  cpuUsPerQuery?: number | null;
}

export type TrialVerdict = 'pass' | 'loss' | 'p99' | 'generator' | 'error';

export interface Trial extends TrialMeasure {
  ok: boolean;
  /** `pass`, or the first ceiling it broke (`generator`: the generator could not send the rate). */
  verdict: TrialVerdict;
  error?: string;
}

export interface SearchOptions extends Ceilings {
  minRate?: number;
  maxRate?: number;
  /** First rate tried; default minRate. */
  startRate?: number;
  /** Factor between bracketing trials, default 2. */
  growth?: number;
  /** Stop bisecting when hi / lo <= 1 + tolerance, default 0.05. */
  tolerance?: number;
  /** At most this many trials, default 10. */
  maxTrials?: number;
  /** Called after every trial (progress). */
  onTrial?: (t: Trial, index: number) => void;
}

export interface SearchResult {
  /** Highest rate that passed (0 when none did). */
  rate: number;
  /** Lowest rate that failed above `rate` (null when none did). */
  failedAt: number | null;
  /**
   * Why the search stopped: `converged` (bracket within tolerance), `max-rate` (the upper bound
   * passed: the real capacity is higher), `min-rate` (the lower bound failed), `trials` (out of
   * trials before converging), `generator` (the lowest failing rate failed only because the
   * generator could not send it: the capacity found is the generator's, not the server's).
   */
  limitedBy: 'converged' | 'max-rate' | 'min-rate' | 'trials' | 'generator';
  trials: Trial[];
  ceilings: Ceilings;
  bounds: { minRate: number; maxRate: number };
}

/** Judges a measurement against the ceilings. */
export function judge(m: TrialMeasure, c: Ceilings): Trial {
  let verdict: TrialVerdict = 'pass';
  if (m.generatorLag) verdict = 'generator';
  else if (m.loss > c.maxLoss) verdict = 'loss';
  else if (m.latencyMs.p99 > c.maxP99Ms) verdict = 'p99';
  return { ...m, ok: verdict === 'pass', verdict };
}

export async function searchMaxRate(trial: (rate: number) => Promise<TrialMeasure>, opts: SearchOptions): Promise<SearchResult> {
  const minRate = Math.max(1, Math.round(opts.minRate ?? 1000));
  const maxRate = Math.max(minRate, Math.round(opts.maxRate ?? 1_000_000));
  const growth = Math.max(1.05, opts.growth ?? 2);
  const tolerance = Math.max(0.001, opts.tolerance ?? 0.05);
  const maxTrials = Math.max(1, Math.floor(opts.maxTrials ?? 10));
  const ceilings: Ceilings = { maxLoss: opts.maxLoss, maxP99Ms: opts.maxP99Ms };
  const clamp = (r: number): number => Math.min(maxRate, Math.max(minRate, Math.round(r)));
  const trials: Trial[] = [];

  let lo = 0; // highest passing rate
  let hi = Infinity; // lowest failing rate
  let hiVerdict = 'pass' as TrialVerdict;
  const run = async (rate: number): Promise<boolean> => {
    let t: Trial;
    try {
      t = judge(await trial(rate), ceilings);
    } catch (err) {
      t = {
        rate,
        qps: 0,
        sentQps: 0,
        loss: 1,
        latencyMs: { p50: 0, p90: 0, p99: 0, p999: 0, max: 0 },
        generatorLag: false,
        ok: false,
        verdict: 'error',
        error: err instanceof Error ? err.message : String(err),
      };
    }
    trials.push(t);
    opts.onTrial?.(t, trials.length - 1);
    if (t.ok) lo = Math.max(lo, rate);
    else if (rate < hi) {
      hi = rate;
      hiVerdict = t.verdict;
    }
    if (t.verdict === 'error') throw new Error(t.error);
    return t.ok;
  };

  // Bracket.
  let rate = clamp(opts.startRate ?? minRate);
  while (trials.length < maxTrials) {
    const ok = await run(rate);
    if (lo > 0 && hi < Infinity) break;
    if (ok) {
      if (rate >= maxRate) break;
      rate = clamp(rate * growth);
    } else {
      if (rate <= minRate) break;
      rate = clamp(rate / growth);
    }
  }
  // Bisect.
  while (lo > 0 && hi < Infinity && hi / lo > 1 + tolerance && trials.length < maxTrials) {
    const mid = Math.round((lo + hi) / 2);
    if (mid <= lo || mid >= hi) break;
    await run(mid);
  }

  let limitedBy: SearchResult['limitedBy'];
  if (lo === 0) limitedBy = 'min-rate';
  else if (hi === Infinity) limitedBy = lo >= maxRate ? 'max-rate' : 'trials';
  else if (hiVerdict === 'generator') limitedBy = 'generator';
  else limitedBy = hi / lo <= 1 + tolerance ? 'converged' : 'trials';
  if (lo === 0 && trials.every((t) => t.rate > minRate) && trials.length >= maxTrials) limitedBy = 'trials';
  return { rate: lo, failedAt: hi === Infinity ? null : hi, limitedBy, trials, ceilings, bounds: { minRate, maxRate } };
}
