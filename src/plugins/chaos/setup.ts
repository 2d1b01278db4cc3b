import { hostname } from 'node:os';
import { noBlock } from '../../plugin/args.ts';
import type { PluginDefinition } from '../../plugin/types.ts';
import { NAME, VERSION } from '../../version.ts';
import type { ChaosConfig } from './handler.ts';

/** What authors.bind says without AUTHORS (CoreDNS lists its OWNERS' handles; kdns has no such file). */
const DEFAULT_AUTHORS = [`${NAME} developers`];

export const chaos: PluginDefinition = {
  name: 'chaos',
  summary: 'CH TXT answers for version.bind, version.server, authors.bind, hostname.bind and id.server',
  setup(ctx) {
    noBlock(ctx.directive);
    const [version, ...authors] = ctx.directive.args.map((t) => t.text);
    const config: ChaosConfig = {
      version: version ?? `${NAME}-${VERSION}`,
      authors: authors.length > 0 ? authors : DEFAULT_AUTHORS,
      // CoreDNS reads the hostname once, at setup.
      hostname: hostname(),
    };
    return { worker: { module: new URL('./handler.ts', import.meta.url).href, config } };
  },
};
