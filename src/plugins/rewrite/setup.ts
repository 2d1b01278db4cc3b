import type { Directive, Token } from '../../corefile/index.ts';
import { QCLASS, typeFromName } from '../../dns/constants.ts';
import { fail } from '../../plugin/args.ts';
import { type PerServerConfigs, configPerServer } from '../../plugin/per-server.ts';
import type { PluginDefinition } from '../../plugin/types.ts';
import type { RewriteConfig } from './handler.ts';
import { type Edns0Action, type Edns0Rule, type NameMatch, type RuleSpec, fqdn } from './rules.ts';

const USAGE = 'rewrite [continue|stop] name|type|class|ttl|rcode|edns0 ...';
const MATCHES: NameMatch[] = ['exact', 'prefix', 'suffix', 'substring', 'regex'];
/** CoreDNS fields kdns does not rewrite yet: refused by name rather than as unknown. */
const NOT_YET = ['cname'];
const EDNS0_USAGE = 'rewrite edns0 local set|append|replace CODE DATA | nsid set|append|replace | subnet set|append|replace V4-BITS V6-BITS';
/** The variables a local option's DATA may be ({qname} ...); any other `{plugin/label}` is metadata. */
const VARIABLES = ['qname', 'qtype', 'client_ip', 'client_port', 'protocol', 'server_ip', 'server_port'];
/** Response codes by name (RFC 6895 2.3), as miekg/dns's StringToRcode knows them. */
const RCODES: Record<string, number> = {
  NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, YXDOMAIN: 6, YXRRSET: 7, NXRRSET: 8, NOTAUTH: 9, NOTZONE: 10,
};

function rcodeArg(t: Token): number {
  const v = /^\d+$/.test(t.text) ? Number(t.text) : RCODES[t.text.toUpperCase()];
  if (v === undefined || v > 15) fail(t, `unknown response code '${t.text}'`, `one of ${Object.keys(RCODES).join(', ')}, or a number 0-15`);
  return v;
}

/** One rewrite per server, its rules in Corefile order, as CoreDNS runs it. */
const configs: PerServerConfigs<RewriteConfig> = new WeakMap();

function regexArg(t: Token): string {
  try {
    new RegExp(t.text);
  } catch (err) {
    fail(t, `'${t.text}' is not a regular expression: ${(err as Error).message}`);
  }
  return t.text;
}

function parseTtl(t: Token): [number, number] {
  const m = /^(\d*)(-?)(\d*)$/.exec(t.text);
  if (!m || (m[1] === '' && m[3] === '') || (m[2] === '' && m[3] !== '')) fail(t, `'${t.text}' is not a TTL or a range`, 'write it like 30, 30-300, 30- or -300');
  if (m[2] === '') return [Number(m[1]), Number(m[1])];
  return [m[1] === '' ? 0 : Number(m[1]), m[3] === '' ? 2 ** 31 - 1 : Number(m[3])];
}

/** An unsigned number as Go's strconv.ParseUint(s, 0, bits) reads it: decimal, 0x, 0o/0, 0b. */
function uintArg(t: Token, max: number, what: string): number {
  const m = /^(?:0[xX]([0-9a-fA-F]+)|0[bB]([01]+)|0[oO]?([0-7]+)|([1-9][0-9]*|0))$/.exec(t.text);
  const v = m === null ? NaN : m[1] ? parseInt(m[1], 16) : m[2] ? parseInt(m[2], 2) : m[3] ? parseInt(m[3], 8) : Number(m[4]);
  if (!(v <= max)) fail(t, `'${t.text}' is not ${what}`, `a number 0-${max} (decimal, or 0x.. hexadecimal)`);
  return v;
}

/** `edns0 local|nsid|subnet ACTION ...`, after the field; a trailing `revert` is taken (see README). */
function parseEdns0(field: Token, args: Token[], stop: boolean): Edns0Rule {
  if (args.length > 0 && args[args.length - 1]!.text.toLowerCase() === 'revert') args.pop();
  const kind = args.shift();
  const act = args.shift();
  if (!kind || !act) fail(kind ?? field, 'rewrite edns0 needs an option and an action', EDNS0_USAGE);
  const action = act.text.toLowerCase();
  if (action !== 'set' && action !== 'append' && action !== 'replace') fail(act, `unknown edns0 action '${act.text}'`, 'set, append or replace');
  const rule: Edns0Rule = { field: 'edns0', option: 'local', action: action as Edns0Action, code: 0, data: [], variable: null, v4: 0, v6: 0, stop };
  switch (kind.text.toLowerCase()) {
    case 'local': {
      if (args.length !== 2) fail(args[2] ?? act, 'rewrite edns0 local takes CODE DATA', 'e.g. rewrite edns0 local set 0xffee {client_ip}');
      rule.code = uintArg(args[0]!, 0xffff, 'an option code');
      const data = args[1]!.text;
      if (data.startsWith('{') && data.endsWith('}')) {
        const v = data.slice(1, -1);
        // Metadata labels are `plugin/label` (CoreDNS's metadata.IsLabel); values come at query time.
        if (!VARIABLES.includes(v) && !/^[^/\s]+\/[^/\s]+$/.test(v)) fail(args[1]!, `unknown edns0 variable '${data}'`, `one of ${VARIABLES.map((x) => `{${x}}`).join(', ')}, or a metadata label {plugin/label}`);
        rule.variable = v;
      } else if (data.startsWith('0x')) {
        if (!/^([0-9a-fA-F]{2})*$/.test(data.slice(2))) fail(args[1]!, `'${data}' is not hexadecimal data`, 'an even number of hex digits after 0x, e.g. 0x61626364');
        rule.data = [...Buffer.from(data.slice(2), 'hex')];
      } else {
        rule.data = [...Buffer.from(data, 'utf8')];
      }
      return rule;
    }
    case 'nsid':
      if (args.length > 0) fail(args[0]!, 'rewrite edns0 nsid takes no value', 'e.g. rewrite edns0 nsid set');
      return { ...rule, option: 'nsid', code: 3 };
    case 'subnet':
      if (args.length !== 2) fail(args[2] ?? act, 'rewrite edns0 subnet takes V4-BITS V6-BITS', 'e.g. rewrite edns0 subnet set 24 56');
      return { ...rule, option: 'subnet', code: 8, v4: uintArg(args[0]!, 32, 'an IPv4 prefix length'), v6: uintArg(args[1]!, 128, 'an IPv6 prefix length') };
    default:
      fail(kind, `unknown edns0 option '${kind.text}'`, EDNS0_USAGE);
  }
}

/**
 * The rule's words: the line's, and in the block form `rewrite [continue|stop] { ... }` the
 * block's lines after them, read as one rule (as CoreDNS: `name regex ...` then `answer name ...`).
 */
function ruleWords(d: Directive): Token[] {
  const words = [...d.args];
  for (const line of d.block ?? []) {
    if (line.block) fail(line.name, 'a rewrite block holds one rule, without blocks of its own', 'rewrite stop {\n    name regex FROM TO\n    answer name FROM TO\n}');
    words.push(line.name, ...line.args);
  }
  return words;
}

function parseRule(d: Directive): RuleSpec {
  const args = ruleWords(d);
  let stop = true;
  if (args[0] && (args[0].text === 'continue' || args[0].text === 'stop')) stop = args.shift()!.text === 'stop';
  const field = args.shift();
  if (!field) fail(d.name, 'rewrite needs a field', USAGE);
  const f = field.text.toLowerCase();
  if (NOT_YET.includes(f)) fail(field, `rewrite ${f} is not available in kdns yet`, 'kdns rewrites name, type, class, ttl, rcode and edns0');
  if (f === 'edns0') return parseEdns0(field, args, stop);
  if (f === 'type' || f === 'class') {
    if (args.length !== 2) fail(args[2] ?? field, `rewrite ${f} takes FROM TO`, `e.g. rewrite ${f} ${f === 'type' ? 'ANY HINFO' : 'CH IN'}`);
    const code = (t: Token): number => {
      const v = f === 'type' ? typeFromName(t.text.toUpperCase()) : QCLASS[t.text.toUpperCase() as keyof typeof QCLASS];
      if (v === undefined) fail(t, `unknown ${f} '${t.text}'`, f === 'type' ? 'e.g. A, AAAA, MX, ANY' : 'IN, CH or HS');
      return v;
    };
    return { field: f, from: code(args[0]!), to: code(args[1]!), stop };
  }
  if (f !== 'name' && f !== 'ttl' && f !== 'rcode') fail(field, `unknown rewrite field '${field.text}'`, USAGE);
  let match: NameMatch = 'exact';
  if (args[0] && (MATCHES as string[]).includes(args[0].text.toLowerCase())) match = args.shift()!.text.toLowerCase() as NameMatch;
  const from = args.shift();
  const to = args.shift();
  if (!from || !to) fail(from ?? field, `rewrite ${f} needs ${f === 'ttl' ? 'NAME TTL' : f === 'rcode' ? 'NAME FROM TO' : 'FROM TO'}`, USAGE);
  const normal = (t: Token): string => (match === 'regex' ? regexArg(t) : match === 'exact' || match === 'suffix' ? fqdn(t.text) : t.text.toLowerCase());
  if (f === 'rcode') {
    const toCode = args.shift();
    if (!toCode) fail(to, 'rewrite rcode needs NAME FROM TO', 'e.g. rewrite rcode exact blocked.example. NXDOMAIN REFUSED');
    if (args.length > 0) fail(args[0]!, 'rewrite rcode takes NAME FROM TO only', USAGE);
    return { field: 'rcode', match, from: normal(from), fromCode: rcodeArg(to), toCode: rcodeArg(toCode), stop };
  }
  if (f === 'ttl') {
    if (args.length > 0) fail(args[0]!, 'rewrite ttl takes no options', USAGE);
    const [min, max] = parseTtl(to);
    return { field: 'ttl', match, from: normal(from), min, max, stop };
  }
  const rule: RuleSpec = { field: 'name', match, from: normal(from), to: match === 'regex' ? to.text : normal(to), stop, answerAuto: false, answerName: [], answerValue: [] };
  while (args.length > 0) {
    const a = args.shift()!;
    const kind = args.shift();
    if (a.text !== 'answer' || !kind) fail(a, `unknown rewrite name option '${a.text}'`, 'answer auto | answer name FROM TO | answer value FROM TO');
    if (kind.text === 'auto') {
      rule.answerAuto = true;
      continue;
    }
    if (kind.text !== 'name' && kind.text !== 'value') fail(kind, `unknown answer rewrite '${kind.text}'`, 'answer auto | answer name FROM TO | answer value FROM TO');
    const af = args.shift();
    const at = args.shift();
    if (!af || !at) fail(kind, `answer ${kind.text} needs FROM TO`, 'FROM is a regular expression, TO may use {1}..{9}');
    (kind.text === 'name' ? rule.answerName : rule.answerValue).push([regexArg(af), at.text]);
  }
  return rule;
}

export const rewrite: PluginDefinition = {
  name: 'rewrite',
  summary: 'rewrites the question (name, type, class) for later plugins and the answer back (names, TTLs, response codes)',
  repeatable: true,
  setup(ctx) {
    const d = ctx.directive;
    const rule = parseRule(d);
    const { config, first } = configPerServer(configs, ctx, (): RewriteConfig => ({ rules: [], serverPort: ctx.block.port }));
    config.rules.push(rule);
    if (!first) return {};
    return { worker: { module: new URL('./handler.ts', import.meta.url).href, config } };
  },
};
