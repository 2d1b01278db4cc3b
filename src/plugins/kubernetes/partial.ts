// kubernetes, worker side, while the table is partial (a big cluster's first sync is being
// written in steps and already served, see ClusterState.buildInSteps): which names the table can
// answer for already, and the queries that wait for the rest.
//
// The namespaces and the zone apexes are written before the table is served, and each Service's
// names go in with one batch (readers see all of them or none). So a name below
// `<svc>.<ns>.svc.<zone>` is answered as soon as that Service's own name is in the table, and a
// name at or above `<ns>.svc.<zone>` at once. A Service not written yet is asked for (want), and
// the primary writes it with its next step. Reverse names (a PTR can have several owners) and,
// with `pods verified`, pod names wait for the whole table.
import { RCODE } from '../../dns/constants.ts';
import { hashName, wireToName } from '../../dns/name.ts';
import { type Query, isLabelAt } from '../../dns/query.ts';
import type { Pending, RequestState } from '../../plugin/types.ts';
import { answerEntry } from '../../table/answer.ts';
import { type TableReader, variantLen } from '../../table/reader.ts';
import type { ZoneMatcher } from '../../table/zone-match.ts';

/** Queries one worker holds for a partial table; past this, SERVFAIL at once. */
const MAX_WAITING = 4096;
/** A query not answered this long after it arrived gets SERVFAIL (the client would retry anyway). */
const MAX_WAIT_MS = 4000;
/** Room for a negative answer's SOA and the OPT record around a variant's bytes. */
const ANSWER_SLACK = 512;

/** The labels "svc" and "pod" in wire form. */
export const SVC_LABEL = [3, 0x73, 0x76, 0x63];
export const POD_LABEL = [3, 0x70, 0x6f, 0x64];

interface Waiting {
  p: Pending;
  zone: number;
  since: number;
}

export class PartialTable {
  private readonly table: TableReader;
  private readonly zones: ZoneMatcher;
  /** Labels in each zone of `zones` (same order). */
  private readonly zoneLabels: number[];
  private readonly forward: boolean[];
  private readonly podsVerified: boolean;
  private readonly fallthrough: ZoneMatcher | null;
  /** Wanted Service name -> the queries waiting for it. */
  private readonly byName = new Map<string, Waiting[]>();
  /** Queries waiting for the whole table. */
  private untilComplete: Waiting[] = [];
  private count = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(table: TableReader, zones: ZoneMatcher, forwardZones: Set<string>, podsVerified: boolean, fallthrough: ZoneMatcher | null) {
    this.table = table;
    this.zones = zones;
    this.zoneLabels = zones.wire.map(labelCount);
    this.forward = zones.names.map((z) => forwardZones.has(z));
    this.podsVerified = podsVerified;
    this.fallthrough = fallthrough;
    table.onBuilt((names) => this.built(names));
  }

  /**
   * What `q` (in zone `z`; `entry` its lookup) waits for before the table can answer it: null
   * for nothing, '' for the whole table, else the name of the Service it is under.
   */
  needs(q: Query, z: number, entry: number): string | null {
    if (!this.forward[z]) return '';
    const rel = q.labelCount - this.zoneLabels[z]!;
    if (rel < 3) return null;
    const second = q.labelStarts[rel - 1]!;
    if (this.podsVerified && isLabelAt(q, second, POD_LABEL)) return '';
    if (entry !== 0 || !isLabelAt(q, second, SVC_LABEL)) return null;
    const base = q.labelStarts[rel - 3]!;
    const len = q.nameLen - base;
    if (this.table.findName(q.lower.subarray(base, q.nameLen), len, hashName(q.lower, base, q.nameLen)) !== 0) return null;
    return wireToName(q.lower.subarray(0, q.nameLen), base);
  }

  /**
   * Defers the query being served until `what` (from needs()) is in the table; false (nothing
   * deferred) when this worker already holds as many as it may.
   */
  hold(what: string, z: number, r: RequestState): boolean {
    if (this.count >= MAX_WAITING) return false;
    const w: Waiting = { p: r.defer(), zone: z, since: r.start };
    this.count++;
    if (what === '') this.untilComplete.push(w);
    else {
      const list = this.byName.get(what);
      if (list) list.push(w);
      else {
        this.byName.set(what, [w]);
        this.table.want(what);
      }
    }
    this.timer ??= setInterval(() => this.expire(), 250).unref();
    return true;
  }

  private built(names: string[] | null): void {
    if (names === null) {
      for (const list of this.byName.values()) for (const w of list) this.answer(w);
      this.byName.clear();
      for (const w of this.untilComplete.splice(0)) this.answer(w);
    } else {
      for (const name of names) {
        const list = this.byName.get(name);
        if (!list) continue;
        this.byName.delete(name);
        for (const w of list) this.answer(w);
      }
    }
    this.stopTimerIfIdle();
  }

  private answer(w: Waiting): void {
    this.count--;
    const { p, zone } = w;
    const entry = this.table.find(p.q);
    if (entry === 0 && this.fallthrough !== null && this.fallthrough.match(p.q) >= 0) {
      p.next();
      return;
    }
    const v = entry === 0 ? -1 : this.table.variant(entry, p.q.qtype);
    const out = p.writer((v < 0 ? 0 : variantLen(this.table.u8, v)) + ANSWER_SLACK);
    answerEntry(this.table, this.zones, zone, p.q, out, entry);
    p.send(out);
  }

  private expire(): void {
    const cutoff = performance.now() - MAX_WAIT_MS;
    const keep = (list: Waiting[]): Waiting[] => list.filter((w) => {
      if (w.since > cutoff) return true;
      this.count--;
      w.p.fail(RCODE.SERVFAIL, 'kubernetes: the table is still being built');
      return false;
    });
    for (const [name, list] of this.byName) {
      const rest = keep(list);
      if (rest.length === 0) this.byName.delete(name);
      else this.byName.set(name, rest);
    }
    this.untilComplete = keep(this.untilComplete);
    this.stopTimerIfIdle();
  }

  private stopTimerIfIdle(): void {
    if (this.count > 0 || this.timer === null) return;
    clearInterval(this.timer);
    this.timer = null;
  }
}

function labelCount(wire: Uint8Array): number {
  let n = 0;
  for (let i = 0; wire[i]! !== 0; i += wire[i]! + 1) n++;
  return n;
}
