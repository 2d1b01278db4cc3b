// Resolving `import PATTERN` to files, and reading/lexing those files.
// Relative patterns are relative to the directory of the file holding the import.
// As in CoreDNS, a pattern is a glob when it contains any of `* ? [ ]`; a glob that
// matches nothing only produces a warning, while a plain path that does not exist
// is an error. Glob matches are sorted; directories matched by a glob are skipped.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { errorAt, fsReason, show } from './errors.ts';
import { lex } from './lexer.ts';
import type { Env } from './env.ts';
import type { LexToken, Token } from './types.ts';

export interface ImportContext {
  env: Env;
  /** Absolute paths of files read, in first-read order (the main file first). */
  files: string[];
  warnings: string[];
  /** Lexed files by absolute path, so a file imported twice is read once. */
  cache: Map<string, LexToken[]>;
}

const GLOB_CHARS = /[*?[\]]/;

/** Absolute paths the import at `at` (the pattern token) pulls in, in order. */
export function resolveImport(ctx: ImportContext, pattern: string, at: Token): string[] {
  const baseDir = path.dirname(path.resolve(at.file));
  const target = path.isAbsolute(pattern) ? path.normalize(pattern) : path.join(baseDir, pattern);

  if (GLOB_CHARS.test(pattern)) {
    let matches: string[];
    try {
      matches = fs.globSync(target);
    } catch (e) {
      throw errorAt(at, `invalid import glob pattern ${show(pattern)}: ${fsReason(e)}`);
    }
    const files = matches
      .map((m) => path.resolve(baseDir, m))
      .filter((m) => {
        try {
          return !fs.statSync(m).isDirectory();
        } catch {
          return true; // e.g. a dangling symlink: reading it reports the problem
        }
      })
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (files.length === 0) {
      ctx.warnings.push(`${at.file}:${at.line}:${at.column}: no files match import glob pattern ${show(pattern)}`);
    }
    return files;
  }

  let stat: fs.Stats;
  try {
    stat = fs.statSync(target);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      const looksLikeName = !pattern.includes('/') && !pattern.includes('.');
      throw errorAt(
        at,
        `file to import not found: ${show(pattern)} (looked for ${target})`,
        looksLikeName
          ? `no snippet named ${show(pattern)} is defined above this line; a snippet must be defined, as '(${pattern}) { ... }', before it is imported`
          : `relative import paths are resolved from the directory of the importing file (${baseDir})`,
      );
    }
    throw errorAt(at, `cannot import ${show(pattern)}: ${fsReason(e)}`);
  }
  if (stat.isDirectory()) {
    throw errorAt(at, `cannot import ${show(pattern)}: ${target} is a directory`, `to import every file in it, use a glob such as '${path.join(pattern, '*')}'`);
  }
  return [target];
}

/** Lexed tokens of an imported file (absolute path); records it in ctx.files. */
export function readImport(ctx: ImportContext, file: string, at: Token): LexToken[] {
  const cached = ctx.cache.get(file);
  if (cached !== undefined) return cached;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw errorAt(at, `cannot import ${file}: ${fsReason(e)}`);
  }
  if (!ctx.files.includes(file)) ctx.files.push(file);
  const tokens = lex(text, file, ctx.env).tokens;
  ctx.cache.set(file, tokens);
  return tokens;
}
