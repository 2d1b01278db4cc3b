// Domain names in wire form (RFC 1035 3.1), off the hot path except hashName.

/** Largest wire-form name (RFC 1035 2.3.4). */
export const MAX_NAME_WIRE = 255;
export const MAX_LABEL = 63;

/** Lower-cases an ASCII byte; DNS compares names case-insensitively over ASCII only (RFC 4343). */
export function lowerByte(b: number): number {
  return b >= 0x41 && b <= 0x5a ? b | 0x20 : b;
}

/**
 * FNV-1a over the lower-cased wire name. The primary (when it stores a name) and the workers
 * (when they parse a question) must hash identically, so both call this or inline the same steps.
 */
export function hashName(wire: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ lowerByte(wire[i]!), 0x01000193);
  return h | 0;
}

/** Hash step exported so the hot-path parser can fold it into its label walk. */
export const FNV_OFFSET = 0x811c9dc5 | 0;
export const FNV_PRIME = 0x01000193;

/** Canonical text form: lower case, trailing dot, `\.`-free (we never need escaped dots). */
export function canonicalName(name: string): string {
  let n = name.trim().toLowerCase();
  if (n === '' || n === '.') return '.';
  if (!n.endsWith('.')) n += '.';
  return n;
}

/** Splits a canonical name into labels; the root has none. */
export function labelsOf(name: string): string[] {
  const n = canonicalName(name);
  return n === '.' ? [] : n.slice(0, -1).split('.');
}

const WIRE_SCRATCH = Buffer.alloc(MAX_NAME_WIRE + MAX_LABEL + 4);
/** One view of the scratch per length, made once: a lookup per name makes no view object. */
const WIRE_VIEWS: Uint8Array[] = [];

function wireView(len: number): Uint8Array {
  return (WIRE_VIEWS[len] ??= new Uint8Array(WIRE_SCRATCH.buffer, WIRE_SCRATCH.byteOffset, len));
}

/** Text name -> lower-cased wire bytes. Throws on empty or oversized labels. */
export function nameToWire(name: string): Uint8Array {
  // A copy: the view is scratch space.
  return new Uint8Array(canonicalNameToWireView(canonicalName(name), name));
}

/**
 * nameToWire for a name already in canonicalName()'s form, into scratch space: the view is valid
 * until the next call (a lookup that keeps nothing, such as the record store's table lookups,
 * allocates no buffer and no lower-cased copy).
 */
export function canonicalNameToWireView(n: string, name = n): Uint8Array {
  // ASCII (the common case) in one pass: each byte copied as the dots are found, a label's
  // length byte filled in when its dot is reached.
  let lenAt = 0;
  let o = 1;
  for (let i = 0; i < n.length; i++) {
    const c = n.charCodeAt(i);
    if (c > 0x7f || o >= MAX_NAME_WIRE) return labelWiseToWireView(n, name);
    if (c !== 0x2e) {
      WIRE_SCRATCH[o++] = c;
      continue;
    }
    const len = o - lenAt - 1;
    if (len === 0 || len > MAX_LABEL) return labelWiseToWireView(n, name); // it throws the reason
    WIRE_SCRATCH[lenAt] = len;
    lenAt = o++;
  }
  // No trailing dot (not canonical) or longer than a name may be: the label-wise path decides.
  if (lenAt !== o - 1 || o > MAX_NAME_WIRE) return labelWiseToWireView(n, name);
  WIRE_SCRATCH[lenAt] = 0;
  return wireView(o);
}

/** Label by label, for names with non-ASCII labels (UTF-8) and for the errors. */
function labelWiseToWireView(n: string, name: string): Uint8Array {
  if (n === '.') {
    WIRE_SCRATCH[0] = 0;
    return wireView(1);
  }
  let o = 0;
  for (let start = 0; start < n.length; ) {
    const dot = n.indexOf('.', start);
    let len = dot - start;
    if (len === 0) throw new Error(`empty label in name "${name}"`);
    let ascii = true;
    for (let i = start; i < dot; i++) if (n.charCodeAt(i) > 0x7f) ascii = false;
    if (!ascii) len = Buffer.byteLength(n.slice(start, dot));
    if (len > MAX_LABEL) throw new Error(`label longer than ${MAX_LABEL} bytes in name "${name}"`);
    if (o + 1 + len + 1 > MAX_NAME_WIRE) throw new Error(`name "${name}" is longer than ${MAX_NAME_WIRE} bytes`);
    WIRE_SCRATCH[o++] = len;
    if (ascii) for (let i = start; i < dot; i++) WIRE_SCRATCH[o++] = n.charCodeAt(i);
    else o += WIRE_SCRATCH.write(n.slice(start, dot), o);
    start = dot + 1;
  }
  WIRE_SCRATCH[o++] = 0;
  return wireView(o);
}

/** Wire name (no compression pointers) at `start` -> text with trailing dot. */
export function wireToName(wire: Uint8Array, start = 0): string {
  const parts: string[] = [];
  let i = start;
  while (i < wire.length) {
    const len = wire[i]!;
    if (len === 0) break;
    parts.push(Buffer.from(wire.subarray(i + 1, i + 1 + len)).toString('latin1'));
    i += 1 + len;
  }
  return parts.length === 0 ? '.' : parts.join('.') + '.';
}

/** True when `name` equals `zone` or lies below it (both canonical). */
/** A reverse zone (in-addr.arpa. or ip6.arpa., or narrower): its names are PTR names. */
export function isReverseZone(zone: string): boolean {
  return isSubdomain(zone, 'in-addr.arpa.') || isSubdomain(zone, 'ip6.arpa.');
}

export function isSubdomain(name: string, zone: string): boolean {
  if (zone === '.') return true;
  return name === zone || name.endsWith('.' + zone);
}
