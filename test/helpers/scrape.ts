// A Prometheus text-format scrape, parsed for assertions: samples by name and labels, sums,
// label names, HELP and TYPE lines.
import assert from 'node:assert/strict';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export class Scrape {
  readonly samples: Sample[] = [];
  /** `name{labels}` as written (labels in their order) -> value; a series appears once. */
  readonly byKey = new Map<string, number>();
  readonly text: string;
  constructor(text: string) {
    this.text = text;
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/.exec(line);
      assert.ok(m, `bad sample line: ${line}`);
      const labels: Record<string, string> = {};
      for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
      const key = `${m[1]}${m[2] ?? ''}`;
      assert.ok(!this.byKey.has(key), `duplicate series ${line}`);
      this.byKey.set(key, Number(m[3]));
      this.samples.push({ name: m[1]!, labels, value: Number(m[3]) });
    }
  }

  /** Samples of `name` whose labels include all of `labels`. */
  series(name: string, labels: Record<string, string> = {}): Sample[] {
    return this.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  }

  sum(name: string, labels: Record<string, string> = {}): number {
    return this.series(name, labels).reduce((a, s) => a + s.value, 0);
  }

  /** The label names of `name`'s series, in the order written (le left out). */
  labelNames(name: string): string[] {
    const s = this.series(name)[0];
    assert.ok(s, `no series of ${name}`);
    return Object.keys(s.labels).filter((l) => l !== 'le');
  }

  help(name: string): string {
    return new RegExp(`^# HELP ${name} (.*)$`, 'm').exec(this.text)?.[1] ?? '';
  }

  type(name: string): string {
    return new RegExp(`^# TYPE ${name} (\\S+)$`, 'm').exec(this.text)?.[1] ?? '';
  }
}

/** GET /metrics of a kdns prometheus listener on loopback, checked for 200, parsed. */
export async function scrapeMetrics(port: number): Promise<Scrape> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(res.status, 200, `GET /metrics on port ${port}`);
  return new Scrape(await res.text());
}
