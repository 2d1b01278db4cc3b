// ready: `/ready` answers 200 OK once every plugin of the server blocks that enable `ready` and
// can report readiness (kubernetes after its first sync) has done so, else 503 with their names.
// From the start of shutdown it answers 503, so Kubernetes stops sending traffic our way.
import type { PluginDefinition, PrimaryPart, ServerControl } from '../../plugin/types.ts';
import { maxArgs, noBlock } from '../../plugin/args.ts';
import { HttpEndpoint, parseHttpAddress } from '../../plugin/http-endpoint.ts';

/**
 * The address each ready part serves. One /ready answers for every block of the running
 * configuration that enables ready on that address (as in CoreDNS); the blocks are found through
 * ServerControl.parts(), so nothing outlives the configuration that made it (reload).
 */
const addressOf = new WeakMap<PrimaryPart, string>();

export const ready: PluginDefinition = {
  name: 'ready',
  summary: 'HTTP /ready endpoint (default :8181): 200 once every plugin is ready',
  setup(ctx) {
    const d = ctx.directive;
    maxArgs(d, 1, 'ready [ADDRESS]');
    noBlock(d);
    const addr = parseHttpAddress(d.args[0], ':8181');
    const key = `${addr.host ?? ''}:${addr.port}`;

    let control: ServerControl | null = null;
    let shuttingDown = false;
    /** Once a plugin said it is ready it is not asked again (CoreDNS does the same). */
    const readyOnce = new Set<PrimaryPart>();
    const notReady = (ctl: ServerControl): string[] => {
      const parts = ctl.parts();
      const scope = new Set(parts.filter((p) => p.plugin === 'ready' && addressOf.get(p.part) === key).map((p) => p.block));
      const names = new Set<string>();
      for (const { block, plugin, part } of parts) {
        if (!scope.has(block) || !part.ready || readyOnce.has(part)) continue;
        if (part.ready()) readyOnce.add(part);
        else names.add(plugin);
      }
      return [...names].sort();
    };
    const endpoint = new HttpEndpoint(addr, '/ready', (_req, res, older) => {
      // A reload's new configuration is not listening yet: the running one still answers.
      if (control === null && older) return older();
      const waiting = shuttingDown ? ['shutdown'] : control === null ? ['kdns'] : notReady(control);
      if (waiting.length === 0) res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('OK');
      else res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' }).end(waiting.join(','));
    });
    const part: PrimaryPart = {
      start: () => endpoint.start(),
      listening(ctl) {
        control = ctl;
      },
      shutdown() {
        shuttingDown = true;
      },
      stop: () => endpoint.stop(),
    };
    addressOf.set(part, key);
    return { primary: part };
  },
};
