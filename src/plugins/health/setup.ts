// health: `/health` answers 200 OK while the process runs (a liveness probe); `lameduck DUR`
// keeps the server answering DNS for DUR after SIGTERM, so clients and kube-proxy move away
// before the listeners close.
import type { PluginDefinition } from '../../plugin/types.ts';
import { eachOption, fail, maxArgs, parseDuration } from '../../plugin/args.ts';
import { HttpEndpoint, parseHttpAddress } from '../../plugin/http-endpoint.ts';

export const health: PluginDefinition = {
  name: 'health',
  summary: 'HTTP /health endpoint (default :8080), with lameduck on shutdown',
  setup(ctx) {
    const d = ctx.directive;
    maxArgs(d, 1, 'health [ADDRESS] { lameduck DURATION }');
    const addr = parseHttpAddress(d.args[0], ':8080');
    let lameduckMs = 0;
    eachOption(d, {
      lameduck(o) {
        if (o.args.length !== 1) fail(o.name, 'lameduck takes one duration', 'e.g. lameduck 5s');
        lameduckMs = parseDuration(o.args[0]!);
      },
    });
    const endpoint = new HttpEndpoint(addr, '/health', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('OK');
    });
    return {
      primary: {
        start: () => endpoint.start(),
        shutdown: () => (lameduckMs > 0 ? new Promise<void>((resolve) => setTimeout(resolve, lameduckMs)) : undefined),
        stop: () => endpoint.stop(),
      },
    };
  },
};
