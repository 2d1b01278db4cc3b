// Metadata of a query (CoreDNS's metadata package): `plugin/label` values that providers
// (kubernetes, view) publish and consumers (log's {/label}, rewrite's edns0 {plugin/label},
// view's metadata()) read. One registry per server block; a value is worked out only when a
// consumer asks for it, and only while the block has the `metadata` plugin for the query's name.
import type { Query } from '../dns/query.ts';
import { ZoneMatcher } from '../table/zone-match.ts';

/** A label's value for a query: null when it is not set for it, '' when set empty (as CoreDNS). */
export type MetadataValue = (q: Query) => string | null;

export class ServerMetadata {
  private zones: ZoneMatcher | null = null;
  private readonly values = new Map<string, MetadataValue>();

  /** `metadata [ZONES...]`: collect for names in these zones. */
  enable(zones: string[]): void {
    this.zones = new ZoneMatcher(zones);
  }

  provide(label: string, value: MetadataValue): void {
    if (!this.values.has(label)) this.values.set(label, value);
  }

  /** The label's value for `q`; null: no `metadata` for its name, no provider, or not set. */
  value(q: Query, label: string): string | null {
    if (this.zones === null || this.zones.match(q) < 0) return null;
    const f = this.values.get(label);
    return f === undefined ? null : f(q);
  }
}
