// Types for compile-cache.js (plain JavaScript: it runs before any TypeScript source loads).
export declare function enableCompileCache(): string | null;
export declare function flushCompileCache(): void;
