// rewrite: changes the question (name, type, class) for the plugins after it and gives the
// client its own question back in the answer, and rewrites answers (names, TTLs), as CoreDNS's
// rewrite. Rules run in order; a matching rule with `stop` (the default) ends the list.
//
// Queries no rule matches cost a byte comparison per rule against the name's text, made in
// scratch space (no allocation; regex rules need the name as a string, one per query). A
// rewritten query is rebuilt as a new message and parsed again, and its answer is decoded and
// encoded with dns-packet: the slow path, for the queries the rules pick. An edns0 rule picks
// every query (its options are rebuilt into a new message; the answer is left alone).
import dnsPacket from 'dns-packet';
import { HEADER_SIZE } from '../../dns/constants.ts';
import { replaceQuestion, skipName } from '../../dns/message.ts';
import { appendPacketRecords, decodeSections } from '../../dns/packet-records.ts';
import { nameToWire } from '../../dns/name.ts';
import { Query, parseQuery, PARSE_OK } from '../../dns/query.ts';
import { TCP_PREFIX, type ResponseWriter } from '../../dns/response.ts';
import { NEXT, NEXT_POST, type Handler, type WorkerEnv } from '../../plugin/types.ts';
import { withOptions } from '../../dns/edns-options.ts';
import { type EdnsEdit, type VariableSource, applyEdns0, startEdit } from './edns0.ts';
import { type NameRule, type RcodeRule, type RuleSpec, type TtlRule, expandGroups, fqdn, nameMatches, rewriteName } from './rules.ts';

export interface RewriteConfig {
  rules: RuleSpec[];
  /** The server block's port, for edns0's {server_port}. */
  serverPort: number;
}

interface Compiled {
  spec: RuleSpec;
  regex: RegExp | null;
  /** exact/prefix/suffix/substring: FROM's bytes, for the allocation-free first test. */
  bytes: Uint8Array | null;
  answerName: Array<[RegExp, string]>;
  answerValue: Array<[RegExp, string]>;
}

/** What the rules did to one query: worked out again in post() from the client's question. */
interface Outcome {
  name: string;
  type: number;
  cls: number;
  /** Owner names to give back: rewritten -> the client's (exact rules, `answer auto`). */
  restore: Map<string, string>;
  answerName: Array<[RegExp, string]>;
  answerValue: Array<[RegExp, string]>;
  ttl: TtlRule | null;
  rcode: RcodeRule | null;
  /** The question changed (name, type or class). */
  changed: boolean;
  /** The OPT options as edns0 rules left them; null when there are none. */
  edns: EdnsEdit | null;
}

const TEXT = new Uint8Array(256);

/** The query name's text form (`a.b.` lower case) into TEXT; its length. */
function nameText(q: Query): number {
  if (q.nameLen <= 1) {
    TEXT[0] = 0x2e;
    return 1;
  }
  let o = 0;
  let i = 0;
  for (let l = q.lower[0]!; l !== 0; l = q.lower[i]!) {
    for (let k = 1; k <= l; k++) TEXT[o++] = q.lower[i + k]!;
    TEXT[o++] = 0x2e;
    i += l + 1;
  }
  return o;
}

function bytesMatch(c: Compiled, len: number): boolean {
  const b = c.bytes!;
  const spec = c.spec as NameRule | TtlRule | RcodeRule;
  switch (spec.match) {
    case 'exact':
      return len === b.length && same(0, b);
    case 'prefix':
      return len >= b.length && same(0, b);
    case 'suffix':
      return len >= b.length && same(len - b.length, b);
    default:
      for (let at = 0; at + b.length <= len; at++) if (same(at, b)) return true;
      return false;
  }
}

function same(at: number, b: Uint8Array): boolean {
  for (let k = 0; k < b.length; k++) if (TEXT[at + k] !== b[k]) return false;
  return true;
}

function compile(spec: RuleSpec): Compiled {
  const named = spec.field === 'name' || spec.field === 'ttl' || spec.field === 'rcode';
  const regex = named && spec.match === 'regex' ? new RegExp(spec.from) : null;
  return {
    spec,
    regex,
    bytes: named && spec.match !== 'regex' ? new TextEncoder().encode(spec.from) : null,
    answerName: spec.field === 'name' ? spec.answerName.map(([f, t]) => [new RegExp(f), t]) : [],
    answerValue: spec.field === 'name' ? spec.answerValue.map(([f, t]) => [new RegExp(f), t]) : [],
  };
}

/** Field names dns-packet gives the names inside record data, per type. */
const VALUE_NAMES: Record<string, string[]> = { CNAME: [''], PTR: [''], NS: [''], DNAME: [''], MX: ['exchange'], SRV: ['target'] };

export default function create(config: RewriteConfig, env: WorkerEnv): Handler {
  const rules = config.rules.map(compile);
  /** The client's question, parsed again in post() to work out what the rules did. */
  const clientQuery = new Query();
  const variables: VariableSource = { serverPort: config.serverPort, metadata: (q, label) => env.metadata?.value(q, label) ?? null };

  /** Runs the rules on `q`'s question; null when none matches. */
  const evaluate = (q: Query): Outcome | null => {
    let len = -1;
    let text: string | null = null;
    let out: Outcome | null = null;
    for (const c of rules) {
      const spec = c.spec;
      if (spec.field === 'edns0') {
        out ??= start(q);
        out.edns ??= startEdit(q);
        if (!applyEdns0(spec, out.edns, q, out.name, out.type, variables)) continue;
        if (spec.stop) break;
        continue;
      }
      if (spec.field === 'type' || spec.field === 'class') {
        const cur = out ? (spec.field === 'type' ? out.type : out.cls) : spec.field === 'type' ? q.qtype : q.qclass;
        if (cur !== spec.from) continue;
        out ??= start(q);
        if (spec.field === 'type') out.type = spec.to;
        else out.cls = spec.to;
        out.changed = true;
        if (spec.stop) break;
        continue;
      }
      // Name and ttl rules: a byte test first, the string only once one could match.
      if (out === null && c.regex === null) {
        if (len < 0) len = nameText(q);
        if (!bytesMatch(c, len)) continue;
      }
      text ??= out?.name ?? fqdn(q.nameText());
      const name = out?.name ?? text;
      if (spec.field === 'ttl' || spec.field === 'rcode') {
        if (!nameMatches(spec, name, c.regex)) continue;
        out ??= start(q);
        if (spec.field === 'ttl') out.ttl = spec;
        else out.rcode = spec;
        if (spec.stop) break;
        continue;
      }
      const rule = spec as NameRule;
      const next = rewriteName(rule, name, c.regex);
      if (next === null) continue;
      out ??= start(q);
      if (rule.match === 'exact' || rule.answerAuto) out.restore.set(next, out.restore.get(name) ?? name);
      out.answerName.push(...c.answerName);
      out.answerValue.push(...c.answerValue);
      out.name = next;
      out.changed = true;
      if (rule.stop) break;
    }
    return out;
  };

  const start = (q: Query): Outcome => ({
    name: fqdn(q.nameText()), type: q.qtype, cls: q.qclass, restore: new Map(), answerName: [], answerValue: [], ttl: null, rcode: null, changed: false, edns: null,
  });

  return {
    serve(q, _w, r) {
      const o = evaluate(q);
      if (o === null) return NEXT;
      const ednsChanged = o.edns?.changed === true;
      if (!o.changed && !ednsChanged) return NEXT_POST; // ttl or rcode rules only: the answer changes, not the question
      const orig = Buffer.from(q.msg.subarray(0, q.len));
      // The options first: the OPT record's offset is the client's message's.
      let msg: Uint8Array = ednsChanged ? withOptions(q.msg, q.len, o.edns!.opt, o.edns!.options) : orig;
      if (o.changed) msg = replaceQuestion(msg, msg.length, q.questionEnd, nameToWire(o.name), o.type, o.cls);
      const clientMsg = q.clientMsg ?? orig;
      if (parseQuery(msg, msg.length, q) !== PARSE_OK) {
        // Cannot happen for a name the rules made from a valid one, but a bad rule must not
        // hand the plugins a half-parsed query: answer from the client's own.
        parseQuery(clientMsg, clientMsg.length, q);
        r.error = `plugin/rewrite: the rewritten question ${o.name} is not a valid name`;
        return NEXT;
      }
      q.clientMsg = clientMsg;
      return NEXT_POST;
    },

    post(q, w, r) {
      const client = q.clientMsg ?? Buffer.from(q.msg.subarray(0, q.len));
      parseQuery(client, client.length, clientQuery);
      const o = evaluate(clientQuery);
      if (o === null) return;
      if (o.rcode !== null && w.rcode === o.rcode.fromCode) w.rcode = o.rcode.toCode;
      if (o.changed || o.ttl !== null) {
        try {
          restoreAnswer(q, w, o, client);
        } catch (err) {
          r.error = `plugin/rewrite: cannot rewrite the answer: ${(err as Error).message}`;
        }
      }
      if (q.clientMsg !== null) {
        // The client's question and OPT again for what follows (earlier plugins' post hooks,
        // finish: the response's EDNS0 follows the client's query, RFC 6891 7, not the options
        // edns0 rules gave the upstream). The parser leaves the transport and addresses alone.
        parseQuery(client, client.length, q);
      }
    },
  };

  function restoreAnswer(q: Query, w: ResponseWriter, o: Outcome, client: Uint8Array): void {
    // The sections as a message of their own, for dns-packet (the header is written at finish).
    const b = w.buf;
    const m = decodeSections(w, q.id);
    const fix = (rr: dnsPacket.Answer, answerSection: boolean): void => {
      const owner = fqdn(rr.name);
      const back = o.restore.get(owner);
      if (back !== undefined) rr.name = back;
      else if (answerSection) {
        for (const [re, to] of o.answerName) {
          const g = re.exec(owner);
          if (g) { rr.name = fqdn(expandGroups(to, g)); break; }
        }
      }
      // A ttl rule holds every section's TTLs (the SOA of a negative answer too), as CoreDNS's.
      if (o.ttl !== null) (rr as { ttl?: number }).ttl = Math.min(o.ttl.max, Math.max(o.ttl.min, (rr as { ttl?: number }).ttl ?? 0));
      if (answerSection) {
        const fields = VALUE_NAMES[rr.type];
        if (fields && o.answerValue.length > 0) {
          const d = rr as unknown as { data: unknown };
          for (const f of fields) {
            const cur = f === '' ? d.data : (d.data as Record<string, unknown>)[f];
            if (typeof cur !== 'string') continue;
            for (const [re, to] of o.answerValue) {
              const g = re.exec(fqdn(cur));
              if (!g) continue;
              const v = fqdn(expandGroups(to, g));
              if (f === '') d.data = v;
              else (d.data as Record<string, unknown>)[f] = v;
              break;
            }
          }
        }
      }
    };
    for (const rr of m.answers ?? []) fix(rr, true);
    for (const rr of m.authorities ?? []) fix(rr, false);
    for (const rr of m.additionals ?? []) fix(rr, false);
    // The client's question, byte for byte (the header is written by finish()), then the sections.
    const qEnd = skipName(client, HEADER_SIZE, client.length) + 4;
    let p = TCP_PREFIX;
    for (let i = 0; i < qEnd; i++) b[p++] = client[i]!;
    w.end = p;
    w.an = 0;
    w.ns = 0;
    w.ar = 0;
    appendPacketRecords(w, m);
  }
}
