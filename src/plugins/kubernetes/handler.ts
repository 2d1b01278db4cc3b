// kubernetes, worker side: answers from the record table the primary keeps in sync with the
// cluster. Extra work per query only where the table cannot hold the answer:
// - before the first sync: SERVFAIL, never an NXDOMAIN that could be wrong;
// - `fallthrough`: a name the table does not have goes to the next plugin;
// - `pods insecure`: `a-b-c-d.<ns>.pod.<zone>` is answered from the name itself.
import { provideKubernetesMetadata } from './metadata.ts';
import { isIP } from 'node:net';
import { FLAG_AA, HEADER_SIZE, QCLASS, QTYPE, RCODE } from '../../dns/constants.ts';
import { ipv6Groups } from '../../dns/ip.ts';
import { hashName } from '../../dns/name.ts';
import { type Query, isLabelAt } from '../../dns/query.ts';
import type { ResponseWriter } from '../../dns/response.ts';
import { ASYNC, NEXT, type Handler, type RequestState, type WorkerEnv } from '../../plugin/types.ts';
import { answerEntry, appendZoneSoa } from '../../table/answer.ts';
import { ZoneMatcher, fallthroughMatcher } from '../../table/zone-match.ts';
import type { KubernetesConfig } from './setup.ts';
import { POD_LABEL, PartialTable } from './partial.ts';
import { answerUnsynced } from './unsynced.ts';


export default function create(config: KubernetesConfig, env: WorkerEnv): Handler {
  const zones = new ZoneMatcher(config.zones);
  if (env.metadata) provideKubernetesMetadata(env.metadata, zones);
  const table = env.table(config.tableId);
  const fallthrough = fallthroughMatcher(config.fallthrough, config.zones);
  const podZones = new Set(config.podZones);
  const insecure = config.pods === 'insecure';
  const ttl = config.ttl;
  const partial = new PartialTable(table, zones, podZones, config.pods === 'verified', fallthrough);
  // One A or AAAA record: pointer to the question name, type, class IN, TTL, rdlength, rdata.
  const rr = new Uint8Array(2 + 10 + 16);
  rr[0] = 0xc0;
  rr[1] = HEADER_SIZE;
  rr[5] = 1;
  rr[6] = (ttl >>> 24) & 0xff;
  rr[7] = (ttl >>> 16) & 0xff;
  rr[8] = (ttl >>> 8) & 0xff;
  rr[9] = ttl & 0xff;

  /**
   * `pods insecure` (kube-dns compatibility): the first label is an address with dashes, under
   * `<ns>.pod.<zone>` of a namespace that exists. Returns the record length written into `rr`
   * (0: not a pod name of that form).
   */
  function insecurePod(q: Query, z: number): number {
    const zoneLen = zones.wire[z]!.length;
    if (!podZones.has(zones.names[z]!) || q.labelCount < 3) return 0;
    const nsStart = q.labelStarts[1]!;
    const podStart = q.labelStarts[2]!;
    if (q.labelCount - 3 !== zoneLabels(q, zoneLen)) return 0;
    if (!isLabelAt(q, podStart, POD_LABEL)) return 0;
    // The namespace must exist: its `<ns>.pod.<zone>` name is in the table.
    if (table.findName(q.lower.subarray(nsStart), q.nameLen - nsStart, hashName(q.lower, nsStart, q.nameLen)) === 0) return 0;
    const len = q.lower[0]!;
    if (parseDashedV4(q.lower, 1, len, rr, 12)) {
      rr[3] = QTYPE.A;
      rr[11] = 4;
      return 16;
    }
    if (parseDashedV6(q.lower, 1, len, rr, 12)) {
      rr[3] = QTYPE.AAAA;
      rr[11] = 16;
      return 28;
    }
    return 0;
  }

  return {
    serve(q: Query, w: ResponseWriter, r: RequestState): number {
      if (q.qclass !== QCLASS.IN && q.qclass !== QCLASS.ANY) return NEXT;
      const z = zones.match(q);
      if (z < 0) return NEXT;
      if (!table.ready) return answerUnsynced(fallthrough, q, w);
      const entry = table.find(q);
      if (table.partial) {
        // A big cluster's first sync is still going in: answer only what the table vouches for.
        const what = partial.needs(q, z, entry);
        if (what !== null) {
          if (partial.hold(what, z, r)) return ASYNC;
          w.start(q, RCODE.SERVFAIL, 0);
          return RCODE.SERVFAIL;
        }
      }
      if (entry === 0) {
        if (insecure) {
          const len = insecurePod(q, z);
          if (len > 0) {
            w.start(q, RCODE.NOERROR, FLAG_AA);
            if (q.qtype === rr[3] || q.qtype === QTYPE.ANY) w.appendRecords(rr, 0, len, 1, 0, 0);
            else appendZoneSoa(table, zones, z, q, w);
            return RCODE.NOERROR;
          }
        }
        if (fallthrough !== null && fallthrough.match(q) >= 0) return NEXT;
      }
      return answerEntry(table, zones, z, q, w, entry);
    },
  };
}

/** Labels in a zone's wire name of `zoneLen` bytes, counted at the end of the question. */
function zoneLabels(q: Query, zoneLen: number): number {
  const start = q.nameLen - zoneLen;
  let n = 0;
  for (let i = 0; i < q.labelCount; i++) if (q.labelStarts[i]! >= start) n++;
  return n;
}

/** `10-244-1-5` -> 4 bytes at out[at]; false unless exactly four decimal octets. */
function parseDashedV4(b: Uint8Array, from: number, len: number, out: Uint8Array, at: number): boolean {
  let octet = 0;
  let digits = 0;
  let part = 0;
  for (let i = from; i <= from + len; i++) {
    const c = i === from + len ? 0x2d : b[i]!;
    if (c === 0x2d) {
      if (digits === 0 || part > 3) return false;
      out[at + part++] = octet;
      octet = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39 && digits < 3) {
      octet = octet * 10 + (c - 0x30);
      if (octet > 255) return false;
      digits++;
    } else {
      return false;
    }
  }
  return part === 4;
}

/** `fd00--1` (colons written as dashes) -> 16 bytes at out[at]. Rare: may allocate. */
function parseDashedV6(b: Uint8Array, from: number, len: number, out: Uint8Array, at: number): boolean {
  let text = '';
  for (let i = from; i < from + len; i++) {
    const c = b[i]!;
    if (c === 0x2d) text += ':';
    else if ((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66)) text += String.fromCharCode(c);
    else return false;
  }
  if (isIP(text) !== 6) return false;
  const groups = ipv6Groups(text);
  for (let g = 0; g < 8; g++) {
    out[at + 2 * g] = groups[g]! >> 8;
    out[at + 2 * g + 1] = groups[g]! & 0xff;
  }
  return true;
}
