// The object store of the fake API server: one Map per resource, one global resourceVersion counter
// (like etcd's revision), and per resource a bounded ring of past events that watches replay from
// and that paginated / exact-version lists rebuild older snapshots from.
import { randomUUID } from 'node:crypto';
import { fieldGetter, objectKey, type K8sObject, type ObjectMeta, type ResourceDef } from './resources.ts';
import { matchFields, matchLabels, type FieldSelector, type LabelSelector } from './selectors.ts';

type Json = Record<string, unknown>;

/** An error the API reports as a `Status` object. */
export class ApiError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly details: Json | undefined;
  /** For 410 on a list continuation: a token that continues from the latest state. */
  readonly continueToken: string | undefined;
  constructor(code: number, reason: string, message: string, details?: Json, continueToken?: string) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.details = details;
    this.continueToken = continueToken;
  }
  toStatus(): Json {
    return statusObject(this.code, this.reason, this.message, this.details, this.continueToken);
  }
}

export function statusObject(code: number, reason: string, message: string, details?: Json, continueToken?: string): Json {
  const st: Json = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: continueToken ? { continue: continueToken } : {},
    status: 'Failure',
    message,
    reason,
  };
  if (details) st.details = details;
  st.code = code;
  return st;
}

function notFound(d: ResourceDef, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${d.plural}${d.group ? '.' + d.group : ''} "${name}" not found`, { name, group: d.group || undefined, kind: d.plural });
}

/** A stored version of an object, with its JSON text made on first use and kept. */
export interface Stored {
  readonly obj: K8sObject;
  readonly rv: number;
  json: string | undefined;
}

export function jsonOf(s: Stored): string {
  if (s.json === undefined) s.json = JSON.stringify(s.obj);
  return s.json;
}

function stored(obj: K8sObject, rv: number): Stored {
  return { obj, rv, json: undefined };
}

/** A copy of `s` with metadata.resourceVersion set to `rv` (what DELETED events carry). */
function atRV(s: Stored, rv: number): Stored {
  return stored({ ...s.obj, metadata: { ...s.obj.metadata, resourceVersion: String(rv) } }, rv);
}

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface HistEvent {
  readonly rv: number;
  readonly type: EventType;
  readonly key: string;
  /** ADDED/MODIFIED: the new object; DELETED: the last state, with the deletion's resourceVersion. */
  readonly obj: Stored;
  /** The object before this event (undefined for ADDED). */
  readonly prev: Stored | undefined;
  /** `prev` with this event's resourceVersion, for watches whose selector the object stopped matching. */
  prevAtRV?: Stored;
}

export interface ObjectFilter {
  /** Only objects in this namespace (namespaced resources). */
  namespace: string | undefined;
  label: LabelSelector;
  field: FieldSelector;
}

export interface StoreWatcher {
  onEvent(ev: HistEvent): void;
}

export class ResourceStore {
  readonly def: ResourceDef;
  readonly items = new Map<string, Stored>();
  readonly watchers = new Set<StoreWatcher>();
  /** Events with rv > floorRV are all in the ring; watches from older versions get 410. */
  floorRV: number;
  private ring: Array<HistEvent | undefined>;
  private start = 0;
  private count = 0;
  private sorted: string[] | null = null;

  constructor(def: ResourceDef, capacity: number, floorRV: number) {
    this.def = def;
    this.ring = new Array<HistEvent | undefined>(Math.max(0, capacity));
    this.floorRV = floorRV;
  }

  get historyLength(): number {
    return this.count;
  }

  record(ev: HistEvent): void {
    const cap = this.ring.length;
    if (cap === 0) {
      this.floorRV = ev.rv;
      return;
    }
    if (this.count === cap) {
      const old = this.ring[this.start]!;
      this.ring[this.start] = undefined;
      this.start = (this.start + 1) % cap;
      this.count--;
      this.floorRV = old.rv;
    }
    this.ring[(this.start + this.count) % cap] = ev;
    this.count++;
  }

  private at(i: number): HistEvent {
    return this.ring[(this.start + i) % this.ring.length]!;
  }

  /** Events with rv > `rv`, oldest first. The caller checks rv >= floorRV. */
  eventsAfter(rv: number): HistEvent[] {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.at(mid).rv <= rv) lo = mid + 1;
      else hi = mid;
    }
    const out: HistEvent[] = [];
    for (let i = lo; i < this.count; i++) out.push(this.at(i));
    return out;
  }

  /** Forgets events with rv <= `rv`. */
  compact(rv: number): void {
    while (this.count > 0 && this.at(0).rv <= rv) {
      this.ring[this.start] = undefined;
      this.start = (this.start + 1) % this.ring.length;
      this.count--;
    }
    if (rv > this.floorRV) this.floorRV = rv;
  }

  sortedKeys(): string[] {
    if (this.sorted === null) this.sorted = [...this.items.keys()].sort(cmp);
    return this.sorted;
  }

  keysChanged(): void {
    this.sorted = null;
  }

  matches(f: ObjectFilter, s: Stored): boolean {
    const o = s.obj;
    if (f.namespace !== undefined && this.def.namespaced && o.metadata.namespace !== f.namespace) return false;
    if (f.label.length > 0 && !matchLabels(f.label, o.metadata.labels)) return false;
    if (f.field.length > 0 && !matchFields(f.field, fieldGetter(this.def, o))) return false;
    return true;
  }

  /** What a watch with filter `f` sees of `ev`: a change of selector match turns MODIFIED into ADDED or DELETED. */
  eventFor(f: ObjectFilter, ev: HistEvent): { type: EventType; obj: Stored } | null {
    if (ev.type !== 'MODIFIED') return this.matches(f, ev.obj) ? { type: ev.type, obj: ev.obj } : null;
    const now = this.matches(f, ev.obj);
    const before = ev.prev !== undefined && this.matches(f, ev.prev);
    if (now) return { type: before ? 'MODIFIED' : 'ADDED', obj: ev.obj };
    if (before) {
      ev.prevAtRV ??= atRV(ev.prev!, ev.rv);
      return { type: 'DELETED', obj: ev.prevAtRV };
    }
    return null;
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function lowerBound(keys: readonly string[], k: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < k) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

interface ContinueToken {
  rv: number;
  start: string;
}

export function encodeContinue(t: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: t.rv, start: t.start })).toString('base64url');
}

function decodeContinue(s: string): ContinueToken {
  try {
    const j = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as Json;
    if (j.v !== 'meta.k8s.io/v1' || typeof j.rv !== 'number' || typeof j.start !== 'string') throw new Error('bad');
    return { rv: j.rv, start: j.start };
  } catch {
    throw new ApiError(400, 'BadRequest', 'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  }
}

export interface ListQuery extends ObjectFilter {
  limit: number;
  continueToken: string | undefined;
  resourceVersion: string | undefined;
  resourceVersionMatch: string | undefined;
}

export interface ListResult {
  items: Stored[];
  resourceVersion: number;
  continueToken: string | undefined;
  remainingItemCount: number | undefined;
}

export type WriteMode = 'create' | 'update' | 'upsert';

export interface StoreOptions {
  /** Events kept per resource for watches to resume from. */
  history: number;
}

function nowTimestamp(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const SUFFIX_CHARS = 'bcdfghjklmnpqrstvwxz2456789';
function randomSuffix(n = 5): string {
  let s = '';
  for (let i = 0; i < n; i++) s += SUFFIX_CHARS[Math.floor(Math.random() * SUFFIX_CHARS.length)];
  return s;
}

export function parseRV(v: string, what = 'resourceVersion'): number {
  if (!/^\d+$/.test(v)) throw new ApiError(400, 'BadRequest', `invalid ${what}: "${v}" is not a valid resource version`);
  return Number(v);
}

export class Store {
  /** The global resourceVersion: the version of the latest write. */
  rv = 1;
  private readonly resources = new Map<string, ResourceStore>();
  private readonly usedIPs = new Set<string>();
  private nextV4 = 256;
  private nextV6 = 256;

  constructor(defs: readonly ResourceDef[], opts: StoreOptions) {
    for (const d of defs) this.resources.set(d.plural, new ResourceStore(d, opts.history, this.rv));
  }

  resource(d: ResourceDef): ResourceStore {
    return this.resources.get(d.plural)!;
  }

  all(): ResourceStore[] {
    return [...this.resources.values()];
  }

  get(d: ResourceDef, namespace: string | undefined, name: string): Stored {
    const s = this.resource(d).items.get(objectKey(d, namespace, name));
    if (!s) throw notFound(d, name);
    return s;
  }

  /**
   * Creates, replaces or upserts `input`. With `checkRV`, a metadata.resourceVersion in `input` must
   * be the stored one (optimistic concurrency, as for PUT). An update that changes nothing is a
   * no-op, as on the real server: no new resourceVersion and no event.
   */
  write(d: ResourceDef, input: K8sObject, mode: WriteMode, opts: { checkRV?: boolean; namespace?: string } = {}): { obj: Stored; type: EventType | null } {
    if (!input || typeof input !== 'object' || !input.metadata || typeof input.metadata !== 'object') {
      throw new ApiError(400, 'BadRequest', 'the object has no metadata');
    }
    const res = this.resource(d);
    const m = input.metadata;
    let name = m.name;
    if (!name && m.generateName && mode !== 'update') name = m.generateName + randomSuffix();
    if (!name) throw new ApiError(422, 'Invalid', `${d.kind} "" is invalid: metadata.name: Required value: name or generateName is required`);
    const namespace = d.namespaced ? (m.namespace || opts.namespace || 'default') : undefined;
    if (d.namespaced && opts.namespace && m.namespace && m.namespace !== opts.namespace) {
      throw new ApiError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
    }
    const key = objectKey(d, namespace, name);
    const existing = res.items.get(key);
    if (existing && mode === 'create') {
      throw new ApiError(409, 'AlreadyExists', `${d.plural}${d.group ? '.' + d.group : ''} "${name}" already exists`, { name, group: d.group || undefined, kind: d.plural });
    }
    if (!existing && mode === 'update') throw notFound(d, name);
    if (existing && opts.checkRV && m.resourceVersion && m.resourceVersion !== existing.obj.metadata.resourceVersion) {
      throw new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${d.plural}${d.group ? '.' + d.group : ''} "${name}": the object has been modified; please apply your changes to the latest version and try again`, { name, group: d.group || undefined, kind: d.plural });
    }

    const build = (rv: number): K8sObject => {
      const { name: _n, generateName, namespace: _ns, uid, resourceVersion: _rv, creationTimestamp, ...rest } = m;
      const meta: ObjectMeta = { name };
      if (generateName) meta.generateName = generateName;
      if (namespace !== undefined) meta.namespace = namespace;
      meta.uid = existing?.obj.metadata.uid ?? (typeof uid === 'string' && uid ? uid : randomUUID());
      meta.resourceVersion = String(rv);
      meta.creationTimestamp = existing?.obj.metadata.creationTimestamp ?? (typeof creationTimestamp === 'string' && creationTimestamp ? creationTimestamp : nowTimestamp());
      Object.assign(meta, rest);
      const { kind: _k, apiVersion: _a, metadata: _m, ...body } = input;
      const obj: K8sObject = { kind: d.kind, apiVersion: d.apiVersion, metadata: meta, ...body };
      this.defaults(d, obj, existing?.obj);
      return obj;
    };

    if (existing) {
      const same = build(existing.rv);
      if (JSON.stringify(same) === jsonOf(existing)) return { obj: existing, type: null };
    }
    const rv = this.rv + 1;
    const obj = stored(build(rv), rv);
    this.rv = rv;
    if (d.plural === 'services') {
      for (const ip of this.serviceIPs(obj.obj)) this.usedIPs.add(ip);
      if (existing) for (const ip of this.serviceIPs(existing.obj)) if (!this.serviceIPs(obj.obj).includes(ip)) this.usedIPs.delete(ip);
    }
    res.items.set(key, obj);
    if (!existing) res.keysChanged();
    const ev: HistEvent = { rv, type: existing ? 'MODIFIED' : 'ADDED', key, obj, prev: existing };
    this.emit(res, ev);
    return { obj, type: ev.type };
  }

  delete(d: ResourceDef, namespace: string | undefined, name: string, opts: { resourceVersion?: string; uid?: string } = {}): Stored {
    const res = this.resource(d);
    const key = objectKey(d, namespace, name);
    const existing = res.items.get(key);
    if (!existing) throw notFound(d, name);
    if ((opts.resourceVersion && opts.resourceVersion !== existing.obj.metadata.resourceVersion) || (opts.uid && opts.uid !== existing.obj.metadata.uid)) {
      throw new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${d.plural} "${name}": the precondition does not match the stored object`, { name, kind: d.plural });
    }
    return this.remove(res, key, existing);
  }

  private remove(res: ResourceStore, key: string, existing: Stored): Stored {
    const rv = this.rv + 1;
    this.rv = rv;
    res.items.delete(key);
    res.keysChanged();
    if (res.def.plural === 'services') for (const ip of this.serviceIPs(existing.obj)) this.usedIPs.delete(ip);
    const obj = atRV(existing, rv);
    this.emit(res, { rv, type: 'DELETED', key, obj, prev: existing });
    return obj;
  }

  /** Deletes every object of `d` (or of every resource), optionally only in one namespace; each gets a DELETED event. */
  deleteAll(d: ResourceDef | undefined, namespace: string | undefined): number {
    let n = 0;
    for (const res of d ? [this.resource(d)] : this.all()) {
      for (const [key, s] of [...res.items]) {
        if (namespace !== undefined && (!res.def.namespaced || s.obj.metadata.namespace !== namespace)) continue;
        this.remove(res, key, s);
        n++;
      }
    }
    return n;
  }

  private emit(res: ResourceStore, ev: HistEvent): void {
    res.record(ev);
    for (const w of res.watchers) w.onEvent(ev);
  }

  /** Forgets history up to `rv` (default: now), so watches from older versions get 410 Gone. */
  compact(rv?: number): number {
    const to = Math.min(rv ?? this.rv, this.rv);
    for (const res of this.resources.values()) res.compact(to);
    return to;
  }

  list(d: ResourceDef, q: ListQuery): ListResult {
    const res = this.resource(d);
    let snapshotRV = this.rv;
    let start = '';
    let limit = q.limit;
    const rvParam = q.resourceVersion ?? '';
    if (q.resourceVersionMatch !== undefined && q.resourceVersionMatch !== '') {
      if (q.resourceVersionMatch !== 'Exact' && q.resourceVersionMatch !== 'NotOlderThan') {
        throw new ApiError(422, 'Invalid', `resourceVersionMatch: Unsupported value: "${q.resourceVersionMatch}": supported values: "Exact", "NotOlderThan"`);
      }
      if (rvParam === '') throw new ApiError(422, 'Invalid', 'resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided');
      if (q.continueToken) throw new ApiError(422, 'Invalid', 'resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden when continue is provided');
      if (q.resourceVersionMatch === 'Exact' && rvParam === '0') throw new ApiError(422, 'Invalid', 'resourceVersionMatch: Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"');
    }
    if (q.continueToken) {
      if (rvParam !== '') throw new ApiError(422, 'Invalid', 'resourceVersion: Forbidden: specifying resource version is not allowed when using continue');
      const t = decodeContinue(q.continueToken);
      start = t.start;
      if (t.rv > 0) {
        if (t.rv < res.floorRV) {
          // The snapshot is gone. Offer a token that continues from the latest state instead.
          throw new ApiError(
            410,
            'Expired',
            'The provided continue parameter is too old to display a consistent list result. Start a new list without continue, or use the continue token of this response to get the rest from the latest state (an inconsistent list).',
            undefined,
            encodeContinue({ rv: 0, start }),
          );
        }
        snapshotRV = Math.min(t.rv, this.rv);
      }
    } else if (rvParam === '0') {
      // Served from the watch cache, which ignores limit: the whole list in one page.
      limit = 0;
    } else if (rvParam !== '') {
      const want = parseRV(rvParam);
      if (want > this.rv) {
        throw new ApiError(504, 'Timeout', `Too large resource version: ${want}, current: ${this.rv}`, {
          causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
          retryAfterSeconds: 1,
        });
      }
      if (q.resourceVersionMatch === 'Exact') {
        if (want < res.floorRV) throw new ApiError(410, 'Expired', `too old resource version: ${want} (${res.floorRV})`);
        snapshotRV = want;
      }
    }

    // The keys and objects at snapshotRV: the current ones with later events undone.
    let keys = res.sortedKeys();
    let get = (k: string): Stored | undefined => res.items.get(k);
    if (snapshotRV < this.rv) {
      const overlay = new Map<string, Stored | null>();
      for (const ev of res.eventsAfter(snapshotRV)) if (!overlay.has(ev.key)) overlay.set(ev.key, ev.prev ?? null);
      if (overlay.size > 0) {
        const set = new Set(keys);
        for (const [k, v] of overlay) {
          if (v === null) set.delete(k);
          else set.add(k);
        }
        keys = [...set].sort(cmp);
        get = (k) => (overlay.has(k) ? (overlay.get(k) ?? undefined) : res.items.get(k));
      }
    }

    const prefix = d.namespaced && q.namespace !== undefined ? `${q.namespace}/` : '';
    let i = lowerBound(keys, start > prefix ? start : prefix);
    const items: Stored[] = [];
    let lastKey = '';
    let more = false;
    for (; i < keys.length; i++) {
      const k = keys[i]!;
      if (prefix && !k.startsWith(prefix)) break;
      const s = get(k);
      if (!s || !res.matches(q, s)) continue;
      if (limit > 0 && items.length === limit) {
        more = true;
        break;
      }
      items.push(s);
      lastKey = k;
    }
    let continueToken: string | undefined;
    let remainingItemCount: number | undefined;
    if (more) {
      continueToken = encodeContinue({ rv: snapshotRV, start: lastKey + '\u0000' });
      if (q.label.length === 0 && q.field.length === 0) {
        let n = 0;
        for (; i < keys.length; i++) {
          const k = keys[i]!;
          if (prefix && !k.startsWith(prefix)) break;
          if (get(k)) n++;
        }
        remainingItemCount = n;
      }
    }
    return { items, resourceVersion: snapshotRV, continueToken, remainingItemCount };
  }

  private serviceIPs(o: K8sObject): string[] {
    const spec = (o.spec ?? {}) as Json;
    const ips = Array.isArray(spec.clusterIPs) ? (spec.clusterIPs as unknown[]) : [spec.clusterIP];
    return ips.filter((ip): ip is string => typeof ip === 'string' && ip !== '' && ip !== 'None');
  }

  private allocate(family: 'IPv4' | 'IPv6'): string {
    for (;;) {
      let ip: string;
      if (family === 'IPv4') {
        // 10.96.0.0/12, skipping the low addresses that clusters hand out by hand (10.96.0.1, 10.96.0.10).
        const n = this.nextV4++;
        if (n >= 1 << 20) throw new ApiError(500, 'InternalError', 'the service IP range is full');
        ip = `10.${96 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
      } else {
        const n = this.nextV6++;
        if (n >= 1 << 16) throw new ApiError(500, 'InternalError', 'the service IP range is full');
        ip = `fd00:10:96::${n.toString(16)}`;
      }
      if (!this.usedIPs.has(ip)) return ip;
    }
  }

  /** Server-side defaults, as the real API server fills them in. */
  private defaults(d: ResourceDef, o: K8sObject, old: K8sObject | undefined): void {
    if (d.plural === 'namespaces') {
      o.metadata.labels = { ...(o.metadata.labels ?? {}), 'kubernetes.io/metadata.name': o.metadata.name! };
      o.spec ??= { finalizers: ['kubernetes'] };
      o.status ??= { phase: 'Active' };
      return;
    }
    if (d.plural !== 'services') return;
    const spec: Json = { ...((o.spec ?? {}) as Json) };
    o.spec = spec;
    spec.type ??= 'ClusterIP';
    const oldSpec = (old?.spec ?? {}) as Json;
    if (spec.type === 'ExternalName') {
      delete spec.clusterIP;
      delete spec.clusterIPs;
      delete spec.ipFamilies;
      delete spec.ipFamilyPolicy;
    } else {
      if ((spec.clusterIP === undefined || spec.clusterIP === '') && (spec.clusterIPs === undefined || (spec.clusterIPs as unknown[]).length === 0) && oldSpec.clusterIP) {
        // clusterIP is immutable; a replace that leaves it out keeps the allocated one.
        spec.clusterIP = oldSpec.clusterIP;
        spec.clusterIPs = oldSpec.clusterIPs;
        spec.ipFamilies ??= oldSpec.ipFamilies;
        spec.ipFamilyPolicy ??= oldSpec.ipFamilyPolicy;
      }
      if (spec.clusterIP === undefined || spec.clusterIP === '') {
        const given = Array.isArray(spec.clusterIPs) ? (spec.clusterIPs as string[]) : [];
        if (given.length > 0) {
          spec.clusterIP = given[0];
        } else {
          const families = Array.isArray(spec.ipFamilies) && spec.ipFamilies.length > 0 ? (spec.ipFamilies as Array<'IPv4' | 'IPv6'>) : ['IPv4' as const];
          const ips = families.map((f) => this.allocate(f));
          spec.clusterIP = ips[0];
          spec.clusterIPs = ips;
        }
      }
      if (!Array.isArray(spec.clusterIPs) || spec.clusterIPs.length === 0) spec.clusterIPs = [spec.clusterIP];
      const ips = spec.clusterIPs as string[];
      if (!Array.isArray(spec.ipFamilies) || spec.ipFamilies.length === 0) {
        spec.ipFamilies = ips[0] === 'None' ? ['IPv4'] : ips.map((ip) => (ip.includes(':') ? 'IPv6' : 'IPv4'));
      }
      spec.ipFamilyPolicy ??= ips.length > 1 ? 'PreferDualStack' : 'SingleStack';
      spec.internalTrafficPolicy ??= 'Cluster';
    }
    spec.sessionAffinity ??= 'None';
    if (Array.isArray(spec.ports)) {
      spec.ports = (spec.ports as Json[]).map((p) => {
        const q: Json = { ...p };
        q.protocol ??= 'TCP';
        q.targetPort ??= q.port;
        return q;
      });
    }
    o.status ??= { loadBalancer: {} };
  }
}
