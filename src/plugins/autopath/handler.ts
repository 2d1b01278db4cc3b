// autopath, worker side: server-side search path completion (as CoreDNS's autopath). A query
// for the first element of a client's search path (`<name>.<ns>.svc.<zone>` for a pod of
// <ns>) is tried with each element in turn by the plugins after this one, and the first answer
// that is not NXDOMAIN goes back under the client's name, behind a CNAME from it to the name
// that answered: one query where the client's resolver would have sent one per element.
//
// Cost for the queries it does not complete: a zone test and a label test; a name the cluster
// has (`my-svc.my-ns.svc.cluster.local`) is answered by the plugins after this one as usual,
// after one table lookup and the client's namespace check (counted as a success, as CoreDNS
// counts the first element's answer). The walk itself (sub-queries, the answer decoded and
// encoded with dns-packet) is the slow path, taken instead of the client's own walk.
import { FLAG_AA, FLAG_AD, FLAG_RA, HEADER_SIZE, RCODE } from '../../dns/constants.ts';
import { replaceQuestion } from '../../dns/message.ts';
import { appendPacketRecords, decodeSections } from '../../dns/packet-records.ts';
import { labelsOf, nameToWire, wireToName } from '../../dns/name.ts';
import { type Query, isLabelAt } from '../../dns/query.ts';
import type { ResponseWriter } from '../../dns/response.ts';
import { listenerIndex } from '../../plugin/listen-address.ts';
import { answerFromSubQueries } from '../../plugin/sub-queries.ts';
import { NEXT, type Handler, type RequestState, type WorkerEnv } from '../../plugin/types.ts';
import { ZoneMatcher } from '../../table/zone-match.ts';
import type { AutopathRequest } from '../kubernetes/autopath-link.ts';
import { ClientNamespace } from './client-namespace.ts';

export interface AutopathConfig {
  /** Zones autopath acts in (its ZONE arguments, else the block's). */
  zones: string[];
  /** RESOLV-CONF as a file: its search domains (canonical), the same path for every client. */
  search: string[] | null;
  /** `@kubernetes`: filled in by the kubernetes plugin's setup (null: none in this block). */
  link: AutopathRequest | null;
  /** coredns_autopath_success_total slot per address the block listens on. */
  success: number[];
  addresses: string[] | null;
}

const SVC = [3, 0x73, 0x76, 0x63];
const ROOT = new Uint8Array([0]);
const MAX_NAME = 255;
const FAILED = new Set<number>([RCODE.SERVFAIL, RCODE.REFUSED, RCODE.FORMERR, RCODE.NOTIMP]);

export default function create(config: AutopathConfig, env: WorkerEnv): Handler {
  const zones = new ZoneMatcher(config.zones);
  const k8s = config.link?.kubernetes ?? null;
  const fileSearch = config.search === null ? null : [...config.search.map((n) => nameToWire(n)), ROOT];
  /** A resolv.conf's first domain, as a zone: the query must lie below it. */
  const firstDomain = config.search === null ? null : new ZoneMatcher([config.search[0]!]);
  const kzones = k8s === null ? null : new ZoneMatcher(k8s.zones);
  const kzoneLabels = kzones?.names.map((n) => labelsOf(n).length) ?? [];
  const hostSearch = k8s === null ? [] : k8s.hostSearch.map((n) => nameToWire(n));
  const table = k8s === null ? null : env.table(k8s.tableId);
  const clients = table === null ? null : new ClientNamespace(table, k8s!.podsVerified);
  const count = (localAddress: string): void => {
    env.metrics.inc(config.success[listenerIndex(config.addresses, localAddress)]!);
  };

  /**
   * @kubernetes: the suffixes to try (`<ns>.svc.<zone>`, `svc.<zone>`, `<zone>`, the host's,
   * the root) and where the base name ends, when `q` is the first element for its client.
   */
  function kubernetesPath(q: Query): { baseLen: number; suffixes: Uint8Array[] } | null {
    const z = kzones!.match(q);
    if (z < 0) return null;
    const svcIndex = q.labelCount - kzoneLabels[z]! - 1;
    if (svcIndex < 2 || !isLabelAt(q, q.labelStarts[svcIndex]!, SVC)) return null;
    if (!table!.ready) return null; // the kubernetes plugin answers SERVFAIL meanwhile
    const nsAt = q.labelStarts[svcIndex - 1]!;
    if (!clients!.isIn(q, nsAt, q.remoteAddress)) return null;
    if (table!.find(q) !== 0) {
      // The first element answers: the plugins after this one write it as they would anyway.
      count(q.localAddress);
      return null;
    }
    const svcAt = q.labelStarts[svcIndex]!;
    const zoneAt = q.nameLen - kzones!.wire[z]!.length;
    return {
      baseLen: nsAt,
      suffixes: [q.lower.slice(nsAt, q.nameLen), q.lower.slice(svcAt, q.nameLen), q.lower.slice(zoneAt, q.nameLen), ...hostSearch, ROOT],
    };
  }

  /** A resolv.conf's list: the query ends in its first domain, below it by a label or more. */
  function filePath(q: Query): { baseLen: number; suffixes: Uint8Array[] } | null {
    if (firstDomain!.match(q) < 0) return null;
    const at = q.nameLen - firstDomain!.wire[0]!.length;
    return at === 0 ? null : { baseLen: at, suffixes: fileSearch! };
  }

  return {
    serve(q, w, r) {
      if (zones.match(q) < 0) return NEXT;
      const path = kzones !== null ? kubernetesPath(q) : firstDomain !== null ? filePath(q) : null;
      if (path === null) return NEXT;
      return walk(q, w, r, path.baseLen, path.suffixes);
    },
  };

  /**
   * Tries `<base>.<suffix>` for each suffix with the plugins after this one, until one answers
   * with anything but NXDOMAIN (or a failure rcode, as CoreDNS goes on past those). Synchronous
   * while the answers are (cluster names); once a plugin defers (forward), the client's query
   * is deferred too and the walk goes on as the answers come.
   */
  function walk(q: Query, w: ResponseWriter, r: RequestState, baseLen: number, suffixes: Uint8Array[]): number {
    const client = Buffer.from(q.msg.subarray(0, q.len));
    const questionEnd = q.questionEnd;
    const qtype = q.qtype;
    const qclass = q.qclass;
    // The client's spelling of its name: the base keeps its case, as the CNAME owner does.
    const base = client.subarray(HEADER_SIZE, HEADER_SIZE + baseLen);
    const original = wireToName(client, HEADER_SIZE);
    const localAddress = q.localAddress;
    return answerFromSubQueries(q, w, r, 'autopath', (chain, end) => {
      let i = 0;
      const tryNext = (): void => {
        while (i < suffixes.length && base.length + suffixes[i]!.length > MAX_NAME) i++;
        // Every element failed: the client's own question, answered as without autopath.
        if (i === suffixes.length) return end('next');
        const suffix = suffixes[i++]!;
        const name = new Uint8Array(base.length + suffix.length);
        name.set(base, 0);
        name.set(suffix, base.length);
        chain.run(replaceQuestion(client, client.length, questionEnd, name, qtype, qclass), (_q2, w2, r2) => {
          if (r2.error !== null) return end({ error: r2.error });
          if (w2.rcode === RCODE.NXDOMAIN || FAILED.has(w2.rcode)) return tryNext();
          end({
            write(cq, out) {
              answer(cq, out, w2, original);
              count(localAddress);
            },
          });
        });
      };
      tryNext();
    });
  }
}

/**
 * The answer a sub-query got, under the client's question: a CNAME from the client's name to
 * the owner of the first record that is not the client's name, then the records as they came.
 */
function answer(q: Query, out: ResponseWriter, found: ResponseWriter, original: string): void {
  const m = decodeSections(found, q.id);
  const answers = m.answers ?? [];
  const owner = original.slice(0, -1).toLowerCase();
  const other = answers.find((a) => a.name.toLowerCase() !== owner);
  if (other !== undefined) {
    answers.unshift({ name: original, type: 'CNAME', class: 'IN', ttl: (other as { ttl?: number }).ttl ?? 0, data: other.name } as never);
  }
  out.start(q, found.rcode, found.flags & (FLAG_AA | FLAG_RA | FLAG_AD));
  appendPacketRecords(out, { answers, authorities: m.authorities ?? [], additionals: m.additionals ?? [] });
}
