import { randomBytes } from 'node:crypto';
import { nameToWire } from '../../dns/name.ts';
import type { PluginDefinition } from '../../plugin/types.ts';
import { fail, noArgs, noBlock } from '../../plugin/args.ts';
import type { LoopConfig } from './handler.ts';
import { LoopProbe } from './probe.ts';
import { STATE_BYTES } from './state.ts';

export const loop: PluginDefinition = {
  name: 'loop',
  summary: 'stops the server when its own probe query comes back to it (a forwarding loop)',
  setup(ctx) {
    noArgs(ctx.directive);
    noBlock(ctx.directive);
    // CoreDNS probes the first zone of the block with `<rand.Int()>.<rand.Int()>.<zone>`.
    const zone = ctx.block.zones[0] ?? '.';
    const name = `${randomInt63()}.${randomInt63()}.${zone === '.' ? '' : zone}`;
    let wire: Uint8Array;
    try {
      wire = nameToWire(name);
    } catch {
      fail(ctx.directive.name, `zone ${zone} is too long for loop's probe name`, 'loop needs 40 bytes of room below the first zone of the block');
    }
    const state = new SharedArrayBuffer(STATE_BYTES);
    const config: LoopConfig = { probe: Array.from(wire), state };
    return {
      worker: { module: new URL('./handler.ts', import.meta.url).href, config },
      primary: new LoopProbe({ name, wire, zone, port: ctx.block.port, state }),
    };
  },
};

/** A non-negative 63-bit number in decimal, as Go's rand.Int(). */
function randomInt63(): string {
  return (randomBytes(8).readBigUInt64BE(0) >> 1n).toString();
}
