// The worker thread's entry point (piscina's filename): turns on the compile cache before the
// TypeScript worker module loads, so this thread never loads Node's type stripper (see
// bin/compile-cache.js), then hands piscina the task function.
import { enableCompileCache, flushCompileCache } from '../bin/compile-cache.js';

enableCompileCache();
const { default: serve } = await import('./dns-worker.ts');
flushCompileCache();
export default serve;
