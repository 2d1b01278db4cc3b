import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CorefileError, loadCorefile, parseCorefile } from '../src/corefile/index.ts';
import type { Corefile, Directive, ParseOptions, Token } from '../src/corefile/index.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.join(here, 'fixtures', 'corefile', 'default.Corefile');
const noEnv: ParseOptions = { env: {} };

function parse(text: string, env: Record<string, string> = {}, file = 'Corefile'): Corefile {
  return parseCorefile(text, file, { env });
}

/** Directive tree as nested arrays of texts: [name, ...args, [block lines]?]. */
type Shape = (string | Shape[])[];
function shape(ds: Directive[]): Shape[] {
  return ds.map((d) => {
    const s: Shape = [d.name.text, ...d.args.map((a) => a.text)];
    if (d.block !== null) s.push(shape(d.block));
    return s;
  });
}
const texts = (ts: Token[]): string[] => ts.map((t) => t.text);
const pos = (t: Token): [number, number] => [t.line, t.column];

/** Assert `fn` throws a CorefileError at file:line:column whose message contains `what`. */
function throwsAt(fn: () => unknown, file: string, line: number, column: number, what: string | RegExp, hint?: RegExp): CorefileError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof CorefileError, `expected CorefileError, got ${String(err)}`);
  assert.equal(err.file, file);
  assert.deepEqual([err.line, err.column], [line, column], err.message);
  assert.ok(err.message.startsWith(`${file}:${line}:${column}: `), err.message);
  if (typeof what === 'string') assert.ok(err.message.includes(what), err.message);
  else assert.match(err.message, what);
  if (hint !== undefined) {
    assert.match(err.hint ?? '', hint);
    assert.ok(err.message.includes(`\n  hint: ${err.hint}`));
  }
  return err;
}

let tmpRoot = '';
function tmpDir(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(tmpRoot, 'case-'));
  for (const [name, content] of Object.entries(files)) {
    const p = path.join(dir, name);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, content);
  }
  return dir;
}
before(() => {
  tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'kdns-corefile-test-'));
});
after(() => {
  fs.rmSync(tmpRoot, { recursive: true, force: true });
});

describe('kubeadm default Corefile', () => {
  test('parses into one block with the expected structure', () => {
    const c = loadCorefile(fixture, noEnv);
    assert.deepEqual(c.files, [path.resolve(fixture)]);
    assert.deepEqual(c.warnings, []);
    assert.equal(c.blocks.length, 1);
    const b = c.blocks[0]!;
    assert.deepEqual(texts(b.keys), ['.:53']);
    assert.deepEqual(shape(b.directives), [
      ['log'],
      ['errors'],
      ['health', [['lameduck', '5s']]],
      ['ready'],
      ['kubernetes', 'cluster.local', 'in-addr.arpa', 'ip6.arpa', [['pods', 'insecure'], ['fallthrough', 'in-addr.arpa', 'ip6.arpa'], ['ttl', '30']]],
      ['prometheus', ':9153'],
      ['forward', '.', '/etc/resolv.conf', [['max_concurrent', '1000']]],
      ['cache', '30', [['disable', 'success', 'cluster.local'], ['disable', 'denial', 'cluster.local']]],
      ['loop'],
      ['reload'],
      ['loadbalance'],
    ]);
    // Leaf directives have no block (null, not []).
    assert.equal(b.directives[0]!.block, null);
    assert.deepEqual(b.directives[0]!.args, []);
  });

  test('tokens carry file, line and column', () => {
    const c = loadCorefile(fixture, noEnv);
    const b = c.blocks[0]!;
    assert.deepEqual(b.keys[0], { text: '.:53', file: fixture, line: 1, column: 1, quoted: false });
    const health = b.directives[2]!;
    assert.deepEqual(pos(health.name), [4, 5]);
    assert.deepEqual(pos(health.block![0]!.name), [5, 8]);
    assert.deepEqual(pos(health.block![0]!.args[0]!), [5, 17]);
    const k8s = b.directives[4]!;
    assert.deepEqual(pos(k8s.name), [8, 5]);
    assert.deepEqual(k8s.args.map(pos), [[8, 16], [8, 30], [8, 43]]);
    assert.deepEqual(pos(b.directives[10]!.name), [23, 5]);
  });

  test('parseCorefile on the same text gives the same tree', () => {
    const text = fs.readFileSync(fixture, 'utf8');
    assert.deepEqual(parseCorefile(text, fixture, noEnv), loadCorefile(fixture, noEnv));
  });

  test('CRLF line endings parse the same', () => {
    const text = fs.readFileSync(fixture, 'utf8');
    const a = parse(text);
    const b = parse(text.replace(/\n/g, '\r\n'));
    assert.deepEqual(b, a);
  });
});

describe('server blocks and keys', () => {
  test('multiple blocks, several keys', () => {
    const c = parse(
      [
        'cluster.local:53 in-addr.arpa:53 {',
        '  kubernetes',
        '}',
        '',
        'dns://example.org:1053 {',
        '  whoami',
        '}',
        '. {',
        '  forward . 8.8.8.8',
        '}',
      ].join('\n'),
    );
    assert.equal(c.blocks.length, 3);
    assert.deepEqual(c.blocks.map((b) => texts(b.keys)), [['cluster.local:53', 'in-addr.arpa:53'], ['dns://example.org:1053'], ['.']]);
    assert.deepEqual(c.blocks.map((b) => shape(b.directives)), [[['kubernetes']], [['whoami']], [['forward', '.', '8.8.8.8']]]);
    assert.deepEqual(c.blocks[0]!.keys.map(pos), [[1, 1], [1, 18]]);
  });

  test('keys separated by commas, continued on the next line after a trailing comma', () => {
    const c = parse('a.org, b.org,c.org,\n  d.org\n{\n  log\n}\n');
    assert.deepEqual(texts(c.blocks[0]!.keys), ['a.org', 'b.org', 'c.org', 'd.org']);
    assert.deepEqual(c.blocks[0]!.keys.map(pos), [[1, 1], [1, 8], [1, 14], [2, 3]]);
    assert.deepEqual(shape(c.blocks[0]!.directives), [['log']]);
  });

  test("'{' may stand on the line after the keys", () => {
    const c = parse('.:53\n{\n  log\n}\n');
    assert.deepEqual(texts(c.blocks[0]!.keys), ['.:53']);
    assert.deepEqual(shape(c.blocks[0]!.directives), [['log']]);
  });

  test('empty blocks and a keys-only file', () => {
    assert.deepEqual(shape(parse('. {\n}\n').blocks[0]!.directives), []);
    assert.deepEqual(shape(parse('. { }\n').blocks[0]!.directives), []);
    const c = parse('.:53\n');
    assert.deepEqual(texts(c.blocks[0]!.keys), ['.:53']);
    assert.deepEqual(c.blocks[0]!.directives, []);
    assert.deepEqual(parse('').blocks, []);
    assert.deepEqual(parse('# only a comment\n\n').blocks, []);
  });

  test('nested blocks, several levels deep; empty nested block', () => {
    const c = parse('. {\n  a 1 {\n    b 2 {\n      c 3\n    }\n    d\n  }\n  e {\n  }\n  f { }\n}\n');
    assert.deepEqual(shape(c.blocks[0]!.directives), [['a', '1', [['b', '2', [['c', '3']]], ['d']]], ['e', []], ['f', []]]);
  });

  test("a block's first line may follow '{' on the same line (as CoreDNS allows)", () => {
    const c = parse('. { log\n  health { lameduck 5s\n  }\n}\n');
    assert.deepEqual(shape(c.blocks[0]!.directives), [['log'], ['health', [['lameduck', '5s']]]]);
  });

  test('a single server block may be written without braces', () => {
    const c = parse('example.org:1053\nlog\nforward . 1.1.1.1 {\n  max_fails 3\n}\n');
    assert.equal(c.blocks.length, 1);
    assert.deepEqual(texts(c.blocks[0]!.keys), ['example.org:1053']);
    assert.deepEqual(shape(c.blocks[0]!.directives), [['log'], ['forward', '.', '1.1.1.1', [['max_fails', '3']]]]);
  });

  test('empty keys (from "" or an unset variable) are dropped', () => {
    const c = parse('"" a.org {$NOPE} {\n}\n');
    assert.deepEqual(texts(c.blocks[0]!.keys), ['a.org']);
  });
});

describe('lexing', () => {
  test('comments', () => {
    const c = parse('# header\n. { # after brace\n  log # trailing\n  # whole line\n  errors\n  forward . 1.1.1.1#not-a-port\n}\n');
    // As in CoreDNS, an unquoted '#' starts a comment even in the middle of a word.
    assert.deepEqual(shape(c.blocks[0]!.directives), [['log'], ['errors'], ['forward', '.', '1.1.1.1']]);
  });

  test('quoted strings', () => {
    const c = parse(
      '. {\n  a "two words" "x\\"y" "back\\slash" "" "{" "}" "#no comment"\n  b "multi\nline" after\n  c next\n  d "ab"cd e"f\n}\n',
    );
    const [a, b, c2, d] = c.blocks[0]!.directives;
    assert.deepEqual(texts(a!.args), ['two words', 'x"y', 'back\\slash', '', '{', '}', '#no comment']);
    assert.ok(a!.args.every((t) => t.quoted));
    assert.equal(a!.name.quoted, false);
    assert.equal(a!.block, null);
    // A quoted string spanning lines: the token keeps its start; what follows on the closing line stays on that directive.
    assert.deepEqual(texts(b!.args), ['multi\nline', 'after']);
    assert.deepEqual(pos(b!.args[0]!), [3, 5]);
    assert.deepEqual(pos(b!.args[1]!), [4, 7]);
    assert.deepEqual(pos(c2!.name), [5, 3]);
    // The closing quote ends a token; a quote inside a word is literal.
    assert.deepEqual(texts(d!.args), ['ab', 'cd', 'e"f']);
    assert.deepEqual([d!.args[0]!.quoted, d!.args[1]!.quoted, d!.args[2]!.quoted], [true, false, false]);
  });

  test('tabs, a byte order mark and non-ASCII text', () => {
    const c = parse('\uFEFF.\t{\n\tlog\t"é€😀" x\n}\n');
    const log = c.blocks[0]!.directives[0]!;
    assert.deepEqual(pos(c.blocks[0]!.keys[0]!), [1, 1]);
    assert.deepEqual(pos(log.name), [2, 2]);
    assert.deepEqual(texts(log.args), ['é€😀', 'x']);
    // Columns count code points.
    assert.deepEqual(pos(log.args[1]!), [2, 12]);
  });
});

describe('environment substitution', () => {
  test('{$NAME} and {%NAME%} anywhere in a token, including keys and quoted strings', () => {
    const env = { ZONE: 'cluster.local', PORT: '53', UP: '8.8.8.8', TTL: '30', W: 'x y' };
    const c = parse('{$ZONE}:{%PORT%} {\n  forward . {$UP} "{%W%}"\n  cache pre{$TTL}post\n}\n', env);
    assert.deepEqual(texts(c.blocks[0]!.keys), ['cluster.local:53']);
    assert.deepEqual(shape(c.blocks[0]!.directives), [['forward', '.', '8.8.8.8', 'x y'], ['cache', 'pre30post']]);
    // Positions are those of the written token.
    assert.deepEqual(pos(c.blocks[0]!.directives[0]!.args[1]!), [2, 13]);
  });

  test('unset variables become empty; an empty argument is kept', () => {
    const c = parse('. {\n  a {$NOPE} b{%NOPE%}c\n}\n');
    assert.deepEqual(texts(c.blocks[0]!.directives[0]!.args), ['', 'bc']);
  });

  test('no default-value syntax (CoreDNS has none): {$A:b} names the variable "A:b"', () => {
    const c = parse('. {\n  a {$A:b} {$C:-d}\n}\n', { A: 'x', 'A:b': 'y' });
    assert.deepEqual(texts(c.blocks[0]!.directives[0]!.args), ['y', '']);
  });

  test('a substituted value is text, never structure', () => {
    const c = parse('. {\n  a {$OPEN}\n  {$CLOSE}\n  {$HASH}\n}\n', { OPEN: '{', CLOSE: '}', HASH: '# x' });
    assert.deepEqual(shape(c.blocks[0]!.directives), [['a', '{'], ['}'], ['# x']]);
  });

  test('a variable holding a comma-separated list gives several keys', () => {
    const c = parse('{$ZONES} {\n}\n', { ZONES: 'a.org,b.org' });
    assert.deepEqual(texts(c.blocks[0]!.keys), ['a.org', 'b.org']);
  });

  test('defaults to process.env', () => {
    process.env['KDNS_COREFILE_TEST_VAR'] = 'from-process';
    try {
      const c = parseCorefile('. {\n  a {$KDNS_COREFILE_TEST_VAR}\n}\n', 'Corefile');
      assert.deepEqual(texts(c.blocks[0]!.directives[0]!.args), ['from-process']);
    } finally {
      delete process.env['KDNS_COREFILE_TEST_VAR'];
    }
  });

  test('inherited object properties are not variables', () => {
    const c = parse('. {\n  a {$constructor} {$__proto__} {$toString}\n}\n');
    assert.deepEqual(texts(c.blocks[0]!.directives[0]!.args), ['', '', '']);
  });
});

describe('import and snippets', () => {
  test('import of a file, relative to the importing file; tokens keep their own file/line', () => {
    const dir = tmpDir({ 'common.conf': '# common\nerrors\ncache 30\n', Corefile: '. {\n  log\n  import common.conf\n  reload\n}\n' });
    const main = path.join(dir, 'Corefile');
    const c = loadCorefile(main, noEnv);
    assert.deepEqual(shape(c.blocks[0]!.directives), [['log'], ['errors'], ['cache', '30'], ['reload']]);
    const inc = path.join(dir, 'common.conf');
    assert.deepEqual(c.files, [main, inc]);
    const cache = c.blocks[0]!.directives[2]!;
    assert.deepEqual([cache.name.file, cache.name.line, cache.name.column], [inc, 3, 1]);
    assert.deepEqual([c.blocks[0]!.directives[3]!.name.file, c.blocks[0]!.directives[3]!.name.line], [main, 4]);
  });

  test('import with an absolute path, and of whole server blocks at top level', () => {
    const dir = tmpDir({ 'blocks.conf': 'a.org {\n  whoami\n}\nb.org {\n  log\n}\n' });
    const abs = path.join(dir, 'blocks.conf');
    const c = parseCorefile(`import ${abs}\n. {\n  log\n}\n`, path.join(os.tmpdir(), 'elsewhere', 'Corefile'), noEnv);
    assert.deepEqual(c.blocks.map((b) => texts(b.keys)), [['a.org'], ['b.org'], ['.']]);
    assert.deepEqual(c.files, [path.join(os.tmpdir(), 'elsewhere', 'Corefile'), abs]);
  });

  test('glob import: matches in sorted order, directories skipped, no match is only a warning', () => {
    const dir = tmpDir({
      'conf.d/b.server': 'b.org {\n  log\n}\n',
      'conf.d/a.server': 'a.org {\n  log\n}\n',
      'conf.d/c.other': 'c.org {\n}\n',
      'conf.d/d.server/x': 'ignored\n',
    });
    const main = path.join(dir, 'Corefile');
    const c = parseCorefile('import conf.d/*.server\nimport none/*.conf\n. {\n  import conf.d/*.nothing\n}\n', main, noEnv);
    assert.deepEqual(c.blocks.map((b) => texts(b.keys)), [['a.org'], ['b.org'], ['.']]);
    assert.deepEqual(c.files, [main, path.join(dir, 'conf.d/a.server'), path.join(dir, 'conf.d/b.server')]);
    assert.equal(c.warnings.length, 2);
    assert.equal(c.warnings[0], `${main}:2:8: no files match import glob pattern 'none/*.conf'`);
    assert.match(c.warnings[1]!, /:4:10: no files match import glob pattern 'conf\.d\/\*\.nothing'$/);
  });

  test('nested imports resolve relative to each importing file; a file imported twice is not a cycle', () => {
    const dir = tmpDir({
      'Corefile': '. {\n  import sub/one.conf\n  import sub/one.conf\n}\n',
      'sub/one.conf': 'one\nimport deeper/two.conf\n',
      'sub/deeper/two.conf': 'two {\n  opt\n}\n',
    });
    const c = loadCorefile(path.join(dir, 'Corefile'), noEnv);
    assert.deepEqual(shape(c.blocks[0]!.directives), [['one'], ['two', [['opt']]], ['one'], ['two', [['opt']]]]);
    assert.deepEqual(c.files, [path.join(dir, 'Corefile'), path.join(dir, 'sub/one.conf'), path.join(dir, 'sub/deeper/two.conf')]);
    const two = c.blocks[0]!.directives[1]!;
    assert.deepEqual([two.name.file, two.block![0]!.name.line, two.block![0]!.name.column], [path.join(dir, 'sub/deeper/two.conf'), 2, 3]);
  });

  test('import path from an environment variable', () => {
    const dir = tmpDir({ 'x.conf': 'log\n' });
    const c = parseCorefile('. {\n  import {$INC}\n}\n', path.join(dir, 'Corefile'), { env: { INC: 'x.conf' } });
    assert.deepEqual(shape(c.blocks[0]!.directives), [['log']]);
  });

  test('snippets: defined once, pasted anywhere a line can stand, not a server block', () => {
    const c = parse(
      [
        '(common) {',
        '  errors',
        '  cache 30 {',
        '    success 100',
        '  }',
        '}',
        '(keys) {',
        '  a.org,',
        '}',
        'import keys',
        'b.org {',
        '  import common',
        '  log',
        '}',
        'c.org {',
        '  forward . 1.1.1.1 {',
        '    import common',
        '  }',
        '}',
      ].join('\n'),
    );
    assert.deepEqual(c.blocks.map((b) => texts(b.keys)), [['a.org', 'b.org'], ['c.org']]);
    assert.deepEqual(shape(c.blocks[0]!.directives), [['errors'], ['cache', '30', [['success', '100']]], ['log']]);
    assert.deepEqual(shape(c.blocks[1]!.directives), [['forward', '.', '1.1.1.1', [['errors'], ['cache', '30', [['success', '100']]]]]]);
    // Pasted tokens keep the position where the snippet wrote them; each paste is its own copy.
    const cache = c.blocks[0]!.directives[1]!;
    assert.deepEqual(pos(cache.name), [3, 3]);
    assert.notEqual(cache.name, c.blocks[1]!.directives[0]!.block![1]!.name);
  });

  test('a one-line snippet and snippets importing snippets and files', () => {
    const dir = tmpDir({ 'extra.conf': 'extra\n' });
    const c = parseCorefile(
      '(a) { log }\n(b) {\n  import a\n  import extra.conf\n}\n. {\n  import b\n}\n',
      path.join(dir, 'Corefile'),
      noEnv,
    );
    assert.deepEqual(shape(c.blocks[0]!.directives), [['log'], ['extra']]);
  });

  test('a snippet defined in an imported file is usable afterwards', () => {
    const dir = tmpDir({ 'snippets.conf': '(s) {\n  whoami\n}\n' });
    const c = parseCorefile('import snippets.conf\n. {\n  import s\n}\n', path.join(dir, 'Corefile'), noEnv);
    assert.deepEqual(shape(c.blocks[0]!.directives), [['whoami']]);
    assert.deepEqual(c.blocks[0]!.directives[0]!.name.file, path.join(dir, 'snippets.conf'));
  });
});

describe('errors', () => {
  test("unmatched '}'", () => {
    throwsAt(() => parse('. {\n  log\n}\n}\n'), 'Corefile', 4, 1, "unexpected '}': there is no open block to close");
    throwsAt(() => parse('  }'), 'Corefile', 1, 3, "unexpected '}'");
  });

  test("unmatched '}' after a server block written without braces", () => {
    throwsAt(() => parse('.:53\n  log\n}\n'), 'Corefile', 3, 1, "unexpected '}'", /server block '\.:53' at line 1 has no '\{'/);
  });

  test("'{' without keys", () => {
    throwsAt(() => parse('{\n  log\n}\n'), 'Corefile', 1, 1, "found '{' but no server block keys before it", /\.:53 \{/);
    throwsAt(() => parse('. {\n}\n\n  {\n}\n'), 'Corefile', 4, 3, "found '{' but no server block keys");
  });

  test('unexpected end of file inside a block', () => {
    throwsAt(
      () => parse('. {\n  log\n  health {\n    lameduck 5s\n'),
      'Corefile',
      5,
      1,
      "unexpected end of file: expected '}' to close the block opened at line 3",
      /add the missing '\}'/,
    );
    throwsAt(() => parse('. {\n  log'), 'Corefile', 2, 6, "expected '}' to close the block opened at line 1");
  });

  test('unterminated quoted string', () => {
    throwsAt(() => parse('. {\n  a "b\n\n}\n'), 'Corefile', 2, 5, 'unterminated quoted string', /closing '"'/);
    throwsAt(() => parse('. {\n  a "b\\"\n}\n'), 'Corefile', 2, 5, 'unterminated quoted string');
  });

  test('import of a missing file', () => {
    const dir = tmpDir({});
    const main = path.join(dir, 'Corefile');
    const e = throwsAt(
      () => parseCorefile('. {\n  import missing.conf\n}\n', main, noEnv),
      main,
      2,
      10,
      `file to import not found: 'missing.conf' (looked for ${path.join(dir, 'missing.conf')})`,
      /relative import paths are resolved from the directory of the importing file/,
    );
    assert.ok(e.hint!.includes(dir));
  });

  test('import of a directory; import with no or too many arguments; empty import path', () => {
    const dir = tmpDir({ 'sub/x': '' });
    const main = path.join(dir, 'Corefile');
    throwsAt(() => parseCorefile('import sub\n', main, noEnv), main, 1, 8, 'is a directory', /sub\/\*/);
    throwsAt(() => parse('. {\n  import\n}\n'), 'Corefile', 2, 3, 'import needs one argument');
    throwsAt(() => parse('. {\n  import a b\n}\n'), 'Corefile', 2, 12, 'import takes exactly one argument');
    throwsAt(() => parse('. {\n  import {$NOPE}\n}\n'), 'Corefile', 2, 10, 'import needs a non-empty', /environment variable/);
  });

  test('import cycles name the cycle', () => {
    const dir = tmpDir({
      'a.conf': 'log\nimport b.conf\n',
      'b.conf': 'import sub/../a.conf\n',
      'self.conf': 'import self.conf\n',
    });
    const a = path.join(dir, 'a.conf');
    const b = path.join(dir, 'b.conf');
    const main = path.join(dir, 'Corefile');
    throwsAt(() => parseCorefile('. {\n  import a.conf\n}\n', main, noEnv), b, 1, 8, `import cycle: ${a} -> ${b} -> ${a}`, /must not import itself/);
    const self = path.join(dir, 'self.conf');
    throwsAt(() => parseCorefile('import self.conf\n', main, noEnv), self, 1, 8, `import cycle: ${self} -> ${self}`);
    // The main file importing itself (through a glob that matches it).
    const g = tmpDir({ 'main.conf': '. {\n  import *.conf\n}\n' });
    const gm = path.join(g, 'main.conf');
    throwsAt(() => loadCorefile(gm, noEnv), gm, 2, 10, `import cycle: ${gm} -> ${gm}`);
  });

  test('snippet cycles', () => {
    throwsAt(() => parse('(s) {\n  import s\n}\n. {\n  import s\n}\n'), 'Corefile', 2, 10, "import cycle: snippet 's' -> snippet 's'");
    throwsAt(
      () => parse('(a) {\n  import b\n}\n(b) {\n  import a\n}\n. {\n  import a\n}\n'),
      'Corefile',
      5,
      10,
      "import cycle: snippet 'a' -> snippet 'b' -> snippet 'a'",
    );
  });

  test('a server block with no keys', () => {
    throwsAt(() => parse('"" {\n}\n'), 'Corefile', 1, 1, 'server block has no keys');
    throwsAt(() => parse('{$NOPE} {\n}\n'), 'Corefile', 1, 1, 'server block has no keys', /environment variables that are unset or empty/);
  });

  test("a line inside a block that starts with '{'", () => {
    throwsAt(
      () => parse('. {\n  health\n  {\n    lameduck 5s\n  }\n}\n'),
      'Corefile',
      3,
      3,
      "unexpected '{' at the start of a line inside a block",
      /health \{/,
    );
  });

  test("'}' after arguments, and text after '}'", () => {
    throwsAt(() => parse('. {\n  health { lameduck 5s }\n}\n'), 'Corefile', 2, 24, "unexpected '}' at the end of a line");
    throwsAt(() => parse('. {\n  log\n} b.org {\n}\n'), 'Corefile', 3, 3, "unexpected 'b.org' after '}'");
    throwsAt(() => parse('. {\n  a {\n  } x\n}\n'), 'Corefile', 3, 5, "unexpected 'x' after '}'");
  });

  test('trailing comma in the keys', () => {
    throwsAt(() => parse('a.org, {\n}\n'), 'Corefile', 1, 8, "expected another server block key after ','", /trailing comma/);
    throwsAt(() => parse('a.org,'), 'Corefile', 1, 7, "unexpected end of file: expected another server block key after ','");
  });

  test('a second server block without braces', () => {
    throwsAt(() => parse('a.org {\n}\nb.org\n  log\n'), 'Corefile', 3, 1, "server block 'b.org' has no '{' after its keys", /single server block/);
  });

  test('snippets: redefined, used before definition, without braces, unterminated, empty name', () => {
    throwsAt(() => parse('(s) {\n}\n(s) {\n}\n'), 'Corefile', 3, 1, "snippet 's' is already defined at Corefile:1:1");
    throwsAt(
      () => parse('. {\n  import later\n}\n(later) {\n  log\n}\n'),
      'Corefile',
      2,
      10,
      "file to import not found: 'later'",
      /no snippet named 'later' is defined above this line/,
    );
    throwsAt(() => parse('(s)\nlog\n'), 'Corefile', 1, 1, "expected '{' after snippet name '(s)'");
    throwsAt(() => parse('(s) {\n  a {\n}\n'), 'Corefile', 4, 1, "unexpected end of file: expected '}' to close snippet 's' opened at line 1");
    throwsAt(() => parse('() {\n}\n'), 'Corefile', 1, 1, 'snippet name is empty');
  });

  test('errors inside imported files point into that file', () => {
    const dir = tmpDir({ 'bad.conf': 'ok\nbad "unterminated\n', 'bad2.conf': '  {\n' });
    const main = path.join(dir, 'Corefile');
    throwsAt(() => parseCorefile('. {\n  import bad.conf\n}\n', main, noEnv), path.join(dir, 'bad.conf'), 2, 5, 'unterminated quoted string');
    throwsAt(() => parseCorefile('. {\n  import bad2.conf\n}\n', main, noEnv), path.join(dir, 'bad2.conf'), 1, 3, "unexpected '{' at the start of a line");
  });

  test('blocks nested too deeply', () => {
    const deep = `. {\n${'a {\n'.repeat(500)}${'}\n'.repeat(501)}`;
    throwsAt(() => parse(deep), 'Corefile', 101, 3, 'nested too deeply');
  });

  test('loadCorefile of a missing or unreadable file', () => {
    const missing = path.join(tmpRoot, 'does-not-exist', 'Corefile');
    assert.throws(() => loadCorefile(missing), (e: unknown) => {
      assert.ok(e instanceof CorefileError);
      assert.equal(e.file, missing);
      assert.equal(e.line, 0);
      assert.match(e.message, /^.*Corefile: cannot read Corefile: ENOENT/);
      return true;
    });
    assert.throws(() => loadCorefile(tmpRoot), CorefileError);
  });

  test('error message format: file:line:column: what, then the hint', () => {
    const e = throwsAt(() => parse('. {\n'), 'Corefile', 2, 1, 'unexpected end of file');
    assert.equal(e.message, "Corefile:2:1: unexpected end of file: expected '}' to close the block opened at line 1\n  hint: add the missing '}'");
    assert.equal(e.name, 'CorefileError');
    assert.ok(e instanceof Error);
  });
});

describe('robustness (fuzz)', () => {
  // Deterministic PRNG so failures reproduce.
  function rng(seed: number): () => number {
    let s = seed >>> 0;
    return () => {
      s = (s + 0x6d2b79f5) >>> 0;
      let t = s;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  const vocab = [
    '{', '}', '{', '}', '\n', '\n', '\n', ' ', '\t', '"', '\\"', '#', ',', '.', '.:53', 'a.org,', 'log', 'health', 'import',
    'import s', 'import inc.conf', 'import *.conf', 'import nope', '(s)', '(t)', '()', '{$X}', '{%Y%}', '{$', '%}', '""', '"a b"',
    '\r\n', '\uFEFF', '😀', '\u0000', 'x', 'fallthrough', 'dns://', '}}', '{{', '{}',
  ];
  let dir = '';
  before(() => {
    dir = tmpDir({ 'inc.conf': 'log\n(u) {\n  errors\n}\n', 'other.conf': 'import inc.conf\n' });
  });

  function check(text: string): void {
    const file = path.join(dir, 'Corefile');
    try {
      const c = parseCorefile(text, file, { env: { X: 'x,y', Y: '{' } });
      assert.ok(Array.isArray(c.blocks));
    } catch (e) {
      assert.ok(e instanceof CorefileError, `non-CorefileError for ${JSON.stringify(text)}: ${String(e)}`);
      assert.ok(!e.message.includes('internal parser error'), `${JSON.stringify(text)}: ${e.message}`);
      assert.ok(Number.isInteger(e.line) && Number.isInteger(e.column) && e.line >= 1 && e.column >= 1, e.message);
    }
  }

  test('random byte strings', () => {
    const r = rng(1);
    for (let n = 0; n < 3000; n++) {
      const len = Math.floor(r() * 200);
      const bytes = Buffer.alloc(len);
      for (let i = 0; i < len; i++) bytes[i] = r() < 0.3 ? '{}"#\n \\,'.charCodeAt(Math.floor(r() * 9)) : Math.floor(r() * 256);
      check(bytes.toString('utf8'));
      check(bytes.toString('latin1'));
    }
  });

  test('random token soups', () => {
    const r = rng(2);
    for (let n = 0; n < 5000; n++) {
      const len = Math.floor(r() * 60);
      let s = '';
      for (let i = 0; i < len; i++) s += vocab[Math.floor(r() * vocab.length)] + (r() < 0.7 ? ' ' : '');
      check(s);
    }
  });

  test('mutations of the default Corefile', () => {
    const base = fs.readFileSync(fixture, 'utf8');
    const r = rng(3);
    for (let n = 0; n < 2000; n++) {
      let s = base;
      const edits = 1 + Math.floor(r() * 4);
      for (let k = 0; k < edits; k++) {
        const at = Math.floor(r() * (s.length + 1));
        const op = r();
        if (op < 0.4) s = s.slice(0, at) + s.slice(at + 1 + Math.floor(r() * 5));
        else s = s.slice(0, at) + vocab[Math.floor(r() * vocab.length)] + s.slice(at);
      }
      check(s);
    }
  });
});
