// template: answers queries of a class and type in its zones whose name matches a regular
// expression, with records made from text templates (answer, authority, additional) and an
// RCODE, as CoreDNS's template. The first template whose zone, class and type apply and whose
// expression matches answers; one that applies but does not match fails the query (SERVFAIL)
// unless `fallthrough` lets it go on. Matching queries build their records from text (slow
// path); others cost a class/type comparison and a zone match per template.
import dnsPacket from 'dns-packet';
import { FLAG_AA, QCLASS, QTYPE, RCODE, className, typeName } from '../../dns/constants.ts';
import { appendPacketRecords } from '../../dns/packet-records.ts';
import { parseRRText } from '../../dns/rr-text.ts';
import { listenerIndex } from '../../plugin/listen-address.ts';
import { NEXT, type Handler, type WorkerEnv } from '../../plugin/types.ts';
import { OTHER_TYPE, TYPE_INDEX, TYPES } from '../prometheus/labels.ts';
import { ZoneMatcher, fallthroughMatcher } from '../../table/zone-match.ts';
import { type Part, type TemplateData, expand, jsRegex, recordWords } from './text.ts';

export interface TemplateSpec {
  /** QCLASS.ANY / QTYPE.ANY: every class / type. */
  qclass: number;
  qtype: number;
  zones: string[];
  regex: string[];
  answer: Part[][];
  additional: Part[][];
  authority: Part[][];
  rcode: number;
  /** null: no fallthrough; []: every zone; else these zones. */
  fallthrough: string[] | null;
  /**
   * coredns_template_matches_total slots, per address the block listens on, each indexed by
   * (zone in `zones` order, class, type): the classes and types are the template's own, or for
   * ANY the ones in MATCH_CLASSES / TYPES (prometheus/labels.ts).
   */
  matches: number[][];
}

export interface TemplateConfig {
  templates: TemplateSpec[];
  /** The block's `bind` addresses (metrics per address), null for every address. */
  addresses: string[] | null;
}

/** Classes a template of class ANY counts matches under. */
export const MATCH_CLASSES = ['IN', 'CH', 'HS'] as const;
const CLASS_INDEX: Record<number, number> = { 1: 0, 3: 1, 4: 2 };

interface Compiled {
  spec: TemplateSpec;
  zones: ZoneMatcher;
  regex: RegExp[];
  fallthrough: ZoneMatcher | null;
}

export default function create(config: TemplateConfig, env: WorkerEnv): Handler {
  const templates: Compiled[] = config.templates.map((spec) => ({
    spec,
    zones: new ZoneMatcher(spec.zones),
    regex: spec.regex.map(jsRegex),
    fallthrough: fallthroughMatcher(spec.fallthrough, ['.']),
  }));
  /** Counts a match (CoreDNS counts it before the records are made). */
  const count = (t: Compiled, z: number, qclass: number, qtype: number, localAddress: string): void => {
    const s = t.spec;
    const c = s.qclass !== QCLASS.ANY ? 0 : CLASS_INDEX[qclass];
    if (c === undefined) return;
    const ty = s.qtype !== QTYPE.ANY ? 0 : qtype < 256 ? TYPE_INDEX[qtype]! : OTHER_TYPE;
    const classes = s.qclass !== QCLASS.ANY ? 1 : MATCH_CLASSES.length;
    const types = s.qtype !== QTYPE.ANY ? 1 : TYPES.length;
    const a = s.matches.length === 1 ? 0 : listenerIndex(config.addresses, localAddress);
    env.metrics.inc(s.matches[a]![(t.zones.given[z]! * classes + c) * types + ty]!);
  };
  return {
    serve(q, w, r) {
      let name: string | null = null;
      for (let i = 0; i < templates.length; i++) {
        const t = templates[i]!;
        const s = t.spec;
        if (s.qclass !== QCLASS.ANY && q.qclass !== s.qclass) continue;
        if (s.qtype !== QTYPE.ANY && q.qtype !== s.qtype) continue;
        const z = t.zones.match(q);
        if (z < 0) continue;
        name ??= q.nameText();
        let match: RegExpExecArray | null = null;
        for (const re of t.regex) if ((match = re.exec(name)) !== null) break;
        if (match === null) {
          if (t.fallthrough !== null && t.fallthrough.match(q) >= 0) continue;
          w.start(q, RCODE.SERVFAIL, 0);
          return RCODE.SERVFAIL;
        }
        count(t, z, q.qclass, q.qtype, q.localAddress);
        const data: TemplateData = { name, zone: t.zones.names[z]!, class: className(q.qclass), type: typeName(q.qtype), remote: q.remoteAddress, match };
        let sections: { answers: dnsPacket.Answer[]; authorities: dnsPacket.Answer[]; additionals: dnsPacket.Answer[] };
        try {
          const make = (list: Part[][]): dnsPacket.Answer[] => list.map((parts) => parseRRText(recordWords(expand(parts, data)), data.zone, 3600) as unknown as dnsPacket.Answer);
          sections = { answers: make(s.answer), authorities: make(s.authority), additionals: make(s.additional) };
        } catch (err) {
          r.error = `plugin/template: a record made from the template for ${name} is not valid: ${(err as Error).message}`;
          w.start(q, RCODE.SERVFAIL, 0);
          return RCODE.SERVFAIL;
        }
        w.start(q, s.rcode, FLAG_AA);
        appendPacketRecords(w, sections);
        return s.rcode;
      }
      return NEXT;
    },
  };
}
