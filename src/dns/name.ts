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

/** Text name -> lower-cased wire bytes. Throws on empty or oversized labels. */
export function nameToWire(name: string): Uint8Array {
  const labels = labelsOf(name);
  let size = 1;
  for (const l of labels) {
    const len = Buffer.byteLength(l);
    if (len === 0) throw new Error(`empty label in name "${name}"`);
    if (len > MAX_LABEL) throw new Error(`label longer than ${MAX_LABEL} bytes in name "${name}"`);
    size += 1 + len;
  }
  if (size > MAX_NAME_WIRE) throw new Error(`name "${name}" is longer than ${MAX_NAME_WIRE} bytes`);
  const out = new Uint8Array(size);
  let o = 0;
  for (const l of labels) {
    const bytes = Buffer.from(l);
    out[o++] = bytes.length;
    out.set(bytes, o);
    o += bytes.length;
  }
  out[o] = 0;
  return out;
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
export function isSubdomain(name: string, zone: string): boolean {
  if (zone === '.') return true;
  return name === zone || name.endsWith('.' + zone);
}
