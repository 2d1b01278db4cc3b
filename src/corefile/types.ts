// Public data types of the Corefile parser, plus the internal token shape
// the lexer hands to the token stream.

/** One word of the Corefile, with the place it was written. */
export interface Token {
  /** Text after quote removal and environment substitution. */
  text: string;
  /** File the token was read from (the main file as given; imports as absolute paths). */
  file: string;
  /** 1-based line of the token's first character (the opening quote for quoted tokens). */
  line: number;
  /** 1-based column, counted in Unicode code points. */
  column: number;
  /** True when the token was written as a "quoted string". */
  quoted: boolean;
}

/** One logical line inside a server block (or inside a nested block). */
export interface Directive {
  /** First token of the line: the directive or sub-option name. */
  name: Token;
  /** Remaining tokens on that line (before any `{`). */
  args: Token[];
  /** Lines of the nested `{ ... }` block, or null when the line opens no block. */
  block: Directive[] | null;
}

export interface ServerBlock {
  /** Server block keys, raw (split on commas, otherwise uninterpreted). */
  keys: Token[];
  directives: Directive[];
}

export interface Corefile {
  /** Server blocks in file order, imports and snippets expanded. */
  blocks: ServerBlock[];
  /** Absolute paths of every file read: the main file first, then imports in first-read order. */
  files: string[];
  /** Non-fatal findings (e.g. an import glob that matched nothing), formatted `file:line:column: text`. */
  warnings: string[];
}

export interface ParseOptions {
  /** Variables for `{$NAME}` / `{%NAME%}`; defaults to process.env. */
  env?: Record<string, string | undefined>;
}

/** A token as produced by the lexer (internal). */
export interface LexToken {
  /** The public token (never mutated once created). */
  token: Token;
  /** Source text before environment substitution (used to recognise `{`, `}` and `import`). */
  raw: string;
  /** True when this is the first token on its line in its own source. */
  nl: boolean;
}

/** Position just past the last character of a source. */
export interface SourceEnd {
  line: number;
  column: number;
}
