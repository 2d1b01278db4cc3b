// errors [{ consolidate DURATION REGEXP [LEVEL]; stacktrace }]
import type { PluginDefinition } from '../../plugin/types.ts';
import { eachOption, fail, noArgs, parseDuration } from '../../plugin/args.ts';

export interface ErrorsConfig {
  consolidate: Array<{ everyMs: number; pattern: string; level: string }>;
}

const LEVELS = ['warning', 'error', 'info', 'debug'];

export const errors: PluginDefinition = {
  name: 'errors',
  summary: 'logs errors met while answering queries',
  setup(ctx) {
    const d = ctx.directive;
    noArgs(d);
    const config: ErrorsConfig = { consolidate: [] };
    eachOption(d, {
      consolidate(o) {
        if (o.args.length < 2 || o.args.length > 3) fail(o.name, 'consolidate needs a duration and a regular expression', 'consolidate 5m ".* i/o timeout$" [warning|error|info|debug]');
        const everyMs = parseDuration(o.args[0]!);
        try {
          new RegExp(o.args[1]!.text);
        } catch {
          fail(o.args[1]!, `'${o.args[1]!.text}' is not a valid regular expression`);
        }
        const level = o.args[2]?.text ?? 'error';
        if (!LEVELS.includes(level)) fail(o.args[2]!, `unknown level '${level}'`, `use ${LEVELS.join(', ')}`);
        config.consolidate.push({ everyMs, pattern: o.args[1]!.text, level });
      },
      // Accepted for CoreDNS compatibility; a failing plugin's message is always logged.
      stacktrace() {},
    });
    return { worker: { module: new URL('./handler.ts', import.meta.url).href, config } };
  },
};
