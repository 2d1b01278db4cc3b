// One config for all of a plugin's directives in a server block, for the plugins CoreDNS runs
// as one instance per server whatever the number of lines (acl's policies, rewrite's rules):
// the first directive's setup makes the config and the chain link; later ones add to it and make
// none. Configs go to the workers only once the whole plan is built, so the first can still grow.
import type { SetupContext } from './types.ts';

/** A plugin's configs so far, by block (its plugin list, one array per block and plan) and server. */
export type PerServerConfigs<T> = WeakMap<string[], Map<string, T>>;

/** The server's config made by `make` for its first directive (`first`), the same one after. */
export function configPerServer<T>(store: PerServerConfigs<T>, ctx: SetupContext, make: () => T): { config: T; first: boolean } {
  const names = ctx.plugins ?? [];
  let byServer = store.get(names);
  if (!byServer) store.set(names, (byServer = new Map()));
  // One block with keys on several ports (or schemes) is several servers, each with its chain.
  const server = `${ctx.block.transport ?? 'dns'}:${ctx.block.port}`;
  const found = byServer.get(server);
  if (found !== undefined) return { config: found, first: false };
  const config = make();
  byServer.set(server, config);
  return { config, first: true };
}
