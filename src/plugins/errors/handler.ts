// errors: when a plugin fails a query it leaves its error on the request; this prints it as
// CoreDNS does (`[ERROR] plugin/errors: 2 name. A: text`), or counts it under a consolidate
// pattern and prints one summary per period.
import { typeName } from '../../dns/constants.ts';
import type { Handler, WorkerEnv } from '../../plugin/types.ts';
import type { ErrorsConfig } from './setup.ts';

export default function create(config: ErrorsConfig, env: WorkerEnv): Handler {
  const rules = config.consolidate.map((c) => ({ ...c, re: new RegExp(c.pattern), count: 0, timer: null as NodeJS.Timeout | null }));
  const flush = (rule: (typeof rules)[number]): void => {
    rule.timer = null;
    if (rule.count > 0) env.log(`[${rule.level.toUpperCase()}] plugin/errors: ${rule.count} errors like '${rule.pattern}' occurred in last ${rule.everyMs / 1000}s`);
    rule.count = 0;
  };
  return {
    observe(q, w, r) {
      if (r.error === null) return;
      const line = `${w.rcode} ${q.nameText()} ${typeName(q.qtype)}: ${r.error}`;
      for (const rule of rules) {
        if (rule.re.test(line)) {
          rule.count++;
          if (!rule.timer) {
            rule.timer = setTimeout(() => flush(rule), rule.everyMs);
            rule.timer.unref();
          }
          return;
        }
      }
      env.log(`[ERROR] plugin/errors: ${line}`);
    },
    close() {
      for (const rule of rules) {
        if (rule.timer) clearTimeout(rule.timer);
        flush(rule);
      }
    },
  };
}
