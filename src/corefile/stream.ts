// A token stream over the main file that splices in `import`ed files and
// snippets as it goes. Each import is a frame on a stack, so the stack is the
// chain of imports being expanded; finding a file or snippet already on it is
// an import cycle. The first token of every frame counts as starting a line.

import * as path from 'node:path';
import { errorAt, show } from './errors.ts';
import { readImport, resolveImport } from './imports.ts';
import type { ImportContext } from './imports.ts';
import type { LexToken, SourceEnd, Token } from './types.ts';

/** A defined snippet: its body tokens and where its name was written. */
export interface Snippet {
  tokens: LexToken[];
  at: Token;
}

interface Frame {
  tokens: LexToken[];
  pos: number;
  /** 'file:/abs/path' or 'snippet:name'; '' before a file group loads its first file. */
  key: string;
  label: string;
  /** Further files of the same import (a glob), read when this one is done. */
  pending: string[];
  /** The import's pattern token (for errors while loading pending files). */
  importedAt: Token | null;
}

/** Upper bound on expansions, against runaway snippet/file fan-out. */
export const MAX_IMPORTS = 10_000;

export class TokenStream {
  readonly mainFile: string;
  readonly end: SourceEnd;
  readonly snippets: Map<string, Snippet>;
  private readonly ctx: ImportContext;
  private readonly frames: Frame[] = [];
  private readonly active = new Map<string, number>();
  private imports = 0;

  constructor(tokens: LexToken[], mainFile: string, end: SourceEnd, ctx: ImportContext, snippets: Map<string, Snippet>) {
    this.mainFile = mainFile;
    this.end = end;
    this.ctx = ctx;
    this.snippets = snippets;
    const abs = path.resolve(mainFile);
    this.push({ tokens, pos: 0, key: `file:${abs}`, label: abs, pending: [], importedAt: null });
  }

  /** Next token, expanding an `import` line that starts here. */
  peek(): LexToken | undefined {
    return this.current(true);
  }
  next(): LexToken | undefined {
    return this.advance(this.current(true));
  }
  /** Next token as written (no import expansion), e.g. for snippet bodies. */
  peekRaw(): LexToken | undefined {
    return this.current(false);
  }
  nextRaw(): LexToken | undefined {
    return this.advance(this.current(false));
  }

  private advance(t: LexToken | undefined): LexToken | undefined {
    if (t !== undefined) (this.frames[this.frames.length - 1] as Frame).pos++;
    return t;
  }

  private current(expand: boolean): LexToken | undefined {
    for (;;) {
      const top = this.frames[this.frames.length - 1];
      if (top === undefined) return undefined;
      const t = top.tokens[top.pos];
      if (t === undefined) {
        if (top.pending.length > 0) this.loadNext(top);
        else this.pop();
        continue;
      }
      const nl = t.nl || top.pos === 0;
      if (expand && nl && !t.token.quoted && t.raw === 'import') {
        this.expand(top);
        continue;
      }
      return nl === t.nl ? t : { ...t, nl };
    }
  }

  private push(f: Frame): void {
    this.frames.push(f);
    if (f.key !== '') this.active.set(f.key, (this.active.get(f.key) ?? 0) + 1);
  }

  private pop(): void {
    const f = this.frames.pop();
    if (f !== undefined) this.deactivate(f.key);
  }

  private deactivate(key: string): void {
    if (key === '') return;
    const n = (this.active.get(key) ?? 0) - 1;
    if (n > 0) this.active.set(key, n);
    else this.active.delete(key);
  }

  /** `stack`: the frames that are importing this one (outermost first). */
  private checkCycle(key: string, label: string, at: Token, stack: Frame[]): void {
    if (!this.active.has(key)) return;
    const from = stack.findIndex((f) => f.key === key);
    const chain = [...stack.slice(from).map((f) => f.label), label];
    throw errorAt(
      at,
      `import cycle: ${chain.join(' -> ')}`,
      'a file or snippet must not import itself, directly or through other imports',
    );
  }

  /** Replace an `import` line (at top.pos) by what it names. */
  private expand(top: Frame): void {
    const imp = top.tokens[top.pos] as LexToken;
    let j = top.pos + 1;
    const args: LexToken[] = [];
    for (let a = top.tokens[j]; a !== undefined && !a.nl; a = top.tokens[++j]) args.push(a);

    const first = args[0];
    if (first === undefined) {
      throw errorAt(imp.token, 'import needs one argument: a file, a glob pattern or a snippet name');
    }
    if (args.length > 1) {
      throw errorAt(
        (args[1] as LexToken).token,
        `import takes exactly one argument, but ${show((args[1] as LexToken).token.text)} follows ${show(first.token.text)}`,
        'quote a path that contains spaces, and use one import line per file or pattern',
      );
    }
    const at = first.token;
    const pattern = at.text;
    if (pattern === '') {
      throw errorAt(
        at,
        'import needs a non-empty file, glob pattern or snippet name',
        first.raw.includes('{$') || first.raw.includes('{%') ? 'the environment variable used here is unset or empty' : undefined,
      );
    }
    if (++this.imports > MAX_IMPORTS) {
      throw errorAt(at, `too many imports (more than ${MAX_IMPORTS}) while reading the Corefile`, 'check for snippets or files that import each other many times');
    }
    top.pos = j;

    const snippet = this.snippets.get(pattern);
    if (snippet !== undefined) {
      const key = `snippet:${pattern}`;
      const label = `snippet ${show(pattern)}`;
      this.checkCycle(key, label, at, this.frames);
      this.push({ tokens: snippet.tokens, pos: 0, key, label, pending: [], importedAt: at });
      return;
    }
    const files = resolveImport(this.ctx, pattern, at);
    if (files.length > 0) this.push({ tokens: [], pos: 0, key: '', label: '', pending: files, importedAt: at });
  }

  /** Move a file-group frame on to its next file. */
  private loadNext(f: Frame): void {
    const file = f.pending.shift() as string;
    const at = f.importedAt as Token;
    this.deactivate(f.key);
    f.key = '';
    const key = `file:${file}`;
    this.checkCycle(key, file, at, this.frames.slice(0, -1));
    f.tokens = readImport(this.ctx, file, at);
    f.pos = 0;
    f.key = key;
    f.label = file;
    this.active.set(key, (this.active.get(key) ?? 0) + 1);
  }
}
