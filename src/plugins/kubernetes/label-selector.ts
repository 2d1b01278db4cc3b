// Kubernetes label selectors as CoreDNS's `labels` and `namespace_labels` options take them.
// CoreDNS turns the text into a metav1.LabelSelector, which has no `<`/`>` operators, so only
// =, ==, !=, in, notin, exists and !exists are accepted here. The same parsed form filters manifest
// objects locally and is sent (normalized) as the API's `labelSelector` query parameter, so both
// sources select exactly the same objects.

export class LabelSelectorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LabelSelectorError';
  }
}

export type LabelOperator = '=' | '!=' | 'in' | 'notin' | 'exists' | '!exists';

export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  /** Sorted; one value for = and !=, none for exists and !exists. */
  values: string[];
}

export interface LabelSelector {
  /** Normalized form (requirements and `in` values sorted, `==` written `=`); '' selects everything. */
  readonly text: string;
  readonly requirements: readonly LabelRequirement[];
  /** True when there are no requirements, so callers can skip filtering altogether. */
  readonly empty: boolean;
  matches(labels: Record<string, string>): boolean;
}

// Label key name part and value: at most 63 characters, alphanumeric at both ends.
const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
// Key prefix: a DNS-1123 subdomain.
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

interface Token {
  /** 'word' for keys, values and the in/notin keywords; otherwise the symbol itself. */
  type: 'word' | '=' | '==' | '!=' | '!' | '(' | ')' | ',' | 'end' | 'bad';
  text: string;
  /** 1-based column, for messages. */
  col: number;
}

const SYMBOLS = '!=(),<>';

function tokenize(input: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const col = i + 1;
    const two = input.slice(i, i + 2);
    if (two === '==' || two === '!=') {
      out.push({ type: two, text: two, col });
      i += 2;
    } else if (c === '=' || c === '!' || c === '(' || c === ')' || c === ',') {
      out.push({ type: c, text: c, col });
      i++;
    } else if (c === '<' || c === '>') {
      out.push({ type: 'bad', text: c, col });
      i++;
    } else {
      let j = i;
      while (j < input.length && !/\s/.test(input[j]!) && !SYMBOLS.includes(input[j]!)) j++;
      out.push({ type: 'word', text: input.slice(i, j), col });
      i = j;
    }
  }
  out.push({ type: 'end', text: '', col: input.length + 1 });
  return out;
}

function checkKey(key: string, fail: (why: string) => never): void {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : '';
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (slash >= 0 && (prefix === '' || prefix.length > 253 || !SUBDOMAIN.test(prefix))) {
    fail(`invalid label key '${key}': the prefix before '/' must be a lower-case DNS subdomain such as example.com`);
  }
  if (name.length > 63 || !NAME.test(name)) {
    fail(`invalid label key '${key}': the name must be 1-63 characters of letters, digits, '-', '_' or '.', starting and ending with a letter or digit`);
  }
}

function checkValue(value: string, fail: (why: string) => never): void {
  if (value !== '' && (value.length > 63 || !NAME.test(value))) {
    fail(`invalid label value '${value}': must be at most 63 characters of letters, digits, '-', '_' or '.', starting and ending with a letter or digit`);
  }
}

function requirementText(r: LabelRequirement): string {
  switch (r.operator) {
    case 'exists':
      return r.key;
    case '!exists':
      return `!${r.key}`;
    case '=':
    case '!=':
      return `${r.key}${r.operator}${r.values[0]}`;
    default:
      return `${r.key} ${r.operator} (${r.values.join(',')})`;
  }
}

function requirementMatches(r: LabelRequirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const value = has ? labels[r.key] : undefined;
  switch (r.operator) {
    case 'exists':
      return has;
    case '!exists':
      return !has;
    case '=':
    case 'in':
      return has && r.values.includes(value!);
    // API semantics: a negative requirement also holds when the label is absent.
    case '!=':
    case 'notin':
      return !has || !r.values.includes(value!);
  }
}

/** Parses selector text; throws LabelSelectorError naming the offending part and its column. */
export function parseLabelSelector(input: string): LabelSelector {
  const tokens = tokenize(input);
  let pos = 0;
  const peek = (): Token => tokens[pos]!;
  const next = (): Token => tokens[pos++]!;
  const fail = (why: string, at: Token = tokens[Math.max(0, pos - 1)]!): never => {
    throw new LabelSelectorError(`invalid label selector '${input}' at column ${at.col}: ${why}`);
  };
  const found = (t: Token): string => (t.type === 'end' ? 'end of selector' : `'${t.text}'`);
  const expect = (what: string): never => fail(`expected ${what}, found ${found(peek())}`, peek());

  const reqs: LabelRequirement[] = [];
  if (peek().type !== 'end') {
    for (;;) {
      let negated = false;
      if (peek().type === '!') {
        next();
        negated = true;
      }
      if (peek().type !== 'word') expect(negated ? 'a label key after !' : 'a label key');
      const keyTok = next();
      const key = keyTok.text;
      checkKey(key, (why) => fail(why, keyTok));
      const op = peek();
      if (negated) {
        if (op.type !== ',' && op.type !== 'end') fail(`'!${key}' takes no operator or value, found ${found(op)}`, op);
        reqs.push({ key, operator: '!exists', values: [] });
      } else if (op.type === ',' || op.type === 'end') {
        reqs.push({ key, operator: 'exists', values: [] });
      } else if (op.type === '=' || op.type === '==' || op.type === '!=') {
        next();
        // `key=` (nothing before the next comma) means the empty value, as in the API.
        const valTok = peek();
        let value = '';
        if (valTok.type === 'word') value = next().text;
        else if (valTok.type !== ',' && valTok.type !== 'end') expect(`a value after '${op.text}'`);
        checkValue(value, (why) => fail(why, valTok));
        reqs.push({ key, operator: op.type === '!=' ? '!=' : '=', values: [value] });
      } else if (op.type === 'word' && (op.text === 'in' || op.text === 'notin')) {
        next();
        if (peek().type !== '(') expect(`'(' after '${op.text}'`);
        next();
        const values = new Set<string>();
        for (;;) {
          const v = peek();
          if (v.type !== 'word') expect(`a value in the '${op.text}' list`);
          next();
          checkValue(v.text, (why) => fail(why, v));
          values.add(v.text);
          if (peek().type === ',') {
            next();
            continue;
          }
          if (peek().type === ')') {
            next();
            break;
          }
          expect(`',' or ')' in the '${op.text}' list`);
        }
        reqs.push({ key, operator: op.text, values: [...values].sort() });
      } else if (op.type === 'bad') {
        fail(`operator '${op.text}' is not supported (use =, ==, !=, in, notin, or a bare key for exists)`, op);
      } else {
        expect(`'=', '==', '!=', 'in', 'notin', ',' or end of selector after '${key}'`);
      }
      if (peek().type === 'end') break;
      if (peek().type !== ',') expect(`',' between requirements`);
      next();
    }
  }

  // Sorted by key like the API server's own normalization, so equal selectors give equal text.
  reqs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const text = reqs.map(requirementText).join(',');
  return {
    text,
    requirements: reqs,
    empty: reqs.length === 0,
    matches: (labels) => reqs.every((r) => requirementMatches(r, labels)),
  };
}
