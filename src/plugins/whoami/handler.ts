// whoami: empty answer section; the additional section holds an A or AAAA record with the
// client's address at the query name, and an SRV record `_udp.<qname>`/`_tcp.<qname>` whose
// port is the client's source port (target the root), as CoreDNS's whoami does.
import { isIPv4 } from 'node:net';
import { FLAG_AA, QTYPE, RCODE } from '../../dns/constants.ts';
import { ipv6Groups } from '../../dns/ip.ts';
import type { Handler } from '../../plugin/types.ts';

export default function create(): Handler {
  const addr = new Uint8Array(16);
  return {
    serve(q, w) {
      w.start(q, RCODE.NOERROR, FLAG_AA);
      const ip = q.remoteAddress.startsWith('::ffff:') && isIPv4(q.remoteAddress.slice(7)) ? q.remoteAddress.slice(7) : q.remoteAddress;
      const v4 = isIPv4(ip);
      const n = v4 ? writeV4(ip, addr) : writeV6(ip, addr);
      const b = w.buf;
      let o = w.end;
      b[o++] = 0xc0; b[o++] = 0x0c;
      b[o++] = 0; b[o++] = v4 ? QTYPE.A : QTYPE.AAAA;
      b[o++] = 0; b[o++] = 1;
      b[o++] = 0; b[o++] = 0; b[o++] = 0; b[o++] = 0;
      b[o++] = 0; b[o++] = n;
      b.set(addr.subarray(0, n), o);
      o += n;
      // _udp / _tcp label followed by a pointer to the question name.
      b[o++] = 4; b[o++] = 0x5f;
      if (q.tcp) { b[o++] = 0x74; b[o++] = 0x63; b[o++] = 0x70; } else { b[o++] = 0x75; b[o++] = 0x64; b[o++] = 0x70; }
      b[o++] = 0xc0; b[o++] = 0x0c;
      b[o++] = 0; b[o++] = QTYPE.SRV;
      b[o++] = 0; b[o++] = 1;
      b[o++] = 0; b[o++] = 0; b[o++] = 0; b[o++] = 0;
      b[o++] = 0; b[o++] = 7;
      b[o++] = 0; b[o++] = 0; b[o++] = 0; b[o++] = 0;
      b[o++] = q.remotePort >> 8; b[o++] = q.remotePort & 0xff;
      b[o++] = 0;
      w.end = o;
      w.ar += 2;
      return RCODE.NOERROR;
    },
  };
}

function writeV4(ip: string, out: Uint8Array): number {
  let part = 0;
  let k = 0;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c === 0x2e) { out[k++] = part; part = 0; } else part = part * 10 + (c - 0x30);
  }
  out[k] = part;
  return 4;
}

function writeV6(ip: string, out: Uint8Array): number {
  const groups = ipv6Groups(ip);
  for (let g = 0; g < 8; g++) {
    out[g * 2] = groups[g]! >> 8;
    out[g * 2 + 1] = groups[g]! & 0xff;
  }
  return 16;
}
