// Groups the token stream into server blocks, directives and nested blocks.
//
//   file        := { snippet | serverblock }
//   snippet     := "(name)" "{" tokens... "}"             (top level only)
//   serverblock := keys ( "{" lines "}" | lines-to-EOF )   (braceless: only block)
//   keys        := key { [","] key }   (a trailing comma continues onto the next line)
//   line        := name { arg } [ "{" lines "}" ]
//
// A `{` may be followed on its line by the block's first line (as CoreDNS
// allows); a `}` must be the first token on its line and nothing may follow it.

import { CorefileError, errorAt, show } from './errors.ts';
import type { Snippet, TokenStream } from './stream.ts';
import type { Directive, LexToken, ServerBlock, Token } from './types.ts';

/** Deepest nesting of `{ ... }` accepted inside a server block. */
export const MAX_DEPTH = 100;

function isOpen(t: LexToken): boolean {
  return !t.token.quoted && t.raw === '{';
}
function isClose(t: LexToken): boolean {
  return !t.token.quoted && t.raw === '}';
}
function copy(t: LexToken): Token {
  return { ...t.token };
}
function usesEnv(t: LexToken): boolean {
  return t.raw.includes('{$') || t.raw.includes('{%');
}

export class Parser {
  private readonly stream: TokenStream;
  private readonly blocks: ServerBlock[] = [];
  /** First key of a server block written without braces, once one was seen. */
  private braceless: Token | null = null;

  constructor(stream: TokenStream) {
    this.stream = stream;
  }

  parse(): ServerBlock[] {
    while (this.stream.peek() !== undefined) this.entry();
    return this.blocks;
  }

  /** One top-level entry: a server block or a snippet definition. */
  private entry(): void {
    const first = this.stream.next() as LexToken;
    if (isOpen(first)) {
      throw errorAt(first.token, "found '{' but no server block keys before it", "a server block starts with its keys on the same line as '{', e.g. '.:53 {'");
    }
    if (isClose(first)) {
      throw errorAt(first.token, "unexpected '}': there is no open block to close", "remove it, or look for a missing '{' above");
    }

    const keys: Token[] = [];
    const keyTokens: LexToken[] = [];
    let opener: LexToken | null = null;
    let expectingKey = false;
    let cur = first;
    for (;;) {
      if (isOpen(cur)) {
        if (expectingKey) {
          throw errorAt(cur.token, "expected another server block key after ',' but found '{'", 'remove the trailing comma');
        }
        opener = cur;
        break;
      }
      if (isClose(cur)) {
        throw errorAt(cur.token, "unexpected '}' among server block keys", "a server block is written as 'KEYS {', its directives, then '}' on its own line");
      }
      keyTokens.push(cur);
      expectingKey = addKeys(cur, keys);
      const nxt = this.stream.peek();
      if (nxt === undefined) {
        if (expectingKey) throw this.eofError("expected another server block key after ','", 'remove the trailing comma');
        break;
      }
      if (nxt.nl && !expectingKey && !isOpen(nxt)) break;
      cur = this.stream.next() as LexToken;
    }

    const snippetName = keyTokens.length === 1 ? snippetNameOf(keys) : null;
    if (snippetName !== null) {
      this.snippet(snippetName, first, opener);
      return;
    }

    if (keys.length === 0) {
      throw errorAt(
        first.token,
        'server block has no keys',
        keyTokens.some(usesEnv)
          ? 'its keys come from environment variables that are unset or empty'
          : "start the block with the zone(s) it serves, e.g. '.:53 {'",
      );
    }

    if (opener !== null) {
      this.blocks.push({ keys, directives: this.lines(opener, 1) });
      return;
    }
    if (this.blocks.length > 0) {
      throw errorAt(
        first.token,
        `server block ${show(first.token.text)} has no '{' after its keys`,
        "only a Corefile with a single server block may leave out the braces; add '{' here and a matching '}' after its directives",
      );
    }
    this.braceless = first.token;
    this.blocks.push({ keys, directives: this.lines(null, 1) });
  }

  /** `(name) { ... }`: record the body tokens for later `import name`. */
  private snippet(name: string, first: LexToken, opener: LexToken | null): void {
    if (name === '') {
      throw errorAt(first.token, 'snippet name is empty', "name the snippet inside the parentheses, e.g. '(common) {'");
    }
    const previous = this.stream.snippets.get(name);
    if (previous !== undefined) {
      const p = previous.at;
      throw errorAt(first.token, `snippet ${show(name)} is already defined at ${p.file}:${p.line}:${p.column}`, 'give each snippet a unique name');
    }
    if (opener === null) {
      throw errorAt(first.token, `expected '{' after snippet name ${show(first.token.text)}`, `a snippet is written as '(${name}) {', its lines, then '}'`);
    }
    const body: LexToken[] = [];
    let depth = 1;
    for (;;) {
      const t = this.stream.nextRaw();
      if (t === undefined) {
        throw this.eofError(`expected '}' to close snippet ${show(name)} opened at ${this.where(opener.token)}`, "add the missing '}'");
      }
      if (isClose(t)) {
        if (--depth === 0) break;
      } else if (isOpen(t)) {
        depth++;
      }
      body.push(t);
    }
    this.afterClose();
    this.stream.snippets.set(name, { tokens: body, at: first.token } satisfies Snippet);
  }

  /**
   * Lines up to the `}` matching `opener`, or (opener null: braceless server
   * block) up to the end of the file.
   */
  private lines(opener: LexToken | null, depth: number): Directive[] {
    const out: Directive[] = [];
    for (;;) {
      const t = this.stream.next();
      if (t === undefined) {
        if (opener === null) return out;
        throw this.eofError(`expected '}' to close the block opened at ${this.where(opener.token)}`, "add the missing '}'");
      }
      if (isClose(t)) {
        if (opener === null) {
          const b = this.braceless as Token;
          throw errorAt(
            t.token,
            "unexpected '}': there is no open block to close",
            `the server block ${show(b.text)} at line ${b.line} has no '{' after its keys; add it there, or remove this '}'`,
          );
        }
        this.afterClose();
        return out;
      }
      if (isOpen(t)) {
        throw errorAt(
          t.token,
          "unexpected '{' at the start of a line inside a block",
          "a '{' belongs at the end of the line it opens a block for, e.g. 'health {'",
        );
      }
      out.push(this.directive(t, depth));
    }
  }

  /** The rest of a line whose first token is `name`, plus its block if it opens one. */
  private directive(name: LexToken, depth: number): Directive {
    const args: Token[] = [];
    let block: Directive[] | null = null;
    for (let p = this.stream.peekRaw(); p !== undefined && !p.nl; p = this.stream.peekRaw()) {
      const a = this.stream.nextRaw() as LexToken;
      if (isClose(a)) {
        throw errorAt(a.token, "unexpected '}' at the end of a line", "put the closing '}' on a line of its own");
      }
      if (isOpen(a)) {
        if (depth >= MAX_DEPTH) {
          throw errorAt(a.token, `blocks are nested too deeply (more than ${MAX_DEPTH} levels)`);
        }
        block = this.lines(a, depth + 1);
        break;
      }
      args.push(copy(a));
    }
    return { name: copy(name), args, block };
  }

  /** Nothing may follow a closing `}` on its line. */
  private afterClose(): void {
    const p = this.stream.peekRaw();
    if (p !== undefined && !p.nl) {
      throw errorAt(p.token, `unexpected ${show(p.token.text)} after '}'`, "start a new line after a closing '}'");
    }
  }

  private where(t: Token): string {
    return t.file === this.stream.mainFile ? `line ${t.line}` : `${t.file}:${t.line}`;
  }

  private eofError(what: string, hint?: string): CorefileError {
    const { line, column } = this.stream.end;
    return new CorefileError(this.stream.mainFile, line, column, `unexpected end of file: ${what}`, hint);
  }
}

/**
 * Add the keys in one key token; returns true when it ends with a comma (so
 * another key must follow, possibly on the next line). Unquoted tokens are split
 * on commas; empty keys (e.g. `""` or an empty variable) are dropped, as in CoreDNS.
 */
function addKeys(t: LexToken, keys: Token[]): boolean {
  const tok = t.token;
  if (tok.quoted) {
    if (tok.text !== '') keys.push(copy(t));
    return false;
  }
  // Columns of the parts are exact only when no substitution changed the text.
  const exact = tok.text === t.raw;
  let offset = 0;
  for (const part of tok.text.split(',')) {
    if (part !== '') keys.push({ ...tok, text: part, column: exact ? tok.column + offset : tok.column });
    offset += [...part].length + 1;
  }
  return tok.text.endsWith(',');
}

/** `(name)` as the only key names a snippet. */
function snippetNameOf(keys: Token[]): string | null {
  const k = keys[0];
  if (keys.length !== 1 || k === undefined || k.quoted) return null;
  return k.text.length >= 2 && k.text.startsWith('(') && k.text.endsWith(')') ? k.text.slice(1, -1) : null;
}
