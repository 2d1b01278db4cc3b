// dns64: AAAA records synthesized from A records for IPv6-only clients (RFC 6147), CoreDNS's syntax.
//
//   dns64 [PREFIX]
//   dns64 { prefix PREFIX; translate_all; allow_ipv4 }
import { isIP } from 'node:net';
import type { Token } from '../../corefile/index.ts';
import { ipv6Groups } from '../../dns/ip.ts';
import { metrics } from '../../metrics/index.ts';
import { eachOption, fail, maxArgs, optionArgs } from '../../plugin/args.ts';
import type { PluginDefinition } from '../../plugin/types.ts';
import { serverLabel } from '../prometheus/setup.ts';
import type { Dns64Config } from './handler.ts';

const USAGE = 'dns64 [PREFIX] or dns64 { prefix PREFIX; translate_all; allow_ipv4 }';
const DEFAULT_PREFIX = '64:ff9b::/96';

const translated = metrics.counter({
  name: 'coredns_dns64_requests_translated_total',
  help: 'Counter of DNS requests translated by dns64.',
  labelNames: ['server'],
});

/** An IPv6 prefix of 32, 40, 48, 56, 64 or 96 bits (RFC 6052 2.2), as CoreDNS accepts. */
function prefixArg(t: Token): { bytes: number[]; bits: number } {
  const [addr, len] = t.text.split('/');
  if (addr === undefined || len === undefined || isIP(addr) !== 6 || !/^\d+$/.test(len)) fail(t, `'${t.text}' is not an IPv6 prefix`, 'e.g. 64:ff9b::/96');
  const bits = Number(len);
  if (bits % 8 !== 0 || bits < 32 || bits > 96) fail(t, `invalid prefix length ${bits}`, 'RFC 6052 prefixes are 32, 40, 48, 56, 64 or 96 bits');
  const bytes = ipv6Groups(addr).flatMap((g) => [g >> 8, g & 0xff]);
  for (let i = bits / 8; i < 16; i++) bytes[i] = 0; // the host part is not the prefix's
  return { bytes, bits };
}

export const dns64: PluginDefinition = {
  name: 'dns64',
  summary: 'AAAA records made from A records under a NAT64 prefix for IPv6-only clients (RFC 6147)',
  setup(ctx) {
    const d = ctx.directive;
    maxArgs(d, 1, USAGE);
    let prefix = prefixArg({ ...d.name, text: DEFAULT_PREFIX });
    if (d.args[0]) {
      if (d.block) fail(d.args[0], 'dns64 takes its prefix either as an argument or in its block, not both', `usage: ${USAGE}`);
      prefix = prefixArg(d.args[0]);
    }
    let translateAll = false;
    let allowIpv4 = false;
    eachOption(d, {
      prefix(x) {
        prefix = prefixArg(optionArgs(x, 1, 1, 'prefix PREFIX')[0]!);
      },
      translate_all(x) {
        optionArgs(x, 0, 0, 'translate_all');
        translateAll = true;
      },
      allow_ipv4(x) {
        optionArgs(x, 0, 0, 'allow_ipv4');
        allowIpv4 = true;
      },
    });
    const config: Dns64Config = {
      prefix: prefix.bytes,
      prefixLength: prefix.bits,
      translateAll,
      allowIpv4,
      translated: (ctx.addresses ?? ['']).map((host) => translated.series([serverLabel(host, ctx.block.port, ctx.block.transport)])),
      addresses: ctx.addresses ?? null,
    };
    return { worker: { module: new URL('./handler.ts', import.meta.url).href, config } };
  },
};
