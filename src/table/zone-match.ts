// Which of a plugin's zones a query falls in, without allocating: suffix compare of the
// lower-cased wire name at label boundaries, longest zone first.
import { hashName, nameToWire } from '../dns/name.ts';
import type { Query } from '../dns/query.ts';

export class ZoneMatcher {
  /** Canonical text zones, longest first. */
  readonly names: string[];
  readonly wire: Uint8Array[];
  readonly hash: number[];
  /** Each zone's index in the list the matcher was made from (match() counts longest first). */
  readonly given: number[];

  constructor(zones: string[]) {
    const byLength = zones.map((z, i) => ({ z, i, wire: nameToWire(z) })).sort((a, b) => b.wire.length - a.wire.length);
    this.names = byLength.map((e) => e.z);
    this.given = byLength.map((e) => e.i);
    this.wire = byLength.map((e) => e.wire);
    this.hash = this.wire.map((w) => hashName(w, 0, w.length));
  }

  /** Index of the longest zone containing the query name, or -1; from `from` on (the next shorter). */
  match(q: Query, from = 0): number {
    const wires = this.wire;
    for (let z = from; z < wires.length; z++) {
      const zw = wires[z]!;
      const start = q.nameLen - zw.length;
      if (start < 0 || !isLabelStart(q, start)) continue;
      let k = 0;
      while (k < zw.length && q.lower[start + k] === zw[k]) k++;
      if (k === zw.length) return z;
    }
    return -1;
  }
}

/**
 * A plugin's `fallthrough [ZONES...]`: null when it has none, else a matcher for the zones
 * listed, or for `all` when it lists none.
 */
export function fallthroughMatcher(listed: string[] | null, all: string[]): ZoneMatcher | null {
  return listed === null ? null : new ZoneMatcher(listed.length > 0 ? listed : all);
}

function isLabelStart(q: Query, at: number): boolean {
  if (at === q.nameLen - 1) return true; // the root label
  for (let i = 0; i < q.labelCount; i++) if (q.labelStarts[i] === at) return true;
  return false;
}
