// Corefile parser: CoreDNS (Caddy v1) Corefile syntax to server blocks.
// Keys and directive names are not interpreted here.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { CorefileError, fsReason } from './errors.ts';
import { lex } from './lexer.ts';
import { Parser } from './parser.ts';
import { TokenStream } from './stream.ts';
import type { ImportContext } from './imports.ts';
import type { Snippet } from './stream.ts';
import type { Corefile, ParseOptions } from './types.ts';

export { CorefileError, errorAt } from './errors.ts';
export type { Corefile, Directive, ParseOptions, ServerBlock, Token } from './types.ts';

/**
 * Parse Corefile `text`; `file` names it in tokens and errors, and relative
 * imports are resolved from its directory. Throws only CorefileError.
 */
export function parseCorefile(text: string, file: string, options: ParseOptions = {}): Corefile {
  try {
    const env = options.env ?? process.env;
    const main = lex(text, file, env);
    const ctx: ImportContext = { env, files: [path.resolve(file)], warnings: [], cache: new Map() };
    const stream = new TokenStream(main.tokens, file, main.end, ctx, new Map<string, Snippet>());
    const blocks = new Parser(stream).parse();
    return { blocks, files: ctx.files, warnings: ctx.warnings };
  } catch (e) {
    if (e instanceof CorefileError) throw e;
    // Safety net: nothing but CorefileError may escape.
    throw new CorefileError(file, 0, 0, `internal parser error: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Read `file` (synchronously) and parse it. Throws only CorefileError. */
export function loadCorefile(file: string, options: ParseOptions = {}): Corefile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new CorefileError(file, 0, 0, `cannot read Corefile: ${fsReason(e)}`);
  }
  return parseCorefile(text, file, options);
}
