// Renders a capacity report (bench/capacity.ts JSON) as one self-contained HTML page: tables and
// inline SVG plots drawn here (no scripts, fonts, styles or images from anywhere else).
//
//   node bench/report-html.ts bench/out/capacity-XXXX.json [--out FILE.html]
//
// Plots: max rate within the ceilings per target; latency by percentile at the fixed rate (the
// HdrHistogram view: log x axis from p50 to p99.999); offered rate vs p99 latency (every trial of
// the max-rate searches, and the fixed-rate runs); kdns's per-worker share of the queries.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CapacityReport, TargetSummary } from './capacity.ts';

// ---- helpers ----

/** How the fixed-rate run's rate was chosen, for headings: `20000 q/s` or `0.5 × max rate`. */
export function fixedRateText(c: Pick<CapacityReport['config'], 'rate' | 'rateOfMax'>): string {
  return c.rateOfMax !== null ? `${c.rateOfMax} × max rate` : `${c.rate} q/s`;
}

export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Escapes, then turns `x` into <code>x</code>. */
function codeSpans(s: string): string {
  return esc(s).replace(/`([^`]+)`/g, '<code>$1</code>');
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];

/** Stable colours: kdns targets blue/purple shades, kube-dns orange, coredns green, minimal grey, others the rest. */
export function colours(names: string[], kinds: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  const kdns = ['#1f4e9c', '#4a90d9', '#7b4fc9', '#9fc5f0'];
  const rest = ['#8c564b', '#e377c2', '#17becf', '#bcbd22', '#d62728'];
  let ki = 0;
  let ri = 0;
  for (const n of names) {
    const k = kinds[n];
    if (k === 'kdns') out[n] = kdns[ki++ % kdns.length]!;
    else if (k === 'kube-dns') out[n] = '#ff7f0e';
    else if (k === 'dnsmasq') out[n] = '#d4a017';
    else if (k === 'coredns') out[n] = '#2ca02c';
    else if (k === 'minimal') out[n] = '#7f7f7f';
    else out[n] = rest[ri++ % rest.length] ?? PALETTE[ri % PALETTE.length]!;
  }
  return out;
}

const fmtNum = (x: number): string => {
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e6) return `${+(x / 1e6).toPrecision(3)}M`;
  if (a >= 1e3) return `${+(x / 1e3).toPrecision(3)}k`;
  if (a >= 1) return `${+x.toPrecision(3)}`;
  return `${+x.toPrecision(2)}`;
};

/** 1-2-5 ticks covering [lo, hi] for a log axis. */
function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)) - 1; e <= Math.ceil(Math.log10(hi)) + 1; e++) {
    for (const m of [1, 2, 5]) {
      const v = m * Math.pow(10, e);
      if (v >= lo * 0.999 && v <= hi * 1.001) out.push(+v.toPrecision(3));
    }
  }
  return out;
}

/** The 1-2-5 value at or below (down) / at or above (up) x, for log axis bounds. */
function nice125(x: number, up: boolean): number {
  const e = Math.floor(Math.log10(x));
  const steps = [1, 2, 5, 10].map((m) => m * Math.pow(10, e));
  return up ? steps.find((v) => v >= x * 0.9999)! : [...steps].reverse().find((v) => v <= x * 1.0001)!;
}

/** ~n "nice" ticks over [0, hi] for a linear axis. */
function linTicks(hi: number, n = 6): number[] {
  if (!(hi > 0)) return [0];
  const raw = hi / n;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => hi / s <= n) ?? 10 * mag;
  const out: number[] = [];
  // Up to the first tick at or above hi, so the axis covers every point.
  for (let v = 0; ; v += step) {
    out.push(+v.toPrecision(6));
    if (v >= hi * 0.9999) break;
  }
  return out;
}

interface Frame {
  w: number;
  h: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

const FRAME: Frame = { w: 860, h: 380, left: 70, right: 170, top: 30, bottom: 55 };

function svgOpen(f: Frame, title: string, id: string): string {
  return `<svg id="${esc(id)}" class="plot" width="${f.w}" height="${f.h}" viewBox="0 0 ${f.w} ${f.h}" role="img" aria-label="${esc(title)}"><title>${esc(title)}</title>
<rect x="0" y="0" width="${f.w}" height="${f.h}" fill="#fff"/>
<text x="${Math.min(f.left, FRAME.left)}" y="18" class="ptitle">${esc(title)}</text>`;
}

function legend(f: Frame, items: { label: string; colour: string; dash?: string; marker?: boolean; noLine?: boolean }[]): string {
  const x = f.w - f.right + 16;
  let s = '';
  items.forEach((it, i) => {
    const y = f.top + 10 + i * 20;
    if (!it.noLine) s += `<line x1="${x}" y1="${y}" x2="${x + 22}" y2="${y}" stroke="${it.colour}" stroke-width="2.5"${it.dash ? ` stroke-dasharray="${it.dash}"` : ''}/>`;
    if (it.marker) s += `<circle cx="${x + 11}" cy="${y}" r="${it.noLine ? 5 : 3.5}" fill="${it.colour}"/>`;
    s += `<text x="${x + 28}" y="${y + 4}" class="leg">${esc(it.label)}</text>`;
  });
  return s;
}

function axisLabels(f: Frame, xLabel: string, yLabel: string): string {
  const pw = f.w - f.left - f.right;
  const ph = f.h - f.top - f.bottom;
  return `<text x="${f.left + pw / 2}" y="${f.h - 10}" text-anchor="middle" class="alabel">${esc(xLabel)}</text>
<text transform="translate(16 ${f.top + ph / 2}) rotate(-90)" text-anchor="middle" class="alabel">${esc(yLabel)}</text>
<rect x="${f.left}" y="${f.top}" width="${pw}" height="${ph}" fill="none" stroke="#444"/>`;
}

// ---- plots ----

/** Latency by percentile: x = log10(1 / (1 - p)), from p50 to the data's resolution; y log ms. */
export function percentilePlot(r: CapacityReport, col: Record<string, string>): string {
  const f = FRAME;
  const series = r.summary.filter((s) => s.fixed && s.fixed.curve.length > 0);
  const title = `Latency by percentile at ${fixedRateText(r.config)} (fixed rate, all rounds merged)`;
  if (!series.length) return `<p class="na">${esc(title)}: no data.</p>`;
  const X = (p: number): number => Math.log10(1 / Math.max(1e-7, 1 - p / 100));
  const xMin = X(50);
  let xMax = X(99.9);
  let yLo = Infinity;
  let yHi = 0;
  for (const s of series) {
    for (const [p, ms] of s.fixed!.curve) {
      if (p < 50) continue;
      xMax = Math.max(xMax, Math.min(X(p), X(99.9999)));
      if (ms > 0) {
        yLo = Math.min(yLo, ms);
        yHi = Math.max(yHi, ms);
      }
    }
  }
  if (!(yHi > 0)) return `<p class="na">${esc(title)}: no data.</p>`;
  yLo = nice125(yLo * 0.95, false);
  yHi = nice125(yHi * 1.05, true);
  if (yHi / yLo < 5) yHi = nice125(yLo * 5, true);
  const pw = f.w - f.left - f.right;
  const ph = f.h - f.top - f.bottom;
  const sx = (x: number): number => f.left + ((x - xMin) / (xMax - xMin)) * pw;
  const sy = (ms: number): number => f.top + ph - ((Math.log10(Math.max(ms, yLo)) - Math.log10(yLo)) / (Math.log10(yHi) - Math.log10(yLo))) * ph;
  let s = svgOpen(f, title, 'plot-percentiles');
  for (const [p, label] of [[50, '50%'], [90, '90%'], [99, '99%'], [99.9, '99.9%'], [99.99, '99.99%'], [99.999, '99.999%'], [99.9999, '99.9999%']] as const) {
    if (X(p) > xMax + 1e-9) continue;
    const x = sx(X(p));
    s += `<line x1="${x}" y1="${f.top}" x2="${x}" y2="${f.top + ph}" class="grid"/><text x="${x}" y="${f.top + ph + 16}" text-anchor="middle" class="tick">${label}</text>`;
  }
  for (const t of logTicks(yLo, yHi)) {
    const y = sy(t);
    s += `<line x1="${f.left}" y1="${y}" x2="${f.left + pw}" y2="${y}" class="grid"/><text x="${f.left - 6}" y="${y + 4}" text-anchor="end" class="tick">${fmtNum(t)}</text>`;
  }
  for (const ser of series) {
    const pts = ser.fixed!.curve.filter(([p]) => p >= 50).map(([p, ms]) => `${sx(Math.min(X(p), xMax)).toFixed(1)},${sy(ms).toFixed(1)}`);
    s += `<polyline points="${pts.join(' ')}" fill="none" stroke="${col[ser.name]}" stroke-width="2" class="series" data-target="${esc(ser.name)}"/>`;
  }
  s += axisLabels(f, 'percentile (log scale of 1 / (1 − p))', 'latency, ms (log)');
  s += legend(f, series.map((x) => ({ label: x.name, colour: col[x.name]! })));
  return `${s}</svg>`;
}

interface RatePoint {
  target: string;
  round: number;
  rate: number;
  qps: number;
  p99: number;
  p50: number;
  loss: number;
  ok: boolean;
  fixed: boolean;
}

export function ratePoints(r: CapacityReport): RatePoint[] {
  const out: RatePoint[] = [];
  for (const run of r.runs) {
    if (!run.ok) continue;
    for (const t of run.search?.trials ?? []) {
      out.push({ target: run.target, round: run.round, rate: t.rate, qps: t.qps, p99: t.latencyMs.p99, p50: t.latencyMs.p50, loss: t.loss, ok: t.ok, fixed: false });
    }
    const f = run.fixed;
    if (f && f.offeredQps) {
      const ok = f.loss <= r.config.ceilings.maxLoss && f.latencyMs.p99 <= r.config.ceilings.maxP99Ms && !f.generatorLag;
      out.push({ target: run.target, round: run.round, rate: f.offeredQps, qps: f.qps, p99: f.latencyMs.p99, p50: f.latencyMs.p50, loss: f.loss, ok, fixed: true });
    }
  }
  return out;
}

/** Offered rate (linear) vs p99 (log), every trial; filled = within the ceilings, hollow = not. */
export function ratePlot(r: CapacityReport, col: Record<string, string>): string {
  const f = FRAME;
  const title = 'p99 latency vs offered rate (every search trial and fixed-rate run, all rounds)';
  const pts = ratePoints(r);
  if (!pts.length) return `<p class="na">${esc(title)}: no data.</p>`;
  const xHi = linTicks(Math.max(...pts.map((p) => p.rate)) * 1.05).at(-1)!;
  const ys = pts.map((p) => p.p99).filter((y) => y > 0);
  const ceiling = r.config.ceilings.maxP99Ms;
  const yLo = Math.max(0.001, nice125(Math.min(...ys, ceiling) * 0.95, false));
  let yHi = nice125(Math.max(...ys, ceiling) * 1.05, true);
  if (yHi / yLo < 10) yHi = nice125(yLo * 10, true);
  const pw = f.w - f.left - f.right;
  const ph = f.h - f.top - f.bottom;
  const sx = (x: number): number => f.left + (x / xHi) * pw;
  const sy = (ms: number): number => f.top + ph - ((Math.log10(Math.min(Math.max(ms, yLo), yHi)) - Math.log10(yLo)) / (Math.log10(yHi) - Math.log10(yLo))) * ph;
  let s = svgOpen(f, title, 'plot-rate');
  for (const t of linTicks(xHi)) {
    const x = sx(t);
    s += `<line x1="${x}" y1="${f.top}" x2="${x}" y2="${f.top + ph}" class="grid"/><text x="${x}" y="${f.top + ph + 16}" text-anchor="middle" class="tick">${fmtNum(t)}</text>`;
  }
  for (const t of logTicks(yLo, yHi)) {
    const y = sy(t);
    s += `<line x1="${f.left}" y1="${y}" x2="${f.left + pw}" y2="${y}" class="grid"/><text x="${f.left - 6}" y="${y + 4}" text-anchor="end" class="tick">${fmtNum(t)}</text>`;
  }
  const cy = sy(ceiling);
  s += `<line x1="${f.left}" y1="${cy}" x2="${f.left + pw}" y2="${cy}" stroke="#c00" stroke-dasharray="6 4" stroke-width="1.2"/><text x="${f.left + 6}" y="${cy - 5}" class="tick" style="fill:#c00">p99 ceiling ${ceiling} ms</text>`;
  const targets = [...new Set(pts.map((p) => p.target))];
  for (const t of targets) {
    const mine = pts.filter((p) => p.target === t).sort((a, b) => a.rate - b.rate);
    // The median max rate found, as a triangle on the x axis.
    const m = r.summary.find((x) => x.name === t)?.maxRate;
    if (m && m.median > 0) {
      const x = sx(m.median);
      const yb = f.top + ph;
      s += `<path d="M${x.toFixed(1)} ${yb - 9} l-5 9 h10 z" fill="${col[t]}" stroke="#fff" stroke-width="0.8"><title>${esc(`${t}: max rate ${m.median} q/s (median)`)}</title></path>`;
    }
    for (const p of mine) {
      const x = sx(p.rate).toFixed(1);
      const y = sy(p.p99 > 0 ? p.p99 : yHi).toFixed(1);
      const tip = `${t} round ${p.round}${p.fixed ? ' (fixed rate)' : ''}: offered ${p.rate} q/s, answered ${p.qps}/s, p99 ${p.p99} ms, loss ${(p.loss * 100).toFixed(3)}%`;
      const shape = p.fixed
        ? `<rect x="${+x - 4}" y="${+y - 4}" width="8" height="8" fill="${p.ok ? col[t] : '#fff'}" stroke="${col[t]}" stroke-width="1.5">`
        : `<circle cx="${x}" cy="${y}" r="4" fill="${p.ok ? col[t] : '#fff'}" stroke="${col[t]}" stroke-width="1.5">`;
      s += `${shape}<title>${esc(tip)}</title>${p.fixed ? '</rect>' : '</circle>'}`;
    }
  }
  s += axisLabels(f, 'offered rate, queries/s', 'p99 latency, ms (log)');
  s += legend(f, [...targets.map((t) => ({ label: t, colour: col[t]!, marker: true, noLine: true }))]);
  const ly = f.top + 10 + targets.length * 20 + 10;
  const lx = f.w - f.right + 16;
  s += `<circle cx="${lx + 6}" cy="${ly}" r="4" fill="#555"/><text x="${lx + 16}" y="${ly + 4}" class="leg">within ceilings</text>`;
  s += `<circle cx="${lx + 6}" cy="${ly + 18}" r="4" fill="#fff" stroke="#555" stroke-width="1.5"/><text x="${lx + 16}" y="${ly + 22}" class="leg">over a ceiling</text>`;
  s += `<rect x="${lx + 2}" y="${ly + 32}" width="8" height="8" fill="#555"/><text x="${lx + 16}" y="${ly + 40}" class="leg">fixed-rate run</text>`;
  s += `<path d="M${lx + 6} ${ly + 50} l-5 9 h10 z" fill="#555"/><text x="${lx + 16}" y="${ly + 58}" class="leg">max rate (median)</text>`;
  return `${s}</svg>`;
}

/** Horizontal bars: median max rate per target, with min–max whiskers over rounds. */
export function maxRatePlot(r: CapacityReport, col: Record<string, string>): string {
  const rows = r.summary.filter((s) => s.maxRate);
  const title = `Max rate with loss ≤ ${(r.config.ceilings.maxLoss * 100).toFixed(2)}% and p99 ≤ ${r.config.ceilings.maxP99Ms} ms (median, min–max over rounds)`;
  if (!rows.length) return `<p class="na">${esc(title)}: no search was run.</p>`;
  const f: Frame = { w: FRAME.w, h: 60 + rows.length * 34 + 40, left: 110, right: 90, top: 34, bottom: 40 };
  const pw = f.w - f.left - f.right;
  const xHi = linTicks(Math.max(...rows.map((s) => s.maxRate!.max), 1) * 1.05).at(-1)!;
  const sx = (x: number): number => f.left + (x / xHi) * pw;
  let s = svgOpen(f, title, 'plot-maxrate');
  const ph = f.h - f.top - f.bottom;
  for (const t of linTicks(xHi)) {
    const x = sx(t);
    s += `<line x1="${x}" y1="${f.top}" x2="${x}" y2="${f.top + ph}" class="grid"/><text x="${x}" y="${f.top + ph + 16}" text-anchor="middle" class="tick">${fmtNum(t)}</text>`;
  }
  rows.forEach((row, i) => {
    const m = row.maxRate!;
    const y = f.top + 10 + i * 34;
    s += `<text x="${f.left - 8}" y="${y + 15}" text-anchor="end" class="leg">${esc(row.name)}</text>`;
    s += `<rect x="${f.left}" y="${y}" width="${Math.max(0, sx(m.median) - f.left)}" height="20" fill="${col[row.name]}" class="bar" data-target="${esc(row.name)}"/>`;
    s += `<line x1="${sx(m.min)}" y1="${y + 10}" x2="${sx(m.max)}" y2="${y + 10}" stroke="#222" stroke-width="1.5"/><line x1="${sx(m.min)}" y1="${y + 4}" x2="${sx(m.min)}" y2="${y + 16}" stroke="#222"/><line x1="${sx(m.max)}" y1="${y + 4}" x2="${sx(m.max)}" y2="${y + 16}" stroke="#222"/>`;
    const lim = [...new Set(m.limitedBy.filter((x) => x !== 'converged' && x !== 'trials'))];
    s += `<text x="${Math.max(sx(m.max), sx(m.median)) + 6}" y="${y + 15}" class="leg">${fmtNum(m.median)}${lim.length ? ` (${esc(lim.join(', '))})` : ''}</text>`;
  });
  s += `<text x="${f.left + pw / 2}" y="${f.h - 8}" text-anchor="middle" class="alabel">queries/s</text>`;
  return `${s}</svg>`;
}

/** Per-worker share of kdns's queries during the fixed-rate runs (kdns_worker_queries_total). */
export function workerPlot(r: CapacityReport, col: Record<string, string>): string {
  const title = `kdns queries per worker at ${fixedRateText(r.config)} (kdns_worker_queries_total, all rounds)`;
  const kdns = r.summary.filter((s) => s.isKdns);
  if (!kdns.length) return `<p class="na">${esc(title)}: no kdns target.</p>`;
  const rows: { label: string; share: number | null; colour: string; n: number }[] = [];
  for (const s of kdns) {
    if (!s.workers || !Object.keys(s.workers.perWorker).length) {
      rows.push({ label: `${s.name}: n/a`, share: null, colour: col[s.name]!, n: 0 });
      continue;
    }
    const ws = Object.keys(s.workers.perWorker).sort((a, b) => Number(a) - Number(b));
    for (const w of ws) rows.push({ label: `${s.name} worker ${w}`, share: s.workers.shares[w] ?? 0, colour: col[s.name]!, n: ws.length });
  }
  const f: Frame = { w: FRAME.w, h: 60 + rows.length * 28 + 40, left: 160, right: 90, top: 34, bottom: 40 };
  const pw = f.w - f.left - f.right;
  const ph = f.h - f.top - f.bottom;
  const sx = (x: number): number => f.left + x * pw;
  let s = svgOpen(f, title, 'plot-workers');
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    const x = sx(t);
    s += `<line x1="${x}" y1="${f.top}" x2="${x}" y2="${f.top + ph}" class="grid"/><text x="${x}" y="${f.top + ph + 16}" text-anchor="middle" class="tick">${t * 100}%</text>`;
  }
  rows.forEach((row, i) => {
    const y = f.top + 8 + i * 28;
    s += `<text x="${f.left - 8}" y="${y + 14}" text-anchor="end" class="leg">${esc(row.label)}</text>`;
    if (row.share === null) {
      s += `<text x="${f.left + 6}" y="${y + 14}" class="leg na">no kdns_worker_queries_total on /metrics</text>`;
      return;
    }
    s += `<rect x="${f.left}" y="${y}" width="${Math.max(0, sx(row.share) - f.left)}" height="18" fill="${row.colour}" class="bar"/>`;
    s += `<line x1="${sx(1 / row.n)}" y1="${y - 3}" x2="${sx(1 / row.n)}" y2="${y + 21}" stroke="#c00" stroke-dasharray="3 2"/>`;
    s += `<text x="${sx(row.share) + 6}" y="${y + 14}" class="leg">${(row.share * 100).toFixed(1)}%</text>`;
  });
  s += `<text x="${f.left + pw / 2}" y="${f.h - 8}" text-anchor="middle" class="alabel">share of the queries the workers received (red dashes: an even share)</text>`;
  return `${s}</svg>`;
}

// ---- tables ----

const ratio = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '–' : `${x.toFixed(2)}×`);

function summaryTable(r: CapacityReport, col: Record<string, string>): string {
  const head = ['target', 'max rate q/s<br>(median, min–max)', 'closed loop q/s', `at ${fixedRateText(r.config)}:<br>answered/s`, 'p50 ms', 'p90', 'p99', 'p99.9', 'max', 'loss', 'CPU µs/query', 'RCODEs'];
  let h = `<table><thead><tr>${head.map((x) => `<th${x === 'RCODEs' ? ' class="l"' : ''}>${x}</th>`).join('')}</tr></thead><tbody>`;
  for (const s of r.summary) {
    const sw = `<span class="sw" style="background:${col[s.name]}"></span>`;
    if (!s.ok) {
      h += `<tr><td>${sw}${esc(s.name)}</td><td colspan="${head.length - 1}" class="fail">failed: ${esc(s.error ?? '')}</td></tr>`;
      continue;
    }
    const m = s.maxRate;
    const f = s.fixed;
    const lim = m ? [...new Set(m.limitedBy.filter((x) => x !== 'converged' && x !== 'trials'))] : [];
    const rc = f
      ? `${esc(Object.entries(f.rcodeShares).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${(v * 100).toFixed(1)}%`).join(', '))}${f.rcodeMatch === true ? ' <span class="ok">✓</span>' : f.rcodeMatch === false ? ' <span class="bad">✗</span>' : ''}`
      : '';
    h += `<tr><td>${sw}${esc(s.name)}</td><td>${m ? `${m.median} (${m.min}–${m.max})${lim.length ? ` <span class="warn">${esc(lim.join(', '))}</span>` : ''}` : '–'}</td><td>${s.closedQps?.median ?? '–'}</td><td>${f?.qpsMedian ?? '–'}${f?.generatorLag ? ' <span class="warn">generator lag</span>' : ''}</td><td>${f?.latencyMs.p50 ?? '–'}</td><td>${f?.latencyMs.p90 ?? '–'}</td><td>${f?.latencyMs.p99 ?? '–'}</td><td>${f?.latencyMs.p999 ?? '–'}</td><td>${f?.latencyMs.max ?? '–'}</td><td>${f ? `${(f.loss * 100).toFixed(3)}%` : '–'}</td><td>${f?.cpuUsPerQuery ?? '–'}</td><td class="rc">${rc}</td></tr>`;
  }
  return `${h}</tbody></table>`;
}

function ratioTable(r: CapacityReport): string {
  if (!r.ratios.length) return '<p class="na">No ratios: no kdns target and peer measured in the same rounds.</p>';
  let h = '<table><thead><tr><th>kdns</th><th>peer</th><th>max rate ×</th><th>closed loop ×</th><th>CPU/query ×</th><th>p50 ×</th><th>p99 ×</th><th>rounds</th><th>per round: max rate / CPU / p99</th></tr></thead><tbody>';
  for (const x of r.ratios) {
    const pr = x.perRound;
    h += `<tr><td>${esc(x.kdns)}</td><td>${esc(x.peer)}</td><td><b>${ratio(x.maxRate)}</b></td><td>${ratio(x.closedQps)}</td><td><b>${ratio(x.cpuPerQuery)}</b></td><td>${ratio(x.p50)}</td><td>${ratio(x.p99)}</td><td>${x.rounds}</td><td class="small">${esc(pr.maxRate.join(', ') || '–')} / ${esc(pr.cpuPerQuery.join(', ') || '–')} / ${esc(pr.p99.join(', ') || '–')}</td></tr>`;
  }
  return `${h}</tbody></table>`;
}

function mixTable(r: CapacityReport): string {
  const m = r.mix;
  if (!m.counts) return `<p>Queries: dnsperf file <code>${esc(m.queriesFile)}</code>, ${m.queries} lines (no categories, no expected RCODEs).</p>`;
  let h = '<table><thead><tr><th>category</th><th>queries</th><th>share</th><th class="l">what</th></tr></thead><tbody>';
  for (const [cat, n] of Object.entries(m.counts)) {
    if (!n) continue;
    h += `<tr><td>${esc(cat)}</td><td>${n}</td><td>${((n / m.queries) * 100).toFixed(1)}%</td><td class="small">${codeSpans(m.help[cat] ?? '')}</td></tr>`;
  }
  return `${h}</tbody></table>`;
}

function roundsTable(r: CapacityReport): string {
  let h = '<table class="small"><thead><tr><th>round</th><th>order</th><th>target</th><th>max rate</th><th>limited by</th><th>trials</th><th>closed loop q/s</th><th>fixed: p50 / p99 ms</th><th>loss</th><th>CPU µs/q</th><th>workers</th></tr></thead><tbody>';
  for (const x of r.runs) {
    if (!x.ok) {
      h += `<tr><td>${x.round}</td><td>${x.slot + 1}</td><td>${esc(x.target)}</td><td colspan="8" class="fail">${esc(x.error ?? 'failed')}</td></tr>`;
      continue;
    }
    const w = x.workers ? Object.entries(x.workers.perWorker).map(([k, v]) => `${k}:${v}`).join(' ') : 'n/a';
    h += `<tr><td>${x.round}</td><td>${x.slot + 1}</td><td>${esc(x.target)}</td><td>${x.search?.rate ?? '–'}</td><td>${esc(x.search?.limitedBy ?? '–')}</td><td>${x.search?.trials.length ?? '–'}</td><td>${x.probe?.qps ?? '–'}</td><td>${x.fixed ? `${x.fixed.latencyMs.p50} / ${x.fixed.latencyMs.p99}` : '–'}</td><td>${x.fixed ? `${(x.fixed.loss * 100).toFixed(3)}%` : '–'}</td><td>${x.fixed?.target?.cpuUsPerQuery ?? '–'}</td><td>${esc(w)}</td></tr>`;
  }
  return `${h}</tbody></table>`;
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:24px auto;max-width:1140px;color:#222;padding:0 16px}
h1{font-size:22px;margin:0 0 6px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:3px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}th,td{border:1px solid #ccc;padding:3px 7px;text-align:right;vertical-align:top}
th{background:#f2f2f2}td:first-child,th:first-child{text-align:left;white-space:nowrap}td.rc,td.small,th.l{text-align:left}
table.small,td.small{font-size:12px}.sw{display:inline-block;width:11px;height:11px;margin-right:6px;vertical-align:-1px;border-radius:2px}
.fail{color:#b00;text-align:left}.warn{color:#a60;font-size:12px}.ok{color:#080;font-weight:bold}.bad{color:#c00;font-weight:bold}
.na{color:#777;font-style:italic}.meta{color:#444;font-size:13px}code{font-size:12px;background:#f6f6f6;padding:0 3px}
svg.plot{display:block;margin:10px 0;border:1px solid #e4e4e4}
svg .ptitle{font-size:14px;font-weight:600;fill:#222}svg .tick{font-size:11px;fill:#444}svg .leg{font-size:12px;fill:#222}
svg .alabel{font-size:12px;fill:#333}svg .grid{stroke:#e6e6e6;stroke-width:1}
ul.notes li{margin:2px 0}`;

export function renderHtml(r: CapacityReport): string {
  const names = r.summary.map((s) => s.name);
  const kinds = Object.fromEntries(r.summary.map((s) => [s.name, s.kind]));
  const col = colours(names, kinds);
  const c = r.config;
  const title = `kdns capacity run — ${r.startedAt.slice(0, 19).replace('T', ' ')} UTC`;
  const targetsList = r.summary
    .map((s: TargetSummary) => `<li><span class="sw" style="background:${col[s.name]}"></span><b>${esc(s.name)}</b>: ${codeSpans(s.description)}${s.command ? `<br><code>${esc(s.command)}</code>` : ''}</li>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><style>${CSS}</style></head><body>
<h1>${esc(title)}</h1>
<p class="meta">Machine: ${r.machine.cpus} CPUs (${esc(r.machine.model)}), ${r.machine.memMiB} MiB, Linux ${esc(r.machine.kernel)}, Node ${esc(r.machine.node)}. kdns ${esc(r.source.commit)}${r.source.dirtySrcFiles ? ` + ${r.source.dirtySrcFiles} uncommitted files` : ''}. Wall time ${r.wallS} s.<br>
Cluster: ${r.cluster.services} services (${r.cluster.headless} headless, ${r.cluster.dualStack} dual-stack), ${r.cluster.endpoints} endpoints (${r.cluster.notReady} not ready), ${r.cluster.namespaces} namespaces, seed ${r.cluster.options.seed}; kdns reads it from ${c.source === 'api' ? 'the fake API server' : 'manifests'}.<br>
${c.rounds} interleaved round(s), order rotated each round. ${c.search.enabled ? `Max-rate search: ${c.search.probeDuration > 0 ? `a ${c.search.probeDuration} s closed-loop probe (${c.concurrency} outstanding per generator thread), then ` : ''}open-loop trials of ${c.search.trialDuration} s, ceilings loss ≤ ${(c.ceilings.maxLoss * 100).toFixed(2)}% and p99 ≤ ${c.ceilings.maxP99Ms} ms, ${c.search.minRate}–${c.search.maxRate} q/s, ≤ ${c.search.maxTrials} trials, tolerance ${c.search.tolerance * 100}%.` : 'No max-rate search.'} Fixed rate ${fixedRateText(c)} for ${c.duration} s (+${c.warmup} s warm-up), ${c.pacing} pacing. Generator: ${c.loadgenThreads} thread(s) × ${c.sockets} UDP sockets, timeout ${c.timeoutMs} ms.</p>
${r.notes.length ? `<ul class="notes">${r.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}
<h2>Summary</h2>
${summaryTable(r, col)}
<h2>kdns ÷ peers</h2>
<p class="meta">Median of per-round ratios (each ratio from the same round, so machine noise between rounds cancels). Rates: higher is better for kdns; CPU per query and latency: lower is better.</p>
${ratioTable(r)}
<h2>Plots</h2>
${maxRatePlot(r, col)}
${percentilePlot(r, col)}
${ratePlot(r, col)}
${workerPlot(r, col)}
<h2>Query mix</h2>
<p class="meta">${r.mix.spec ? `Mix <code>${esc(r.mix.spec)}</code>, ` : ''}${r.mix.queries} queries, cycled in order.${r.mix.expectedRcodes ? ` A correct cluster DNS server answers ${esc(Object.entries(r.mix.expectedRcodes).map(([k, v]) => `${k} ${(v * 100).toFixed(1)}%`).join(', '))}.` : ''}</p>
${mixTable(r)}
<h2>Targets</h2>
<ul>${targetsList}</ul>
<h2>Every run</h2>
${roundsTable(r)}
</body></html>
`;
}

function cli(): void {
  const args = process.argv.slice(2);
  const input = args.find((a) => !a.startsWith('--'));
  const oi = args.indexOf('--out');
  if (!input) {
    console.log('usage: node bench/report-html.ts REPORT.json [--out FILE.html]');
    process.exit(2);
  }
  const report = JSON.parse(fs.readFileSync(input, 'utf8')) as CapacityReport;
  if (report.kind !== 'kdns-capacity') throw new Error(`${input} is not a capacity report`);
  const out = oi >= 0 ? args[oi + 1]! : input.replace(/\.json$/, '') + '.html';
  fs.writeFileSync(out, renderHtml(report));
  console.log(out);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    cli();
  } catch (err) {
    console.error(`report-html: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
