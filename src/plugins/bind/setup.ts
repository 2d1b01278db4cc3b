// bind: the addresses a server block listens on (default: every address).
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { PluginDefinition } from '../../plugin/types.ts';
import { fail, noBlock } from '../../plugin/args.ts';

export const bind: PluginDefinition = {
  name: 'bind',
  summary: 'listens only on the given addresses or interfaces',
  setup(ctx) {
    const d = ctx.directive;
    if (d.args.length === 0) fail(d.name, 'bind needs at least one address or interface', 'bind 127.0.0.1 ::1');
    const addresses: string[] = [];
    const excluded = new Set<string>();
    let except = false;
    for (const t of d.args) {
      if (t.text === 'except') {
        except = true;
        continue;
      }
      const found = resolve(t.text);
      if (found.length === 0) fail(t, `'${t.text}' is neither an IP address nor a network interface of this machine`);
      for (const a of found) {
        if (except) excluded.add(a);
        else addresses.push(a);
      }
    }
    noBlock(d);
    const result = [...new Set(addresses)].filter((a) => !excluded.has(a));
    if (result.length === 0) fail(d.name, 'bind excludes every address it names');
    return { bindAddresses: result };
  },
};

function resolve(text: string): string[] {
  if (isIP(text)) return [text];
  const iface = networkInterfaces()[text];
  return iface ? iface.filter((i) => !i.address.startsWith('fe80')).map((i) => i.address) : [];
}
