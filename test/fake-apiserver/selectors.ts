// Label and field selectors with the grammar and meaning the Kubernetes API gives them.
//
// Label selector: comma-separated requirements, all of which must hold:
//   key            the label exists          !key             the label does not exist
//   key=v, key==v  the label equals v        key!=v           absent, or present and not v
//   key in (a,b)   present and one of a, b   key notin (a,b)  absent, or none of a, b
//   key>N, key<N   present, an integer, and greater / less than N
// Field selector: comma-separated `field=value`, `field==value` or `field!=value`, where `\,`, `\=`,
// `\!` and `\\` escape those characters in values; which fields exist depends on the resource.

export class SelectorError extends Error {}

export type LabelOp = 'exists' | '!' | '=' | '!=' | 'in' | 'notin' | '>' | '<';

export interface LabelRequirement {
  key: string;
  op: LabelOp;
  values: string[];
}

export type LabelSelector = LabelRequirement[];

const KEY_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function checkKey(key: string): void {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : '';
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (slash >= 0 && (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    throw new SelectorError(`invalid label key "${key}": prefix part must be a DNS subdomain`);
  }
  if (name.length === 0 || name.length > 63 || !KEY_NAME.test(name)) {
    throw new SelectorError(`invalid label key "${key}": name part must be 63 characters or less, alphanumeric, '-', '_' or '.'`);
  }
}

function checkValue(value: string): void {
  if (value.length > 63 || !LABEL_VALUE.test(value)) {
    throw new SelectorError(`invalid label value: "${value}": must be 63 characters or less, alphanumeric, '-', '_' or '.'`);
  }
}

type Tok = { t: 'id' | 'op' | '(' | ')' | ',' | 'end'; v: string };

function tokenize(s: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === ' ' || c === '\t') {
      i++;
    } else if (c === '(' || c === ')' || c === ',') {
      out.push({ t: c, v: c });
      i++;
    } else if (c === '=' || c === '!' || c === '<' || c === '>') {
      const two = s.slice(i, i + 2);
      if (two === '==' || two === '!=') {
        out.push({ t: 'op', v: two });
        i += 2;
      } else {
        out.push({ t: 'op', v: c });
        i++;
      }
    } else {
      let j = i;
      while (j < s.length && !' \t(),=!<>'.includes(s[j]!)) j++;
      out.push({ t: 'id', v: s.slice(i, j) });
      i = j;
    }
  }
  out.push({ t: 'end', v: '' });
  return out;
}

export function parseLabelSelector(input: string | null | undefined): LabelSelector {
  const reqs: LabelSelector = [];
  if (!input || input.trim() === '') return reqs;
  const toks = tokenize(input);
  let p = 0;
  const peek = (): Tok => toks[p]!;
  const next = (): Tok => toks[p++]!;
  const fail = (what: string): never => {
    throw new SelectorError(`unable to parse requirement: found '${peek().v}', expected: ${what}`);
  };
  for (;;) {
    let negate = false;
    if (peek().t === 'op' && peek().v === '!') {
      next();
      negate = true;
    }
    if (peek().t !== 'id') fail('identifier');
    const key = next().v;
    checkKey(key);
    if (negate) {
      reqs.push({ key, op: '!', values: [] });
    } else {
      const t = peek();
      if (t.t === ',' || t.t === 'end') {
        reqs.push({ key, op: 'exists', values: [] });
      } else if (t.t === 'op' && (t.v === '=' || t.v === '==' || t.v === '!=')) {
        next();
        const v = peek().t === 'id' ? next().v : '';
        checkValue(v);
        reqs.push({ key, op: t.v === '!=' ? '!=' : '=', values: [v] });
      } else if (t.t === 'op' && (t.v === '<' || t.v === '>')) {
        next();
        if (peek().t !== 'id') fail('integer value');
        const v = next().v;
        if (!/^-?\d+$/.test(v)) throw new SelectorError(`unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer`);
        reqs.push({ key, op: t.v, values: [v] });
      } else if (t.t === 'id' && (t.v === 'in' || t.v === 'notin')) {
        next();
        if (next().t !== '(') fail("'('");
        const values: string[] = [];
        for (;;) {
          const v = peek().t === 'id' ? next().v : '';
          checkValue(v);
          values.push(v);
          const sep = next();
          if (sep.t === ')') break;
          if (sep.t !== ',') {
            p--;
            fail("',' or ')'");
          }
        }
        reqs.push({ key, op: t.v, values });
      } else {
        fail("'=', '!=', '==', 'in', 'notin', ',' or end of selector");
      }
    }
    const sep = next();
    if (sep.t === 'end') break;
    if (sep.t !== ',') {
      p--;
      fail("','");
    }
  }
  return reqs;
}

export function matchLabels(sel: LabelSelector, labels: Record<string, string> | undefined | null): boolean {
  for (const r of sel) {
    const has = labels != null && Object.prototype.hasOwnProperty.call(labels, r.key);
    const v = has ? labels![r.key]! : undefined;
    switch (r.op) {
      case 'exists':
        if (!has) return false;
        break;
      case '!':
        if (has) return false;
        break;
      case '=':
        if (v !== r.values[0]) return false;
        break;
      case '!=':
        if (has && v === r.values[0]) return false;
        break;
      case 'in':
        if (!has || !r.values.includes(v!)) return false;
        break;
      case 'notin':
        if (has && r.values.includes(v!)) return false;
        break;
      case '>':
      case '<': {
        if (!has || !/^-?\d+$/.test(v!)) return false;
        const n = Number(v);
        const bound = Number(r.values[0]);
        if (r.op === '>' ? !(n > bound) : !(n < bound)) return false;
        break;
      }
    }
  }
  return true;
}

export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

export type FieldSelector = FieldRequirement[];

function unescapeField(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\') {
      const n = s[i + 1];
      if (n === undefined || !'\\,=!'.includes(n)) throw new SelectorError(`invalid field selector: invalid escape sequence in '${s}'`);
      out += n;
      i++;
    } else {
      out += c;
    }
  }
  return out;
}

/** Parses a field selector; `supported` lists the field names that the resource allows. */
export function parseFieldSelector(input: string | null | undefined, supported: readonly string[]): FieldSelector {
  const reqs: FieldSelector = [];
  if (!input || input.trim() === '') return reqs;
  // Split on commas that are not escaped.
  const terms: string[] = [];
  let cur = '';
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    if (c === '\\' && i + 1 < input.length) {
      cur += c + input[i + 1];
      i++;
    } else if (c === ',') {
      terms.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  terms.push(cur);
  for (const term of terms) {
    let opAt = -1;
    let op: '=' | '!=' = '=';
    let opLen = 1;
    for (let i = 0; i < term.length; i++) {
      if (term[i] === '\\') {
        i++;
        continue;
      }
      if (term.startsWith('!=', i)) {
        opAt = i;
        op = '!=';
        opLen = 2;
        break;
      }
      if (term.startsWith('==', i)) {
        opAt = i;
        opLen = 2;
        break;
      }
      if (term[i] === '=') {
        opAt = i;
        break;
      }
    }
    if (opAt <= 0) throw new SelectorError(`invalid selector: '${input}'; can't understand '${term}'`);
    const field = term.slice(0, opAt).trim();
    const value = unescapeField(term.slice(opAt + opLen).trim());
    if (!supported.includes(field)) throw new SelectorError(`field label not supported: ${field}`);
    reqs.push({ field, op, value });
  }
  return reqs;
}

export function matchFields(sel: FieldSelector, get: (field: string) => string): boolean {
  for (const r of sel) {
    const v = get(r.field);
    if (r.op === '=' ? v !== r.value : v === r.value) return false;
  }
  return true;
}
