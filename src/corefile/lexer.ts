// Splits Corefile text into tokens, the way CoreDNS's (Caddy v1) lexer does:
// - tokens are separated by white space; '\r' is ignored entirely;
// - an unquoted '#' starts a comment that runs to the end of the line,
//   even in the middle of a word (`foo#bar` is the token `foo`);
// - a '"' at the start of a token opens a quoted string that may span lines;
//   inside it only `\"` is an escape (any other backslash is kept as is); the
//   closing quote ends the token even if no white space follows;
// - a byte order mark at the very start is skipped.
// Environment references are substituted into each token's text here.

import { CorefileError } from './errors.ts';
import { substituteEnv } from './env.ts';
import type { Env } from './env.ts';
import type { LexToken, SourceEnd } from './types.ts';

export interface LexResult {
  tokens: LexToken[];
  end: SourceEnd;
}

// Go's unicode.IsSpace: JavaScript's \s plus NEL, minus the BOM.
function isSpace(cp: number): boolean {
  if (cp === 0x20 || (cp >= 0x09 && cp <= 0x0d)) return true;
  if (cp < 0x85) return false;
  if (cp === 0x85 || cp === 0xa0 || cp === 0x1680 || cp === 0x2028 || cp === 0x2029) return true;
  if (cp >= 0x2000 && cp <= 0x200a) return true;
  return cp === 0x202f || cp === 0x205f || cp === 0x3000;
}

export function lex(text: string, file: string, env: Env): LexResult {
  const tokens: LexToken[] = [];
  let line = 1;
  let column = 1;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let lineHasToken = false;
  let comment = false;

  // The unquoted token being built, if any.
  let word: string | null = null;
  let wordLine = 0;
  let wordColumn = 0;
  let wordNl = false;

  // `nl`: nothing precedes the token on the line where it starts.
  const emit = (raw: string, tl: number, tc: number, quoted: boolean, nl: boolean): void => {
    tokens.push({ token: { text: substituteEnv(raw, env), file, line: tl, column: tc, quoted }, raw, nl });
    lineHasToken = true;
  };
  const endWord = (): void => {
    if (word === null) return;
    emit(word, wordLine, wordColumn, false, wordNl);
    word = null;
  };

  while (i < text.length) {
    const cp = text.codePointAt(i) as number;
    const ch = String.fromCodePoint(cp);
    i += ch.length;

    if (cp === 0x0a) {
      endWord();
      comment = false;
      lineHasToken = false;
      line++;
      column = 1;
      continue;
    }
    column++;
    if (comment || cp === 0x0d) continue;
    if (isSpace(cp)) {
      endWord();
      continue;
    }
    if (cp === 0x23 /* # */) {
      endWord();
      comment = true;
      continue;
    }
    if (word !== null) {
      word += ch;
      continue;
    }
    if (cp !== 0x22 /* " */) {
      word = ch;
      wordLine = line;
      wordColumn = column - 1;
      wordNl = !lineHasToken;
      lineHasToken = true;
      continue;
    }

    // Quoted string.
    const qLine = line;
    const qColumn = column - 1;
    const qNl = !lineHasToken;
    let value = '';
    let closed = false;
    let escaped = false;
    while (i < text.length) {
      const qcp = text.codePointAt(i) as number;
      const qch = String.fromCodePoint(qcp);
      i += qch.length;
      if (qcp === 0x0a) {
        line++;
        column = 1;
      } else {
        column++;
      }
      if (escaped) {
        escaped = false;
        value += qcp === 0x22 ? '"' : `\\${qch}`;
        continue;
      }
      if (qcp === 0x5c /* \ */) {
        escaped = true;
        continue;
      }
      if (qcp === 0x22) {
        closed = true;
        break;
      }
      value += qch;
    }
    if (!closed) {
      throw new CorefileError(
        file,
        qLine,
        qColumn,
        'unterminated quoted string',
        'add the closing \'"\' (write \\" for a literal quote inside a quoted string)',
      );
    }
    // A later token on the line where the quote closes is not first on its line.
    emit(value, qLine, qColumn, true, qNl);
  }
  endWord();
  return { tokens, end: { line, column } };
}
