// Module resolution hook for the primary (installed by bin/kdns.js before the server's modules
// load): client-node's ListWatch gets list-watch-serializer.ts instead of its serializer.js.
// Without --import or a loader thread: module.registerHooks runs in this thread (Node >= 22.15);
// on an older Node nothing is redirected and the real serializer loads, which only costs memory.
import module from 'node:module';

const LIST_WATCH = '/@kubernetes/client-node/dist/cache.js';
const SHIM = new URL('./list-watch-serializer.ts', import.meta.url).href;

export function slimClientNodeImports(): void {
  const register = (module as { registerHooks?: (hooks: { resolve: Resolve }) => unknown }).registerHooks;
  if (typeof register !== 'function') return;
  register({
    resolve(specifier, context, next) {
      if (specifier === './serializer.js' && context.parentURL?.endsWith(LIST_WATCH)) return { url: SHIM, shortCircuit: true };
      return next(specifier, context);
    },
  });
}

type Resolve = (
  specifier: string,
  context: { parentURL?: string },
  next: (specifier: string, context: { parentURL?: string }) => { url: string },
) => { url: string; shortCircuit?: boolean };
