import type { Directive, Token } from '../../corefile/index.ts';
import { QCLASS, QTYPE, RCODE, className, typeFromName, typeName } from '../../dns/constants.ts';
import { metrics } from '../../metrics/index.ts';
import { serverLabel } from '../prometheus/setup.ts';
import { TYPES } from '../prometheus/labels.ts';
import { parseRRText, RRTextError } from '../../dns/rr-text.ts';
import { fail, zonesArg } from '../../plugin/args.ts';
import { type PerServerConfigs, configPerServer } from '../../plugin/per-server.ts';
import type { PluginDefinition } from '../../plugin/types.ts';
import { MATCH_CLASSES, type TemplateConfig, type TemplateSpec } from './handler.ts';
import { type Part, compileTemplate, expand, jsRegex, recordWords } from './text.ts';

const USAGE = 'template CLASS TYPE [ZONE...] { match REGEX...; answer RR; additional RR; authority RR; rcode CODE; fallthrough [ZONE...] }';

/** kdns has no `view` plugin: CoreDNS leaves the label empty then. */
const VIEW = '';
const matches = metrics.counter({
  name: 'coredns_template_matches_total',
  help: 'Counter of template regex matches.',
  labelNames: ['server', 'zone', 'view', 'class', 'type'],
});

/** The matches slots of one template for one address, by (zone, class, type). */
function matchSlots(spec: TemplateSpec, server: string): number[] {
  const classes = spec.qclass === QCLASS.ANY ? [...MATCH_CLASSES] : [className(spec.qclass)];
  const types = spec.qtype === QTYPE.ANY ? [...TYPES] : [typeName(spec.qtype)];
  const out: number[] = [];
  for (const z of spec.zones) for (const c of classes) for (const t of types) out.push(matches.series([server, z, VIEW, c, t]));
  return out;
}

/** One template handler per server, its templates in Corefile order, as CoreDNS runs it. */
const configs: PerServerConfigs<TemplateConfig> = new WeakMap();

function classArg(t: Token): number {
  const c = QCLASS[t.text.toUpperCase() as keyof typeof QCLASS];
  if (c === undefined) fail(t, `unknown class '${t.text}'`, 'IN, CH, HS or ANY');
  return c;
}

function typeArg(t: Token): number {
  const v = t.text.toUpperCase() === 'ANY' ? QTYPE.ANY : typeFromName(t.text.toUpperCase());
  if (v === undefined) fail(t, `unknown type '${t.text}'`, 'e.g. A, AAAA, TXT, ANY');
  return v;
}

/** A record template, checked by expanding it with sample data (CoreDNS checks its templates at start). */
function recordTemplate(t: Token): Part[] {
  let parts: Part[];
  try {
    parts = compileTemplate(t.text);
  } catch (err) {
    fail(t, (err as Error).message, 'use {{ .Name }}, {{ .Zone }}, {{ .Class }}, {{ .Type }}, {{ .Remote }}, {{ .Group.NAME }} or {{ index .Match N }}');
  }
  const sample = Object.assign(['a.example.', 'a', 'b', 'c', 'd'], { index: 0, input: 'a.example.', groups: {} }) as unknown as RegExpExecArray;
  try {
    parseRRText(recordWords(expand(parts, { name: 'a.example.', zone: 'example.', class: 'IN', type: 'A', remote: '192.0.2.1', match: sample })), 'example.', 3600);
  } catch (err) {
    // Fields filled with sample values can make an address or a number invalid; only the shape
    // of the record (owner, type, enough data) is judged here.
    if (err instanceof RRTextError && /type|needs/.test(err.message)) fail(t, `the record template is not a record: ${err.message}`, 'e.g. "{{ .Name }} 60 IN A 10.0.0.1"');
  }
  return parts;
}

function parseTemplate(d: Directive, blockZones: string[]): TemplateSpec {
  if (d.args.length < 2) fail(d.args[0] ?? d.name, 'template needs a CLASS and a TYPE', USAGE);
  const spec: TemplateSpec = {
    qclass: classArg(d.args[0]!), qtype: typeArg(d.args[1]!), zones: zonesArg(d.args.slice(2), blockZones),
    regex: [], answer: [], additional: [], authority: [], rcode: RCODE.NOERROR, fallthrough: null, matches: [],
  };
  for (const o of d.block ?? []) {
    const word = o.name.text;
    const needOne = (): Token => {
      if (o.args.length !== 1) fail(o.args[1] ?? o.name, `${word} takes one argument`, USAGE);
      return o.args[0]!;
    };
    switch (word) {
      case 'match':
        if (o.args.length === 0) fail(o.name, 'match needs at least one regular expression', USAGE);
        for (const t of o.args) {
          try {
            jsRegex(t.text);
          } catch (err) {
            fail(t, `'${t.text}' is not a regular expression: ${(err as Error).message}`);
          }
          spec.regex.push(t.text);
        }
        break;
      case 'answer':
      case 'additional':
      case 'authority':
        spec[word].push(recordTemplate(needOne()));
        break;
      case 'rcode': {
        const t = needOne();
        const code = RCODE[t.text.toUpperCase() as keyof typeof RCODE];
        if (code === undefined) fail(t, `unknown rcode '${t.text}'`, `one of ${Object.keys(RCODE).join(', ')}`);
        spec.rcode = code;
        break;
      }
      case 'fallthrough':
        spec.fallthrough = zonesArg(o.args, []);
        break;
      case 'ederror':
        fail(o.name, 'ederror is not available in kdns yet', 'leave it out; the rcode is sent');
        break;
      default:
        fail(o.name, `unknown option '${word}' for template`, 'known options: match, answer, additional, authority, rcode, fallthrough');
    }
  }
  if (spec.regex.length === 0) spec.regex.push('.*');
  return spec;
}

export const template: PluginDefinition = {
  name: 'template',
  summary: 'answers matching queries with records made from templates (e.g. NXDOMAIN for AAAA, synthetic names)',
  repeatable: true,
  setup(ctx) {
    const spec = parseTemplate(ctx.directive, ctx.block.zones);
    spec.matches = (ctx.addresses ?? ['']).map((host) => matchSlots(spec, serverLabel(host, ctx.block.port, ctx.block.transport)));
    const { config, first } = configPerServer(configs, ctx, (): TemplateConfig => ({ templates: [], addresses: ctx.addresses ?? null }));
    config.templates.push(spec);
    if (!first) return {};
    return { worker: { module: new URL('./handler.ts', import.meta.url).href, config } };
  },
};
