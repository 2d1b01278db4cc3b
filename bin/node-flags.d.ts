// Types for node-flags.js (plain JavaScript: the entry point's own files run before TypeScript can).
export declare const PRIMARY_NODE_FLAGS: string[];
export declare const PRIMARY_ENV: Record<string, string>;
