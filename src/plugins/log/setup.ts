// log [NAMES...] [FORMAT] { class CLASSES... }
import type { PluginDefinition } from '../../plugin/types.ts';
import { eachOption, fail } from '../../plugin/args.ts';
import { canonicalName } from '../../dns/name.ts';

export const COMMON_FORMAT = '{remote}:{port} - {>id} "{type} {class} {name} {proto} {size} {>do} {>bufsize}" {rcode} {>rflags} {rsize} {duration}';
export const COMBINED_FORMAT = `${COMMON_FORMAT} "{>opcode}"`;
const CLASSES = ['all', 'success', 'denial', 'error'] as const;

export interface LogRule {
  zones: string[];
  format: string;
  classes: string[];
}

export const log: PluginDefinition = {
  name: 'log',
  summary: 'logs every query (CoreDNS log line format, class filter)',
  repeatable: true,
  setup(ctx) {
    const d = ctx.directive;
    const zones: string[] = [];
    let format = COMMON_FORMAT;
    for (const t of d.args) {
      if (t.text === '{common}') format = COMMON_FORMAT;
      else if (t.text === '{combined}') format = COMBINED_FORMAT;
      else if (t.text.includes('{')) format = t.text;
      else zones.push(canonicalName(t.text));
    }
    const classes: string[] = [];
    eachOption(d, {
      class(o) {
        if (o.args.length === 0) fail(o.name, 'class needs at least one of all, success, denial, error');
        for (const c of o.args) {
          if (!(CLASSES as readonly string[]).includes(c.text)) fail(c, `unknown log class '${c.text}'`, 'use all, success, denial or error');
          classes.push(c.text);
        }
      },
    });
    const rule: LogRule = { zones: zones.length ? zones : ['.'], format, classes: classes.length ? classes : ['all'] };
    return { worker: { module: new URL('./handler.ts', import.meta.url).href, config: rule } };
  },
};
