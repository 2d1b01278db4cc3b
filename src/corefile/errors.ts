// The single error type every parse failure is reported with.

import type { Token } from './types.ts';

export class CorefileError extends Error {
  file: string;
  /** 1-based; 0 when the problem has no position (e.g. an unreadable main file). */
  line: number;
  /** 1-based; 0 when the problem has no position. */
  column: number;
  hint?: string;

  constructor(file: string, line: number, column: number, what: string, hint?: string) {
    const where = line > 0 ? `${file}:${line}:${column}` : file;
    super(`${where}: ${what}${hint !== undefined ? `\n  hint: ${hint}` : ''}`);
    this.name = 'CorefileError';
    this.file = file;
    this.line = line;
    this.column = column;
    if (hint !== undefined) this.hint = hint;
  }
}

/** Error positioned at a token. */
export function errorAt(token: Token, what: string, hint?: string): CorefileError {
  return new CorefileError(token.file, token.line, token.column, what, hint);
}

/** Short, printable rendering of a token's text for messages. */
export function show(text: string): string {
  const s = JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}...` : text);
  return `'${s.slice(1, -1)}'`;
}

/** Readable reason from a failed fs call ("ENOENT: no such file or directory, ..."). */
export function fsReason(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const code = (e as NodeJS.ErrnoException).code;
  return code !== undefined && !e.message.startsWith(code) ? `${code}: ${e.message}` : e.message;
}
