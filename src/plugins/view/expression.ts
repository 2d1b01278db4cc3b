// view's expressions: the subset of the expr language (github.com/expr-lang/expr) that CoreDNS's
// view plugin documents, compiled once into closures over the query. Literals ('..' or "..",
// numbers, true/false/nil, [lists]), the request functions of functions.ts, and the operators
//   or ||   and &&   == != < <= > >= in, not in, matches, contains, startsWith, endsWith
//   + - * / %   not ! (unary), unary -   ( ... )
// with expr's precedence. Types are checked when the query is answered, as expr reports
// mismatches: any error makes the expression false (CoreDNS's view then skips the block).
//
// Hot path: a view's expression runs for every query of its zones. `incidr(client_ip(), 'NET')`
// with a literal network is compiled to the allocation-free matcher acl uses; type(), class()
// and proto() give constant strings; name() is read once per query.
import { NetMatcher, parseNet } from '../../dns/address-match.ts';
import type { Query } from '../../dns/query.ts';

export type Value = string | number | boolean | null | Value[];
export type Compiled = (q: Query) => Value;

/** A request function: its arity and what it gives for a query. */
export interface ExprFunction {
  args: number;
  call(q: Query, args: Value[]): Value;
}

export class ExpressionError extends Error {
  /** 1-based column in the expression text. */
  readonly column: number;
  constructor(message: string, column: number) {
    super(message);
    this.column = column;
  }
}

/** A failure while evaluating (a type mismatch, a bad argument): the expression is false. */
export class EvalError extends Error {}

type Tok = { kind: 'num' | 'str' | 'id' | 'op' | 'end'; text: string; value?: number | string; at: number };

const OPS = ['==', '!=', '<=', '>=', '&&', '||', '<', '>', '!', '+', '-', '*', '/', '%', '(', ')', '[', ']', ','];
const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '0': '\0' };

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\n') { i++; continue; }
    const at = i + 1;
    if (c === "'" || c === '"') {
      let s = '';
      i++;
      for (;;) {
        if (i >= src.length) throw new ExpressionError('unterminated string', at);
        const ch = src[i]!;
        if (ch === c) { i++; break; }
        if (ch === '\\') {
          const e = ESCAPES[src[i + 1] ?? ''];
          if (e === undefined) throw new ExpressionError(`invalid escape '\\${src[i + 1] ?? ''}' in a string (write \\\\ for a backslash)`, i + 1);
          s += e;
          i += 2;
          continue;
        }
        s += ch;
        i++;
      }
      out.push({ kind: 'str', text: s, value: s, at });
      continue;
    }
    const num = /^(?:\d+\.\d+|\d+)/.exec(src.slice(i));
    if (num) {
      out.push({ kind: 'num', text: num[0], value: Number(num[0]), at });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (id) {
      out.push({ kind: 'id', text: id[0], at });
      i += id[0].length;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) throw new ExpressionError(`unexpected character '${c}'`, at);
    out.push({ kind: 'op', text: op, at });
    i += op.length;
  }
  out.push({ kind: 'end', text: 'end of expression', at: src.length + 1 });
  return out;
}

/** Binary operators by precedence (expr's: or 10, and 15, comparisons 20, + - 30, * / % 60). */
const BINARY = new Map<string, number>(Object.entries({
  '||': 10, or: 10, '&&': 15, and: 15,
  '==': 20, '!=': 20, '<': 20, '<=': 20, '>': 20, '>=': 20, in: 20, matches: 20, contains: 20, startsWith: 20, endsWith: 20,
  '+': 30, '-': 30, '*': 60, '/': 60, '%': 60,
}));
const UNARY_PRECEDENCE = 50;

/** What the parser knows of a node besides its closure: literals fold, incidr specialises. */
interface Node {
  fn: Compiled;
  literal?: Value;
  /** The node is a call to this argument-less function (client_ip()). */
  call?: string;
}

export function compileExpression(src: string, functions: Record<string, ExprFunction>): (q: Query) => boolean {
  const toks = tokenize(src);
  let p = 0;
  const peek = (): Tok => toks[p]!;
  const next = (): Tok => toks[p++]!;
  const expect = (text: string): void => {
    const t = next();
    if (t.text !== text || t.kind === 'str') throw new ExpressionError(`expected '${text}', found '${t.text}'`, t.at);
  };
  const literal = (v: Value): Node => ({ fn: () => v, literal: v });

  const primary = (): Node => {
    const t = next();
    if (t.kind === 'num' || t.kind === 'str') return literal(t.value!);
    if (t.kind === 'op' && t.text === '(') {
      const n = expression(0);
      expect(')');
      return n;
    }
    if (t.kind === 'op' && t.text === '[') {
      const items: Node[] = [];
      if (peek().text !== ']') {
        for (;;) {
          items.push(expression(0));
          if (peek().text !== ',') break;
          next();
        }
      }
      expect(']');
      if (items.every((n) => 'literal' in n)) return literal(items.map((n) => n.literal!));
      return { fn: (q) => items.map((n) => n.fn(q)) };
    }
    if (t.kind === 'op' && (t.text === '!' || t.text === '-' || t.text === '+')) return unary(t);
    if (t.kind === 'id') {
      if (t.text === 'true' || t.text === 'false') return literal(t.text === 'true');
      if (t.text === 'nil') return literal(null);
      if (t.text === 'not') return unary(t);
      const f = Object.hasOwn(functions, t.text) ? functions[t.text] : undefined;
      if (!f || peek().text !== '(') throw new ExpressionError(`unknown name ${t.text}`, t.at);
      next();
      const args: Node[] = [];
      if (peek().text !== ')') {
        for (;;) {
          args.push(expression(0));
          if (peek().text !== ',') break;
          next();
        }
      }
      expect(')');
      if (args.length !== f.args) throw new ExpressionError(`${t.text}() takes ${f.args} argument${f.args === 1 ? '' : 's'}, not ${args.length}`, t.at);
      return callNode(t, f, args);
    }
    throw new ExpressionError(`unexpected ${t.kind === 'end' ? 'end of expression' : `'${t.text}'`}`, t.at);
  };

  const unary = (t: Tok): Node => {
    const operand = expression(UNARY_PRECEDENCE);
    const f = operand.fn;
    if (t.text === '!' || t.text === 'not') return { fn: (q) => !bool(f(q)) };
    if (t.text === '-') return { fn: (q) => -num(f(q)) };
    return { fn: (q) => num(f(q)) };
  };

  const callNode = (t: Tok, f: ExprFunction, args: Node[]): Node => {
    if (t.text === 'incidr' && args[0]!.call === 'client_ip' && typeof args[1]!.literal === 'string') {
      const net = parseNet(args[1]!.literal);
      if (net === null) throw new ExpressionError(`'${args[1]!.literal}' is not a network (CIDR)`, t.at);
      const m = new NetMatcher([net]);
      return { fn: (q) => m.matches(q.remoteAddress) };
    }
    if (args.length === 0) return { fn: (q) => f.call(q, NO_ARGS), call: t.text };
    return { fn: (q) => f.call(q, args.map((a) => a.fn(q))) };
  };

  const expression = (min: number): Node => {
    let left = primary();
    for (;;) {
      const t = peek();
      let op = t.kind === 'op' || t.kind === 'id' ? t.text : '';
      let negate = false;
      if (op === 'not' && toks[p + 1]?.text === 'in') op = 'not in';
      const prec = BINARY.get(op === 'not in' ? 'in' : op);
      if (prec === undefined || prec <= min) return left;
      next();
      if (op === 'not in') {
        next();
        negate = true;
        op = 'in';
      }
      const right = expression(prec);
      left = binary(op, left, right, negate, t);
    }
  };

  const root = expression(0);
  if (peek().kind !== 'end') throw new ExpressionError(`unexpected '${peek().text}'`, peek().at);
  const fn = root.fn;
  return (q) => {
    try {
      return fn(q) === true;
    } catch (err) {
      if (err instanceof EvalError) return false;
      throw err;
    }
  };
}

const NO_ARGS: Value[] = [];

function bool(v: Value): boolean {
  if (typeof v !== 'boolean') throw new EvalError('not a boolean');
  return v;
}

function num(v: Value): number {
  if (typeof v !== 'number') throw new EvalError('not a number');
  return v;
}

function str(v: Value): string {
  if (typeof v !== 'string') throw new EvalError('not a string');
  return v;
}

function equal(a: Value, b: Value): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => equal(x, b[i]!));
  }
  return a === b;
}

function compare(a: Value, b: Value): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  throw new EvalError('values that do not compare');
}

function binary(op: string, l: Node, r: Node, negate: boolean, t: Tok): Node {
  const a = l.fn;
  const b = r.fn;
  switch (op) {
    case '||': case 'or': return { fn: (q) => bool(a(q)) || bool(b(q)) };
    case '&&': case 'and': return { fn: (q) => bool(a(q)) && bool(b(q)) };
    case '==': return { fn: (q) => equal(a(q), b(q)) };
    case '!=': return { fn: (q) => !equal(a(q), b(q)) };
    case '<': return { fn: (q) => compare(a(q), b(q)) < 0 };
    case '<=': return { fn: (q) => compare(a(q), b(q)) <= 0 };
    case '>': return { fn: (q) => compare(a(q), b(q)) > 0 };
    case '>=': return { fn: (q) => compare(a(q), b(q)) >= 0 };
    case 'in': {
      if (r.literal !== undefined && !Array.isArray(r.literal)) throw new ExpressionError(`'in' needs a list on its right`, t.at);
      return {
        fn: (q) => {
          const x = a(q);
          const list = b(q);
          if (!Array.isArray(list)) throw new EvalError('in: not a list');
          let found = false;
          for (let i = 0; i < list.length; i++) if (equal(x, list[i]!)) { found = true; break; }
          return found !== negate;
        },
      };
    }
    case 'matches': {
      if (typeof r.literal === 'string') {
        let re: RegExp;
        try {
          re = new RegExp(r.literal);
        } catch (err) {
          throw new ExpressionError(`'${r.literal}' is not a regular expression: ${(err as Error).message}`, t.at);
        }
        return { fn: (q) => re.test(str(a(q))) };
      }
      return {
        fn: (q) => {
          try {
            return new RegExp(str(b(q))).test(str(a(q)));
          } catch {
            throw new EvalError('matches: not a regular expression');
          }
        },
      };
    }
    case 'contains': return { fn: (q) => str(a(q)).includes(str(b(q))) };
    case 'startsWith': return { fn: (q) => str(a(q)).startsWith(str(b(q))) };
    case 'endsWith': return { fn: (q) => str(a(q)).endsWith(str(b(q))) };
    case '+': return {
      fn: (q) => {
        const x = a(q);
        const y = b(q);
        if (typeof x === 'string' && typeof y === 'string') return x + y;
        return num(x) + num(y);
      },
    };
    case '-': return { fn: (q) => num(a(q)) - num(b(q)) };
    case '*': return { fn: (q) => num(a(q)) * num(b(q)) };
    case '/': return { fn: (q) => num(a(q)) / num(b(q)) };
    default: return { fn: (q) => num(a(q)) % num(b(q)) };
  }
}
