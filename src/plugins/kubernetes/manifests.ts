// Kubernetes manifests on disk as a source of cluster state, so kdns can serve a cluster's names
// without an API server (the demo, tests, air-gapped setups). Reading is strict and says where a
// problem is: a DNS server quietly answering from half a manifest set is worse than one that
// refuses to start. While running, edits are picked up and only the differences reach the sink.
import { readFileSync, readdirSync, realpathSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { CORE_SCHEMA, EVENT_ID, YAMLException, constructFromEvents, getScalarValue, mergeTag, parseEvents, type Event } from 'js-yaml';
import type { LabelSelector } from './label-selector.ts';
import {
  labelMap,
  trimEndpointSlice,
  trimNamespace,
  trimPod,
  trimService,
  type EndpointSliceInfo,
  type NamespaceInfo,
  type PodInfo,
  type ServiceInfo,
} from './model.ts';
import type { ClusterSink } from './sink.ts';

export class ManifestError extends Error {
  file: string;
  /** 1-based; 0 when the problem has no position (an unreadable path, an empty directory). */
  line: number;
  hint?: string;

  constructor(file: string, line: number, what: string, hint?: string) {
    // One line, so the reload path can log it as a single CoreDNS-style line.
    super(`${line > 0 ? `${file}:${line}` : file}: ${what}${hint !== undefined ? `; ${hint}` : ''}`);
    this.name = 'ManifestError';
    this.file = file;
    this.line = line;
    if (hint !== undefined) this.hint = hint;
  }
}

interface Located {
  file: string;
  /** Line where the object starts (its list item, or its document). */
  line: number;
  /** metadata.labels, kept beside the trimmed object because `labels` filtering needs them. */
  labels: Record<string, string>;
}

export type ManifestObject =
  | (Located & { kind: 'Service'; object: ServiceInfo })
  | (Located & { kind: 'EndpointSlice'; object: EndpointSliceInfo })
  | (Located & { kind: 'Namespace'; object: NamespaceInfo })
  | (Located & { kind: 'Pod'; object: PodInfo });

export interface ManifestSet {
  objects: ManifestObject[];
  /** The manifest files read, in reading order. */
  files: string[];
  /** Objects of other kinds, counted by `apiVersion kind`. */
  ignored: Map<string, number>;
}

type Json = Record<string, unknown>;

// The kinds DNS needs, by the apiVersion each must have; a same-named kind of another group
// (a Knative `serving.knative.dev/v1` Service, say) is a different resource and is ignored.
const KINDS: Record<string, ManifestObject['kind']> = {
  'v1 Service': 'Service',
  'discovery.k8s.io/v1 EndpointSlice': 'EndpointSlice',
  'v1 Namespace': 'Namespace',
  'v1 Pod': 'Pod',
};

const MANIFEST_EXT = new Set(['.yaml', '.yml', '.json']);
// kubectl's YAML accepts merge keys (`<<: *base`); plain CORE_SCHEMA would keep `<<` as a key.
const YAML_SCHEMA = CORE_SCHEMA.withTags(mergeTag);

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Manifest files under `path` (itself, or its directory tree), sorted by path. */
function manifestFiles(path: string): string[] {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    throw new ManifestError(path, 0, `cannot read manifests: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, 'give a manifest file or a directory of *.yaml, *.yml or *.json files');
  }
  if (!st.isDirectory()) return [path];
  const out: string[] = [];
  const seen = new Set<string>();
  const walk = (dir: string): void => {
    let names: string[];
    try {
      // A symlinked directory may lead back up the tree; read each real directory once.
      const real = realpathSync(dir);
      if (seen.has(real)) return;
      seen.add(real);
      names = readdirSync(dir);
    } catch (err) {
      throw new ManifestError(dir, 0, `cannot read directory: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    for (const name of names) {
      // Dot entries are editor droppings and, in a mounted ConfigMap, the `..data` and
      // `..TIMESTAMP` copies of every file, which would otherwise all read as duplicates.
      if (name.startsWith('.')) continue;
      const full = join(dir, name);
      let entry;
      try {
        entry = statSync(full);
      } catch {
        continue; // a dangling symlink, or a file removed while we read
      }
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && MANIFEST_EXT.has(extname(name).toLowerCase())) out.push(full);
    }
  };
  walk(path);
  out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (out.length === 0) throw new ManifestError(path, 0, 'no manifest files found', 'the directory needs *.yaml, *.yml or *.json files (dot files are skipped)');
  return out;
}

/** Turns string offsets into 1-based line numbers. */
function lineIndex(text: string): (offset: number) => number {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}

interface Doc {
  value: unknown;
  line: number;
  /** Start lines of the elements of a top-level `items` sequence (for List kinds). */
  itemLines: number[];
}

/** Where each document, and each element of its top-level `items`, starts. */
function positions(events: Event[], text: string, lineOf: (offset: number) => number): { line: number; itemLines: number[] }[] {
  const startOf = (e: Event): number => ('start' in e ? e.start : 'valueStart' in e ? e.valueStart : -1);
  // Index just past the node that starts at i.
  const skip = (i: number): number => {
    const t = events[i]!.type;
    if (t !== EVENT_ID.MAPPING && t !== EVENT_ID.SEQUENCE) return i + 1;
    let j = i + 1;
    while (events[j]!.type !== EVENT_ID.POP) j = skip(j);
    return j + 1;
  };
  const out: { line: number; itemLines: number[] }[] = [];
  let i = 0;
  while (i < events.length) {
    if (events[i]!.type !== EVENT_ID.DOCUMENT) {
      i++;
      continue;
    }
    const root = events[i + 1]!;
    const rootStart = startOf(root);
    const doc = { line: rootStart >= 0 ? lineOf(rootStart) : 0, itemLines: [] as number[] };
    if (root.type === EVENT_ID.MAPPING) {
      let j = i + 2;
      while (events[j]!.type !== EVENT_ID.POP) {
        const key = events[j]!;
        const valueAt = skip(j);
        const value = events[valueAt]!;
        if (key.type === EVENT_ID.SCALAR && value.type === EVENT_ID.SEQUENCE && getScalarValue(text, key) === 'items') {
          let k = valueAt + 1;
          while (events[k]!.type !== EVENT_ID.POP) {
            const s = startOf(events[k]!);
            doc.itemLines.push(s >= 0 ? lineOf(s) : doc.line);
            k = skip(k);
          }
        }
        j = skip(valueAt);
      }
    }
    out.push(doc);
    i = skip(i + 1) + 1; // past the root node and the document's POP
  }
  return out;
}

function parseDocuments(file: string, text: string): Doc[] {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lineOf = lineIndex(text);
  const json = extname(file).toLowerCase() === '.json';
  let values: unknown[];
  let events: Event[] | undefined;
  if (json) {
    // JSON.parse holds a .json file to JSON; the YAML parser's events only locate List items.
    try {
      values = [JSON.parse(text)];
    } catch (err) {
      const at = /position (\d+)/.exec((err as Error).message);
      throw new ManifestError(file, at ? lineOf(Number(at[1])) : lineOf(text.length), `invalid JSON: ${(err as Error).message.replace(/ in JSON at position.*$/, '')}`);
    }
    try {
      events = parseEvents(text, { filename: file });
    } catch {
      events = undefined;
    }
  } else {
    try {
      events = parseEvents(text, { filename: file });
      values = constructFromEvents(events, { source: text, filename: file, schema: YAML_SCHEMA });
    } catch (err) {
      if (err instanceof YAMLException) {
        throw new ManifestError(file, err.mark ? err.mark.line + 1 : 0, `invalid YAML: ${err.reason}`);
      }
      throw err;
    }
  }
  const pos = events ? positions(events, text, lineOf) : [];
  const firstLine = lineOf(text.search(/\S|$/));
  return values.map((value, n) => ({ value, line: pos[n]?.line || firstLine, itemLines: pos[n]?.itemLines ?? [] }));
}

function fail(file: string, line: number, what: string, hint?: string): never {
  throw new ManifestError(file, line, what, hint);
}

/** Adds one API object (or, for a List, its items) to `into`. */
function addObject(file: string, line: number, itemLines: number[], o: unknown, into: ManifestSet): void {
  if (o === null || o === undefined) return; // an empty document, e.g. after a trailing `---`
  if (!isObject(o)) fail(file, line, `expected a Kubernetes object (a mapping with apiVersion, kind and metadata), found ${Array.isArray(o) ? 'a list' : typeof o}`);
  const kind = o.kind;
  const apiVersion = o.apiVersion;
  if (typeof kind !== 'string' || kind === '') fail(file, line, 'object has no kind', 'every manifest needs apiVersion and kind, e.g. apiVersion: v1 and kind: Service');
  if (typeof apiVersion !== 'string' || apiVersion === '') fail(file, line, `${kind} has no apiVersion`, 'every manifest needs apiVersion, e.g. v1 for a Service or discovery.k8s.io/v1 for an EndpointSlice');
  if (kind.endsWith('List') && Array.isArray(o.items)) {
    o.items.forEach((item, n) => addObject(file, itemLines[n] ?? line, [], item, into));
    return;
  }
  const known = KINDS[`${apiVersion} ${kind}`];
  if (known === undefined) {
    const what = `${apiVersion} ${kind}`;
    into.ignored.set(what, (into.ignored.get(what) ?? 0) + 1);
    return;
  }
  if (!isObject(o.metadata)) fail(file, line, `${kind} has no metadata`, 'add metadata.name (and metadata.namespace)');
  const meta = o.metadata;
  if (typeof meta.name !== 'string' || meta.name === '') fail(file, line, `${kind} has no metadata.name`, 'every object needs a name');
  if (meta.namespace !== undefined && typeof meta.namespace !== 'string') fail(file, line, `${kind} ${meta.name}: metadata.namespace must be a string`);
  // Like kubectl, a namespaced object without a namespace lands in `default`.
  const withNs = known === 'Namespace' || meta.namespace ? o : { ...o, metadata: { ...meta, namespace: 'default' } };
  const labels = labelMap(meta.labels);
  const at = { file, line, labels };
  switch (known) {
    case 'Service':
      into.objects.push({ ...at, kind: known, object: trimService(withNs) });
      break;
    case 'EndpointSlice': {
      if (!labels['kubernetes.io/service-name']) {
        fail(file, line, `EndpointSlice ${meta.name} has no kubernetes.io/service-name label`, 'set metadata.labels["kubernetes.io/service-name"] to the name of the Service it belongs to');
      }
      into.objects.push({ ...at, kind: known, object: trimEndpointSlice(withNs) });
      break;
    }
    case 'Namespace':
      into.objects.push({ ...at, kind: known, object: trimNamespace(withNs) });
      break;
    case 'Pod':
      into.objects.push({ ...at, kind: known, object: trimPod(withNs) });
      break;
  }
}

/** Identity of an object within a manifest set. */
export function manifestKey(m: ManifestObject): string {
  return m.kind === 'Namespace' ? `Namespace/${m.object.name}` : `${m.kind}/${m.object.namespace}/${m.object.name}`;
}

/** Reads every manifest under `path`; throws ManifestError on the first problem. */
export function readManifests(path: string): ManifestSet {
  const set: ManifestSet = { objects: [], files: manifestFiles(path), ignored: new Map() };
  for (const file of set.files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ManifestError(file, 0, `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    for (const doc of parseDocuments(file, text)) addObject(file, doc.line, doc.itemLines, doc.value, set);
  }
  const seen = new Map<string, ManifestObject>();
  for (const m of set.objects) {
    const key = manifestKey(m);
    const first = seen.get(key);
    const name = key.slice(key.indexOf('/') + 1);
    if (first) fail(m.file, m.line, `duplicate ${m.kind} ${name}, also defined at ${first.file}:${first.line}`, 'each kind/namespace/name may appear once');
    seen.set(key, m);
  }
  return set;
}

/** The objects of every manifest under `path` (see readManifests). */
export function loadManifests(path: string): ManifestObject[] {
  return readManifests(path).objects;
}

/** JSON with object keys sorted, so reordering fields in a file is not a change. */
function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (isObject(v)) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

export interface ManifestSourceOptions {
  /** The `labels` option: Services whose labels do not match are left out. */
  labels?: LabelSelector;
  log: (line: string) => void;
  /** How often to compare file sizes and mtimes; the fallback when fs.watch misses an edit. */
  pollIntervalMs?: number;
}

// Namespaces first and Pods last, so a consumer never sees a slice before its Service arrives in
// one reload; deletes go in the reverse order.
const KIND_ORDER: ManifestObject['kind'][] = ['Namespace', 'Service', 'EndpointSlice', 'Pod'];
const DEBOUNCE_MS = 50;

/** Feeds a ClusterSink from manifest files and keeps it in step with edits. */
export class ManifestSource {
  readonly path: string;
  private sink: ClusterSink;
  private opts: ManifestSourceOptions;
  /** What the sink holds now: key -> stable JSON of the delivered object. */
  private delivered = new Map<string, { m: ManifestObject; json: string }>();
  private fingerprint = '';
  private lastError = '';
  private watcher: FSWatcher | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private debounceTimer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(path: string, sink: ClusterSink, opts: ManifestSourceOptions) {
    this.path = path;
    this.sink = sink;
    this.opts = opts;
  }

  /** Loads and delivers everything, then `synced()`; throws ManifestError on a bad set. */
  start(): void {
    const set = this.read();
    this.apply(set);
    this.sink.synced();
    const ignored = [...set.ignored].map(([what, n]) => `${n} ${what}`).join(', ');
    this.opts.log(
      `[INFO] plugin/kubernetes: loaded ${set.objects.length} objects from ${set.files.length} manifest file${set.files.length === 1 ? '' : 's'} in ${this.path}${ignored ? ` (ignored: ${ignored})` : ''}`,
    );
    this.running = true;
    this.watch();
    this.schedulePoll();
  }

  /** Re-reads now; true when the files were applied, false when they were bad and the previous state kept. */
  reload(): boolean {
    let set: ManifestSet;
    try {
      set = this.read();
    } catch (err) {
      const msg = err instanceof ManifestError ? err.message : `${this.path}: ${(err as Error).message}`;
      // Once per distinct problem: the poll would otherwise repeat it every interval.
      if (msg !== this.lastError) this.opts.log(`[ERROR] plugin/kubernetes: ${msg}; keeping the previous manifests`);
      this.lastError = msg;
      return false;
    }
    if (this.lastError !== '') this.opts.log(`[INFO] plugin/kubernetes: manifests in ${this.path} are valid again`);
    this.lastError = '';
    const { upserts, deletes } = this.apply(set);
    if (upserts + deletes > 0) this.opts.log(`[INFO] plugin/kubernetes: reloaded manifests from ${this.path}: ${upserts} updated, ${deletes} deleted`);
    return true;
  }

  /** Stops watching; leaves no timers or watchers behind. */
  stop(): void {
    this.running = false;
    this.watcher?.close();
    this.watcher = undefined;
    clearTimeout(this.pollTimer);
    clearTimeout(this.debounceTimer);
    this.pollTimer = this.debounceTimer = undefined;
  }

  private read(): ManifestSet {
    // Taken before reading, so an edit landing mid-read shows up as a change at the next poll.
    this.fingerprint = this.currentFingerprint();
    const set = readManifests(this.path);
    const sel = this.opts.labels;
    if (sel && !sel.empty) set.objects = set.objects.filter((m) => m.kind !== 'Service' || sel.matches(m.labels));
    return set;
  }

  /** Sends the sink the differences between what it holds and `set`. */
  private apply(set: ManifestSet): { upserts: number; deletes: number } {
    const next = new Map<string, { m: ManifestObject; json: string }>();
    for (const m of set.objects) next.set(manifestKey(m), { m, json: stableJson(m.object) });
    const byKind = (a: ManifestObject, b: ManifestObject) => KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind);
    const changed = [...next.values()].filter((e) => this.delivered.get(manifestKey(e.m))?.json !== e.json).map((e) => e.m);
    const gone = [...this.delivered.entries()].filter(([k]) => !next.has(k)).map(([, e]) => e.m);
    changed.sort(byKind);
    gone.sort((a, b) => byKind(b, a));
    // The new state is recorded first: if the sink throws, the next reload retries the rest.
    this.delivered = next;
    for (const m of changed) this.upsert(m);
    for (const m of gone) this.remove(m);
    return { upserts: changed.length, deletes: gone.length };
  }

  private upsert(m: ManifestObject): void {
    switch (m.kind) {
      case 'Service':
        return this.sink.upsertService(m.object);
      case 'EndpointSlice':
        return this.sink.upsertSlice(m.object);
      case 'Namespace':
        return this.sink.upsertNamespace(m.object);
      case 'Pod':
        return this.sink.upsertPod(m.object);
    }
  }

  private remove(m: ManifestObject): void {
    switch (m.kind) {
      case 'Service':
        return this.sink.deleteService(m.object.namespace, m.object.name);
      case 'EndpointSlice':
        return this.sink.deleteSlice(m.object.namespace, m.object.name);
      case 'Namespace':
        return this.sink.deleteNamespace(m.object.name);
      case 'Pod':
        return this.sink.deletePod(m.object.namespace, m.object.name);
    }
  }

  /** Sizes, mtimes and inodes of the manifest files; '' when the path cannot be read. */
  private currentFingerprint(): string {
    try {
      return manifestFiles(this.path)
        .map((f) => {
          try {
            const st = statSync(f);
            return `${f}\0${st.size}\0${st.mtimeMs}\0${st.ino}`;
          } catch {
            return `${f}\0gone`;
          }
        })
        .join('\n');
    } catch (err) {
      return `error\0${(err as Error).message}`;
    }
  }

  // fs.watch reports edits at once where the platform supports it; the poll is the reliable part
  // (network filesystems, ConfigMap symlink swaps, platforms without recursive watching).
  private watch(): void {
    let isDir = false;
    try {
      isDir = statSync(this.path).isDirectory();
    } catch {
      return;
    }
    // A single file is watched through its directory: editors save by renaming a new file over
    // the old one, which ends a watch on the file itself.
    const target = isDir ? this.path : dirname(this.path);
    const only = isDir ? undefined : basename(this.path);
    try {
      const w = watch(target, { recursive: isDir, persistent: true }, (_event, name) => {
        if (only === undefined || name === null || name === only) this.changed(true);
      });
      // A watcher that fails (the directory was removed, say) is dropped; the poll carries on.
      w.on('error', () => {
        w.close();
        if (this.watcher === w) this.watcher = undefined;
      });
      this.watcher = w;
    } catch {
      this.watcher = undefined;
    }
  }

  /** `restart`: a fresh event that puts the reload off again (a burst of writes is one reload). */
  private changed(restart: boolean): void {
    if (!this.running || (this.debounceTimer !== undefined && !restart)) return;
    clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = undefined;
      if (!this.running) return;
      try {
        this.reload();
      } catch (err) {
        // A sink that throws must not end watching; say so and try again on the next change.
        this.opts.log(`[ERROR] plugin/kubernetes: applying manifests from ${this.path}: ${(err as Error).message}`);
      }
    }, DEBOUNCE_MS);
  }

  private schedulePoll(): void {
    if (!this.running) return;
    this.pollTimer = setTimeout(() => {
      this.pollTimer = undefined;
      if (!this.running) return;
      // Not a fresh event: the poll sees the same pending change again until the reload runs.
      if (this.currentFingerprint() !== this.fingerprint) this.changed(false);
      this.schedulePoll();
    }, this.opts.pollIntervalMs ?? 2000);
  }
}
