// timeouts { read DUR; write DUR; idle DUR } — for kdns's TCP and DoT listeners the idle timeout
// is what applies: a connection with no complete query for that long is closed (RFC 7766 6.2.3);
// for DoH it is the idle time of an HTTP connection.
import type { Directive } from '../../corefile/index.ts';
import type { PluginDefinition } from '../../plugin/types.ts';
import { eachOption, fail, noArgs, parseDuration } from '../../plugin/args.ts';

const MAX_MS = 24 * 3_600_000;

export const timeouts: PluginDefinition = {
  name: 'timeouts',
  summary: 'sets the read, write and idle timeouts of TCP, DoT and DoH connections',
  setup(ctx) {
    const d = ctx.directive;
    noArgs(d);
    if (!d.block || d.block.length === 0) fail(d.name, 'timeouts needs a block with at least one of read, write, idle', 'timeouts { idle 10s }');
    let idle: number | undefined;
    const one = (o: Directive): number => {
      if (o.args.length !== 1) fail(o.name, `${o.name.text} needs one duration`, `${o.name.text} 30s`);
      const ms = parseDuration(o.args[0]!);
      if (ms <= 0 || ms > MAX_MS) fail(o.args[0]!, `${o.name.text} must be between 1ms and 24h`);
      return ms;
    };
    eachOption(d, {
      read: (o) => { idle = Math.min(idle ?? Infinity, one(o)); },
      write: (o) => { one(o); },
      idle: (o) => { idle = Math.min(idle ?? Infinity, one(o)); },
    });
    return idle === undefined ? {} : { tcpIdleTimeoutMs: idle };
  },
};
