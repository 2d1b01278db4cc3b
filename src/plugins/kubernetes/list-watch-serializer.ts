// What client-node's ListWatch (dist/cache.js) imports from its serializer.js, and all it uses
// of it: ObjectSerializer.serialize(selector, 'string') for the label and field selectors, which
// returns the string as it is. The real serializer.js loads client-node's generated models (every
// Kubernetes type's attribute map, ~6 MiB of the primary's heap, bench/RESULTS.md, issue 13) for
// that. client-node-imports.ts points cache.js's import here; any other type goes to the real one.
import { createRequire } from 'node:module';

type Serializer = { serialize(data: unknown, type: string, format?: string): unknown };

let real: Serializer | null = null;

export const ObjectSerializer: Serializer = {
  serialize(data: unknown, type: string, format?: string): unknown {
    if (type === 'string') return data;
    real ??= (createRequire(import.meta.url)('@kubernetes/client-node/dist/serializer.js') as { ObjectSerializer: Serializer }).ObjectSerializer;
    return real.serialize(data, type, format);
  },
};
